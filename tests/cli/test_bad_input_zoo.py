"""Bad input to ``vo2neuro zoo list|ops|energy|convert``: one line, exit 2, nothing on stdout or disk.

Every case is refused before any counting, simulation or training (the harness would see the files a run writes,
and a run would take seconds to hours instead of milliseconds).
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")


def _png(unwritable):
    path, files = unwritable
    return str(Path(path).with_suffix(".png")), files


# ------------------------------------------------------------------------------------------------------- list
def test_list_takes_no_names(bad_input):
    bad_input(["zoo", "list", "dpdnet"], "unrecognized arguments", "dpdnet")


# -------------------------------------------------------------------------------------------------------- ops
def test_ops_unknown_model_lists_the_valid_ones(bad_input):
    bad_input(["zoo", "ops", "resnet"], "unknown model 'resnet'", "valid:", "dpdnet", "tddpg_rec")


def test_ops_bad_config_choice(bad_input):
    bad_input(["zoo", "ops", "dpdnet", "--config", "huge"], "--config", "invalid choice", "paper", "small")


# ----------------------------------------------------------------------------------------------------- energy
@pytest.mark.parametrize("rate", ["5", "1.01", "2k"])
def test_energy_rate_above_one_spike_per_step(bad_input, rate):
    bad_input(["zoo", "energy", "--firing-rate", rate], "firing-rate", "<= 1", "[spikes/neuron/step]")


def test_energy_negative_rate(bad_input):
    bad_input(["zoo", "energy", "--firing-rate=-0.1"], "firing-rate", ">= 0", "[spikes/neuron/step]")


@pytest.mark.parametrize("steps, fragment", [("0", ">= 1"), ("2.5", "whole number"), ("8x", "unknown suffix")])
def test_energy_bad_timesteps(bad_input, steps, fragment):
    bad_input(["zoo", "energy", "--timesteps", steps], "timesteps", fragment)


def test_energy_negative_spike_energy(bad_input):
    bad_input(["zoo", "energy", "--vo2-spike-energy=-1p"], "vo2-spike-energy", ">= 0", "[J]")


def test_energy_spike_energy_neither_circuit_nor_a_number(bad_input):
    bad_input(["zoo", "energy", "--vo2-spike-energy", "simulated"], "vo2-spike-energy", "[J]", "circuit")


def test_energy_negative_synapse_energy(bad_input):
    bad_input(["zoo", "energy", "--vo2-synapse-energy=-0.9p"], "vo2-synapse-energy", ">= 0", "[J]")


def test_energy_bad_suffix(bad_input):
    bad_input(["zoo", "energy", "--vo2-synapse-energy", "0.9q"], "vo2-synapse-energy", "unknown suffix", "[J]")


def test_energy_ambiguous_mega(bad_input):
    bad_input(["zoo", "energy", "--vo2-spike-energy", "1M"], "vo2-spike-energy", "ambiguous", "1meg")


def test_energy_unknown_preset_lists_the_valid_ones(bad_input):
    bad_input(["zoo", "energy", "--vo2-preset", "vo3"], "vo2-preset", "'vo3'", "valid:", "vo2x", "zhang2024")


def test_energy_unknown_model(bad_input):
    bad_input(["zoo", "energy", "dpdnet", "alexnet"], "unknown model 'alexnet'", "valid:", "dpdnet")


def test_energy_bad_config_choice(bad_input):
    bad_input(["zoo", "energy", "--config", "tiny"], "--config", "invalid choice")


def test_energy_plot_needs_png(bad_input):
    bad_input(["zoo", "energy", "--plot", "energy.pdf"], "plot", ".png")


def test_energy_plot_folder_given_as_file(bad_input):
    bad_input(["zoo", "energy", "--plot", "figs.png"], "plot", "is a folder", inputs={"figs.png/keep": "x"})


def test_energy_plot_unwritable(bad_input, unwritable):
    path, files = _png(unwritable)
    bad_input(["zoo", "energy", "--plot", path], "plot", "blocker", inputs=files)


def test_energy_json_and_csv_exclude_each_other(bad_input):
    bad_input(["zoo", "energy", "--json", "--csv"], "--csv", "not allowed with", "--json")


def test_energy_source_without_a_numeric_spike_energy(bad_input):
    bad_input(["zoo", "energy", "--vo2-source", "my lab"], "vo2-source", "vo2-spike-energy")


@pytest.mark.parametrize("size, fragments", [
    ("2u:20n", ("device-size", "START:STOP:N")),
    ("2u:20n:8:1", ("device-size", "START:STOP:N")),
    ("2u:20n:0", ("device-size count", "whole number in [1, 200]")),
    ("2u:20n:1k", ("device-size count", "whole number in [1, 200]", "1k")),
    ("2u:20n:2.5", ("device-size count", "whole number")),
    ("0:20n:8", ("device-size", "> 0", "[m]")),
    ("-2u", ("device-size", "> 0", "[m]")),
    ("2x", ("device-size", "unknown suffix")),
    ("inf", ("device-size", "[m]")),
])
def test_energy_bad_device_size(bad_input, size, fragments):
    bad_input(["zoo", "energy", f"--device-size={size}"], *fragments)


def test_energy_unknown_integration_lists_the_scenarios(bad_input):
    bad_input(["zoo", "energy", "--device-size", "100n", "--integration", "wafer"], "integration",
              "unknown scenario 'wafer'", "on-chip", "probe-station")


def test_energy_integration_without_device_size(bad_input):
    bad_input(["zoo", "energy", "dpdnet", "--integration", "on-chip"], "integration", "--device-size")


def test_energy_numeric_spike_energy_with_device_size(bad_input):
    bad_input(["zoo", "energy", "dpdnet", "--device-size", "100n", "--vo2-spike-energy", "1p"],
              "vo2-spike-energy", "device-size", "[J]")


def test_energy_size_plot_unwritable(bad_input, unwritable):
    path, files = _png(unwritable)
    bad_input(["zoo", "energy", "--device-size", "2u:20n:3", "--plot", path], "plot", "blocker", inputs=files)


# ---------------------------------------------------------------------------------------------------- convert
def test_convert_unknown_model_lists_the_valid_ones(bad_input):
    bad_input(["zoo", "convert", "vgg16"], "unknown model 'vgg16'", "valid:", "dpdnet")


@pytest.mark.parametrize("name", ["cmal", "lgmrec"])
def test_convert_model_that_is_not_convertible(bad_input, name):
    bad_input(["zoo", "convert", name], f"'{name}' is not convertible", "dpdnet", "psdnet", "tddpg_rec")


@pytest.mark.parametrize("steps, fragment", [("0", ">= 1"), ("1.5", "whole number"), ("8q", "unknown suffix")])
def test_convert_bad_steps(bad_input, steps, fragment):
    bad_input(["zoo", "convert", "dpdnet", "--steps", "8", steps], "steps", fragment)


def test_convert_absurd_steps_refused_with_the_estimate(bad_input):
    line = bad_input(["zoo", "convert", "dpdnet", "--steps", "100000000"], "steps", "image passes",
                     "100000000 steps", "limit")
    # the estimate: (450 test + 200 spike-count images) x 1e8 steps, far above the limit
    assert "6.5e+10" in line


def test_convert_absurd_epochs_refused_with_the_estimate(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--epochs", "1meg"], "epochs", "image passes", "1000000 epochs")


def test_convert_absurd_actor_steps(bad_input):
    bad_input(["zoo", "convert", "tddpg_rec", "--steps", "1g"], "steps", "image passes", "512 states")


def test_convert_n_test_beyond_the_dataset_names_the_available_count(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--n-test", "1k"], "n_test", "<= 450", "got 1000")


def test_convert_n_test_beyond_mnist(bad_input, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bad_input(["zoo", "convert", "dpdnet", "--dataset", "mnist", "--data-dir", str(data), "--n-test", "20k"],
              "n_test", "<= 10000")


@pytest.mark.parametrize("opt, value, fragment", [("--n-test", "0", ">= 1"), ("--epochs", "3x", "unknown suffix"),
                                                 ("--epochs", "0", ">= 1"), ("--seed", "-1", "seed"),
                                                 ("--seed", "1.5", "whole number")])
def test_convert_bad_counts(bad_input, opt, value, fragment):
    bad_input(["zoo", "convert", "dpdnet", opt, value], opt.lstrip("-"), fragment)


@pytest.mark.parametrize("value", ["0", "100.5", "-3", "abc"])
def test_convert_bad_percentile(bad_input, value):
    bad_input(["zoo", "convert", "dpdnet", f"--percentile={value}"], "percentile", "[%]")


@pytest.mark.parametrize("opt, value", [("--dataset", "cifar10"), ("--neuron", "lif"), ("--config", "big")])
def test_convert_bad_choices(bad_input, opt, value):
    bad_input(["zoo", "convert", "dpdnet", opt, value], opt, "invalid choice")


def test_convert_missing_data_dir(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--dataset", "mnist", "--data-dir", "no/such/folder"],
              "data-dir", "not found", "no/such/folder")


def test_convert_data_dir_that_is_a_file(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--dataset", "mnist", "--data-dir", "mnist.gz"],
              "data-dir", "expected a folder", inputs={"mnist.gz": "x"})


def test_convert_data_dir_for_a_dataset_that_does_not_read_it(bad_input, tmp_path):
    bad_input(["zoo", "convert", "dpdnet", "--data-dir", str(tmp_path)], "data_dir", "mnist")


def test_convert_cache_dir_file_given_as_folder(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--cache-dir", "cache.pt"], "cache-dir", "not a folder",
              inputs={"cache.pt": "x"})


def test_convert_cache_dir_unwritable(bad_input, unwritable):
    path, files = unwritable
    bad_input(["zoo", "convert", "dpdnet", "--cache-dir", path], "cache-dir", "blocker", inputs=files)


def test_convert_classifier_option_given_to_the_actor(bad_input):
    bad_input(["zoo", "convert", "tddpg_rec", "--epochs", "5"], "epochs", "not used by tddpg_rec")


def test_convert_actor_option_given_to_a_classifier(bad_input):
    bad_input(["zoo", "convert", "psdnet", "--config", "small"], "config", "only used by tddpg_rec")


@pytest.mark.parametrize("name", ["dpdnet", "tddpg_rec"])
def test_convert_unknown_vo2_preset(bad_input, name):
    bad_input(["zoo", "convert", name, "--neuron", "vo2", "--vo2-preset", "vo3"], "vo2-preset",
              "unknown parameter set 'vo3'", "valid:", "vo2x")


@pytest.mark.parametrize("name", ["dpdnet", "tddpg_rec"])
def test_convert_vo2_preset_without_the_vo2_neuron(bad_input, name):
    bad_input(["zoo", "convert", name, "--vo2-preset", "vo2x"], "vo2-preset", "only used with --neuron vo2")


@pytest.mark.parametrize("value, fragment", [("0", "in [1, 64]"), ("1.5", "whole number"), ("65", "in [1, 64]"),
                                             ("3q", "unknown suffix")])
def test_convert_bad_vo2_devices(bad_input, value, fragment):
    bad_input(["zoo", "convert", "tddpg_rec", "--neuron", "vo2", "--vo2-devices", value], "vo2-devices", fragment)


def test_convert_vo2_devices_without_the_vo2_neuron(bad_input):
    bad_input(["zoo", "convert", "dpdnet", "--vo2-devices", "3"], "vo2-devices", "only used with --neuron vo2")
