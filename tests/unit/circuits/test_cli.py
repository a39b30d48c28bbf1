"""``vo2neuro neuron simulate|transfer|netlist``: JSON keys and exit codes."""
from __future__ import annotations

import json

import pytest

from vo2neuro.cli import main

PWL = ["--model", "pwl", "--r-off", "100.2k", "--r-on", "990", "--v-th", "1.99", "--v-h", "1.0"]


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_simulate_pwl_json(capsys):
    assert main(["neuron", "simulate", *PWL, "--v-in", "14", "--r-load", "47k", "--capacitance", "300p",
                 "--json"]) == 0
    d = _json(capsys)
    for k in ("frequency_hz", "oscillating", "n_spikes", "energy_per_spike_j", "device_energy_per_spike_j",
              "isi_cv", "seed"):
        assert k in d
    assert d["oscillating"] is True and d["frequency_hz"] == pytest.approx(695520.2, rel=1e-4)


def test_simulate_preset_not_oscillating(capsys):
    assert main(["neuron", "simulate", "--preset", "zhang2024", "--v-in", "17", "--r-load", "12k",
                 "--capacitance", "145.35p", "--json", "--duration", "40u"]) == 0
    d = _json(capsys)
    assert d["frequency_hz"] == 0 and d["oscillating"] is False


def test_transfer_and_netlist(capsys, tmp_path):
    assert main(["neuron", "transfer", *PWL, "--i-in", "0.1m", "--capacitance", "300p",
                 "--sweep", "i_in=0.1m:0.9m:4", "--json"]) == 0
    d = _json(capsys)
    assert len(d["frequency_hz"]) == 4 and d["parameter"] == "i_in"
    out = tmp_path / "pa.cir"
    assert main(["neuron", "netlist", *PWL, "--v-in", "14", "--r-load", "47k", "--capacitance", "300p",
                 "-o", str(out)]) == 0
    assert "swvo2" in out.read_text() and "quit 0" in out.read_text()


@pytest.mark.parametrize("argv", [
    ["neuron", "simulate", "--preset", "nope", "--v-in", "12", "--r-load", "12k", "--capacitance", "145p"],
    ["neuron", "simulate", "--model", "spice", "--v-in", "12", "--r-load", "12k", "--capacitance", "145p"],
    ["neuron", "simulate", "--model", "pwl", "--v-in", "12", "--r-load", "12k", "--capacitance", "145p"],
    ["neuron", "simulate", "--preset", "zhang2024", "--v-in", "12", "--capacitance", "145p"],
    ["neuron", "simulate", "--preset", "zhang2024", "--v-in", "12", "--r-load", "12x", "--capacitance", "145p"],
    ["neuron", "transfer", "--preset", "zhang2024", "--v-in", "12", "--r-load", "12k", "--capacitance", "145p",
     "--sweep", "speed=1:2:3"],
    ["neuron", "simulate", "--preset", "zhang2024", "--v-in", "12", "--r-load", "12k", "--capacitance", "145p",
     "--ambient", "900"],
])
def test_bad_input_exit_2(argv, capsys):
    """Bad values exit with code 2 and a one-line message (argparse usage errors exit 2 as well)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse type errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
