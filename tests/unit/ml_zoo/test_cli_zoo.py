"""``vo2neuro zoo`` handlers through a local parser built with ``cli_zoo.register``."""
from __future__ import annotations

import argparse
import json
import os

import pytest

pytest.importorskip("torch")

from vo2neuro.cli import zoo as cli_zoo  # noqa: E402
from vo2neuro.units import ParameterError  # noqa: E402


def run(argv, capsys):
    parser = argparse.ArgumentParser()
    cli_zoo.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_list_json(capsys):
    rc, out = run(["zoo", "list", "--json"], capsys)
    rows = json.loads(out)
    assert rc == 0 and len(rows) == 10
    assert all(set(r) == {"name", "task", "convertible", "citation"} for r in rows)
    assert {r["name"] for r in rows if r["convertible"]} == {"psdnet", "dpdnet", "tddpg_rec"}


def test_ops_json(capsys):
    rc, out = run(["zoo", "ops", "dpdnet", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["params"] == 1_487_146 and d["macs"] == 51_565_568
    assert set(d["by_type"]) == {"conv", "linear", "matmul", "spmm", "rnn", "norm"}
    rc, out = run(["zoo", "ops", "tddpg_rec", "--config", "small"], capsys)
    assert rc == 0 and "params" in out


def test_energy_json_and_plot(capsys, tmp_path):
    png = tmp_path / "e.png"
    rc, out = run(["zoo", "energy", "tddpg_rec", "--config", "small", "--json", "--plot", str(png),
                   "--vo2-spike-energy", "4.7n"], capsys)
    d = json.loads(out)
    assert rc == 0 and png.stat().st_size > 0
    vo2 = [c for c in d["constants"] if c["name"] == "vo2x_spike"][0]
    assert vo2["value_j"] == pytest.approx(4.7e-9)
    assert {r["target"] for r in d["rows"]} >= {"cmos45_fp32", "vo2x"}


def _main_error(argv, capsys) -> str:
    """Run the real entry point on bad input: exit 2, nothing on stdout, one line on stderr (returned)."""
    from vo2neuro.cli import main

    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and out == "" and len(lines) == 1, (rc, out, err)
    return lines[0]


def test_errors_name_the_parameter_and_the_valid_choices(capsys):
    # checked when the command line is parsed: one line, exit 2, before any counting or simulation
    assert "valid: cmal, ddpm_unet" in _main_error(["zoo", "ops", "resnet"], capsys)
    line = _main_error(["zoo", "energy", "nope"], capsys)
    assert "model: unknown model 'nope'" in line and line.endswith("[-]")
    line = _main_error(["zoo", "energy", "dpdnet", "--config", "small", "--vo2-spike-energy=-1p"], capsys)
    assert "vo2-spike-energy must be >= 0 [J]" in line
    line = _main_error(["zoo", "energy", "--firing-rate", "5"], capsys)
    assert "firing-rate must be <= 1 [spikes/neuron/step]" in line


def test_config_choices_follow_the_registry():
    from vo2neuro.ml_zoo.registry import CONFIGS

    assert cli_zoo._CONFIGS == CONFIGS


def test_energy_accepts_spice_counts_and_the_top_rate(capsys):
    # rate 1 (one spike per neuron per step) is the largest valid rate; 1k steps is read as 1000
    from vo2neuro.ml_zoo.energy import workload

    rc, out = run(["zoo", "energy", "tddpg_rec", "--config", "small", "--json", "--firing-rate", "1",
                   "--timesteps", "1k", "--vo2-spike-energy", "1n"], capsys)
    d = json.loads(out)
    w = d["workloads"][0]
    # independent reference: 0.25 x 4 = 1 spike per presynaptic neuron, so 1 x 1000 steps gives 1000 x that
    ref = workload("tddpg_rec", "small", firing_rate=0.25, timesteps=4)
    assert rc == 0 and w["spikes"] == pytest.approx(1000 * ref.spikes)
    assert w["synops"] == pytest.approx(1000 * ref.synops)
    vo2 = [r for r in d["rows"] if r["target"] == "vo2x"][0]
    assert vo2["energy_j"] >= 1e-9 * w["spikes"]   # the spike term alone, 1 nJ per spike


def test_firing_rate_above_one_is_refused_by_the_library():
    from vo2neuro.ml_zoo.energy import check_firing_rate, energy_table, workload

    assert check_firing_rate(1.0) == 1.0
    with pytest.raises(ParameterError, match=r"firing_rate must be <= 1 \[spikes/neuron/step\]"):
        workload("tddpg_rec", "small", firing_rate=1.5)
    with pytest.raises(ParameterError, match=r"timesteps must be a whole number"):
        energy_table(["tddpg_rec"], config="small", timesteps=2.5)
    with pytest.raises(ParameterError, match=r"valid: cmal, ddpm_unet"):
        energy_table(["resnet"])


def test_convert_tddpg_json(capsys):
    rc, out = run(["zoo", "convert", "tddpg_rec", "--config", "small", "--steps", "4", "64", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["config"] == "small" and set(d["topk_agreement"]) == {"4", "64"}
    assert all(0.0 <= v <= 1.0 for v in d["topk_agreement"].values())
    # rate coding converges in T: the SNN agrees with the ANN at least as well at 64 steps as at 4
    assert d["policy_correlation"]["64"] >= d["policy_correlation"]["4"]


def test_convert_classifier_json_has_the_suffixed_key_and_its_alias(capsys, tmp_path):
    rc, out = run(["zoo", "convert", "dpdnet", "--epochs", "1", "--n-test", "0.1k", "--steps", "8",
                   "--cache-dir", str(tmp_path / "cache"), "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["n_test"] == 100 and d["epochs"] == 1
    assert d["train_s"] > 0 and d["train_seconds"] == d["train_s"]   # deprecated alias, one release
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1


def test_dataset_sizes_known_before_loading_match_the_loaders():
    from vo2neuro.explore.conversion_study import DATASET_IMAGES
    from vo2neuro.snn.data import load_digits, load_mnist

    train, test = load_digits()
    assert DATASET_IMAGES["digits"] == (len(train), len(test))
    try:
        train, test = load_mnist(download=False)
    except ParameterError:
        if os.environ.get("VO2NEURO_REQUIRE_DATA") == "1":  # CI has the data: never skip there
            raise
        pytest.skip("MNIST not available here")
    assert DATASET_IMAGES["mnist"] == (len(train), len(test))
