"""Bad input of ``train --learn`` (gradient co-design): exit 2, one line on stderr, nothing on stdout, nothing
written; and one real run through the command line."""
from __future__ import annotations

import json

import pytest

from vo2neuro.cli import learn as cli_learn


def test_learnable_names_match_the_library():
    from vo2neuro.snn.learn_device import LEARNABLE

    assert cli_learn._LEARNABLE == LEARNABLE


@pytest.mark.parametrize("argv, fragments", [
    (["train", "--learn", "r_load"], ("learn", "r_load", "valid: delta")),
    (["train", "--learn", ","], ("learn", "valid: delta")),
    (["train", "--learn", "delta", "--energy-weight", "-1"], ("energy-weight",)),
    (["train", "--learn", "delta", "--energy-weight", "abc"], ("energy-weight",)),
    (["train", "--learn", "delta", "--lr-delta", "0"], ("lr-delta",)),
    (["train", "--learn", "delta", "--finetune-epochs", "-2"], ("finetune-epochs",)),
    (["train", "--learn", "delta", "--codesign", "missing.json"], ("codesign",)),
    (["train", "--learn", "delta", "--delta", "0.01"], ("--delta",)),
    (["train", "--learn", "delta", "--device-size", "100n"], ("--device-size",)),
    (["train", "--learn", "delta", "--encoding", "rate"], ("encoding", "current")),
    (["train", "--learn", "delta", "--arch", "conv"], ("arch", "fully connected")),
    (["train", "--learn", "delta", "--preset", "vo2x", "--epochs", "1"], ("pristine",)),
])
def test_bad_learn_options(bad_input, argv, fragments):
    bad_input(argv, *fragments)


@pytest.mark.parametrize("option, value", [("--energy-weight", "1"), ("--finetune-epochs", "2"),
                                           ("--lr-delta", "0.1")])
def test_learn_options_need_learn(bad_input, option, value):
    bad_input(["train", option, value], option, "needs --learn")


def test_map_file_content_is_checked(bad_input):
    bad_input(["train", "--learn", "delta", "--map", "m.json"], "map_file", inputs={"m.json": "{\"deltas\": 1}"})


def test_params_file_is_refused(bad_input):
    bad_input(["train", "--learn", "delta", "--params", "p.json"], "--params", inputs={"p.json": "{}"})


@pytest.mark.parametrize("content, fragment", [
    ("not json", "is not the JSON of `vo2neuro codesign --json`"),
    (json.dumps({"rows": [{"delta": 0.0}], "pareto": [0.0]}), "fewer than 2 deltas"),
    (json.dumps({"rows": [{"x": 1}]}), "is not the JSON"),
])
def test_bad_codesign_file(bad_input, content, fragment):
    bad_input(["train", "--learn", "delta", "--codesign", "grid.json"], fragment, inputs={"grid.json": content})


def test_unwritable_out(bad_input, unwritable):
    path, files = unwritable
    bad_input(["train", "--learn", "delta", "--out", path], "out", inputs=files)


def test_learn_through_the_command_line(tmp_path, capsys):
    from vo2neuro.cli import main

    grid = {"rows": [{"delta": d} for d in (0.0, 0.005, 0.01, 0.015, 0.02)], "pareto": [0.0, 0.015]}
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    rc = main(["train", "--learn", "delta", "--energy-weight", "1", "--epochs", "1", "--finetune-epochs", "1",
               "--hidden", "16", "--steps", "8", "--out", str(tmp_path / "run"), "--codesign",
               str(tmp_path / "grid.json"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    lo, hi = out["delta_range"]
    assert lo == 0.0 and lo <= out["delta"] <= hi
    c = out["codesign"]
    assert c["nearest_pareto_delta"] in (0.0, 0.015)
    assert c["distance_in_steps"] == pytest.approx(abs(out["delta"] - c["nearest_pareto_delta"]) / 0.005)
    assert (tmp_path / "run" / "checkpoint.pt").is_file() and (tmp_path / "run" / "learn_device.json").is_file()
