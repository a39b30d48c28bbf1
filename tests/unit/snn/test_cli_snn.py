"""``vo2neuro train`` handlers through a local parser built with register()."""
from __future__ import annotations

import argparse
import json

import pytest
import torch

from vo2neuro.units import ParameterError
from vo2neuro.cli.snn import register


def _parser():
    parser = argparse.ArgumentParser(prog="vo2neuro")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_train_json(tmp_path, capsys):
    args = _parser().parse_args(["train", "--dataset", "digits", "--preset", "zhang2024", "--epochs", "1",
                                 "--hidden", "16", "--steps", "5", "--out", str(tmp_path), "--seed", "1",
                                 "--json"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert {"test_accuracy", "epochs", "train_s", "checkpoint"} <= set(d)
    assert d["train_seconds"] == d["train_s"] > 0  # deprecated alias, one release
    assert d["epochs"] == 1 and 0.0 <= d["test_accuracy"] <= 1.0
    assert (tmp_path / "checkpoint.pt").is_file()
    from vo2neuro.snn.presets import neuron_params_for_preset

    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert "warning" not in out.err
    # the network's neuron is the one derived from the zhang2024 circuit, not a hand-set one
    assert ck["neuron"] == neuron_params_for_preset("zhang2024").to_dict()
    # --resume with everything done returns the same result without training
    args = _parser().parse_args(["train", "--dataset", "digits", "--preset", "zhang2024", "--epochs", "1",
                                 "--hidden", "16", "--steps", "5", "--out", str(tmp_path), "--seed", "1", "--resume",
                                 "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["test_accuracy"] == d["test_accuracy"]


@pytest.mark.parametrize("argv,needle", [
    (["train", "--preset", "vo2", "--delta", "0.5"], "delta must be within [0, 0.03]"),
])
def test_handler_errors_are_parameter_errors(tmp_path, argv, needle):
    # what argparse cannot judge (the vacancy range of the device layer) fails in the handler, before any
    # training; types, ranges, preset names and paths fail at parse time (tests/cli/test_bad_input_snn.py)
    with pytest.raises(ParameterError) as exc:
        args = _parser().parse_args([*argv, "--out", str(tmp_path / "o")])
        args.func(args)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    assert not (tmp_path / "o").exists()


def test_registry_names_in_the_parser_match_the_library():
    # the CLI spells the registries out (building the parser must not import torch); they must not drift
    from vo2neuro.cli import snn as cli_snn
    from vo2neuro.snn.data import DATASETS
    from vo2neuro.snn.train import DEVICES, ENCODINGS

    assert set(cli_snn._DATASETS) == set(DATASETS)
    assert cli_snn._ENCODINGS == ENCODINGS and cli_snn._DEVICES == DEVICES


def test_train_on_a_parameter_file_stores_the_device(tmp_path, capsys):
    from vo2neuro.device import get_parameters

    pfile = tmp_path / "film.json"
    pfile.write_text(json.dumps({**get_parameters("vo2x").to_dict(), "name": "film-a"}))
    args = _parser().parse_args(["train", "--params", str(pfile), "--epochs", "1", "--hidden", "8", "--steps", "4",
                                 "--out", str(tmp_path / "run"), "--json"])
    assert args.func(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["device"]["source"] == f"file:{pfile}" and d["device"]["params"]["name"] == "film-a"
    assert d["device"]["ambient_k"] == 300.0  # no stored ambient, no preset name: room temperature
    assert d["config"]["preset"] is None and d["config"]["device_params"]["name"] == "film-a"


def test_codesign_row_failing_at_run_time_prints_its_reason(tmp_path, capsys, monkeypatch):
    # every delta passes the preflight; a failure while running is reported with its reason (exit 1), not only
    # as a dash in the table
    import vo2neuro.snn.hardware as hardware
    from vo2neuro.cli import main

    def refuse(*a, **k):
        raise ParameterError("hw-eval: 60 % of first-layer drives exceed i_max (operating point above the window)")

    monkeypatch.setattr(hardware, "hw_eval", refuse)
    rc = main(["codesign", "--deltas", "0", "--epochs", "1", "--hidden", "8", "--n-images", "4", "--out",
               str(tmp_path / "cd"), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "vo2neuro: codesign: delta=0: hw-eval: 60 % of first-layer drives exceed i_max" in err
    assert "- delta 0: hw-eval: 60 %" in out
