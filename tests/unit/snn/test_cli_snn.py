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
    assert {"test_accuracy", "epochs", "train_seconds", "checkpoint"} <= set(d)
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
    (["train", "--preset", "nope"], "preset: unknown name 'nope'; valid: vo2, vo2x, zhang2024"),
    (["train", "--dataset", "cifar"], "dataset: unknown value 'cifar'"),
    (["train", "--device", "tpu"], "device: unknown value 'tpu'"),
    (["train", "--epochs", "0"], "--epochs must be >= 1"),
    (["train", "--lr", "fast"], "--lr"),
])
def test_bad_input_raises_parameter_error(tmp_path, argv, needle):
    with pytest.raises(ParameterError) as exc:
        args = _parser().parse_args([*argv, "--out", str(tmp_path)])
        args.func(args)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
