"""``vo2neuro zoo`` handlers through a local parser built with ``cli_zoo.register``."""
from __future__ import annotations

import argparse
import json

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


def test_errors_are_parameter_errors(capsys):
    with pytest.raises(ParameterError, match="valid: cmal, ddpm_unet"):
        run(["zoo", "ops", "resnet"], capsys)
    with pytest.raises(ParameterError, match=r"^model: .*\[-\]$"):
        run(["zoo", "energy", "nope"], capsys)
    with pytest.raises(ParameterError, match=r"vo2-spike-energy.*\[J\]"):
        run(["zoo", "energy", "dpdnet", "--config", "small", "--vo2-spike-energy=-1p"], capsys)
