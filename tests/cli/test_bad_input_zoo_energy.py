"""Bad input to ``vo2neuro zoo energy --measured FILE ...`` (issue 13): one line, exit 2, nothing on stdout or disk,
refused before the VO2 neuron is simulated."""
from __future__ import annotations

import json

import pytest

RUN = {"kind": "vo2neuro.hw_eval.zoo", "model": "tddpg_rec", "network_config": "small", "dataset": None,
       "steps": 32, "preset": "vo2x", "n_images": 64, "d2d_sigma": 0.05, "c2c_sigma": 0.0, "seed": 0,
       "layer_rates": {"critic.action_proj": 0.25}}


def _energy(*extra):
    return ["zoo", "energy", "tddpg_rec", "--measured", *extra]


def test_measured_file_not_found(bad_input):
    bad_input(_energy("nope.json"), "measured", "not found", "nope.json")


def test_measured_folder_given_as_file(bad_input):
    bad_input(_energy("runs"), "measured", "is a folder", inputs={"runs/a.json": json.dumps(RUN)})


def test_measured_without_a_file(bad_input):
    bad_input(["zoo", "energy", "--measured"], "--measured", "expected at least one argument")


def test_a_model_name_after_measured_is_read_as_a_file(bad_input):
    bad_input(["zoo", "energy", "--measured", "rec.json", "tddpg_rec"], "measured", "not found", "tddpg_rec",
              inputs={"rec.json": json.dumps(RUN)})


@pytest.mark.parametrize("content, fragments", [
    ("{oops", ("rec.json", "is not JSON")),
    (json.dumps([RUN]), ("rec.json", "JSON object")),
    (json.dumps({**RUN, "kind": "vo2neuro.hw_eval"}), ("rec.json", "kind", "vo2neuro.hw_eval.zoo")),
    (json.dumps({k: v for k, v in RUN.items() if k != "steps"}), ("rec.json", "missing", "steps")),
    (json.dumps({**RUN, "model": "alexnet"}), ("rec.json", "'alexnet'", "valid:")),
    (json.dumps({**RUN, "layer_rates": {"critic.out": -0.2}}), ("rec.json", "layer_rates['critic.out']", "[0, 1]")),
    (json.dumps(RUN).replace("0.25", "NaN"), ("rec.json", "layer_rates['critic.action_proj']", "finite")),
    (json.dumps({**RUN, "d2d_sigma": -1}), ("rec.json", "d2d_sigma", ">= 0")),
    (json.dumps({**RUN, "layer_rates": {"actor.fc": 0.5}}), ("rec.json", "none of its layer_rates names")),
])
def test_bad_record_content(bad_input, content, fragments):
    bad_input(_energy("rec.json"), "measured", *fragments, inputs={"rec.json": content})


def test_a_run_of_a_model_not_asked_for(bad_input):
    bad_input(["zoo", "energy", "dpdnet", "--measured", "rec.json"], "measured", "tddpg_rec",
              "not among the models asked for", inputs={"rec.json": json.dumps(RUN)})


def test_two_runs_of_one_model(bad_input):
    bad_input(_energy("a.json", "b.json"), "measured", "two runs of tddpg_rec",
              inputs={"a.json": json.dumps(RUN), "b.json": json.dumps(RUN)})


def test_bad_record_also_refused_with_device_size(bad_input):
    bad_input(_energy("rec.json", "--device-size", "1u"), "measured", "kind",
              inputs={"rec.json": json.dumps({**RUN, "kind": None})})


def test_bad_record_refused_before_the_plot_is_written(bad_input):
    bad_input(_energy("rec.json", "--plot", "e.png"), "measured", "missing",
              inputs={"rec.json": json.dumps({k: v for k, v in RUN.items() if k != "layer_rates"})})
