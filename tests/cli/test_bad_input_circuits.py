"""Bad input to ``vo2neuro neuron simulate|transfer|netlist``: exit 2, one line on stderr naming the parameter,
nothing on stdout, nothing written; absurd work (steps, neuron-steps) refused up front with its estimate."""
from __future__ import annotations

from pathlib import Path

import pytest

ZHANG = ["--preset", "zhang2024", "--v-in", "12", "--r-load", "12k", "--capacitance", "145.35p"]
PWL = ["--model", "pwl", "--r-off", "100.2k", "--r-on", "990", "--v-th", "1.99", "--v-h", "1.0", "--v-in", "14",
       "--r-load", "47k", "--capacitance", "300p"]


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("cmd", ["simulate", "netlist"])
@pytest.mark.parametrize("extra,fragments", [
    (["--duration", "abc"], ("duration", "cannot read")),
    (["--dt", "2x"], ("dt", "suffix")),
    (["--duration", "40M"], ("duration", "ambiguous")),
    (["--dt=-1n"], ("dt", "> 0")),
    (["--ambient", "900"], ("ambient",)),
    (["--i-in", "1m"], ("v_in", "i_in")),
])
def test_bad_numbers(bad_input, cmd, extra, fragments):
    argv = ["neuron", cmd, *ZHANG, *extra]
    if cmd == "netlist":
        argv += ["-o", "n.cir"]
    bad_input(argv, *fragments)


def test_capacitance_must_be_positive(bad_input):
    bad_input(["neuron", "simulate", "--preset", "vo2", "--v-in", "12", "--r-load", "12k", "--capacitance", "0"],
              "capacitance", "> 0")


@pytest.mark.parametrize("seed,fragment", [("-1", "seed"), ("1.5", "whole number"), ("x", "seed")])
def test_seed_is_a_count(bad_input, seed, fragment):
    bad_input(["neuron", "simulate", *ZHANG, "--seed", seed], fragment)


def test_pwl_needs_its_four_parameters(bad_input):
    bad_input(["neuron", "simulate", "--model", "pwl", "--r-off", "100k", "--v-in", "14", "--r-load", "47k",
               "--capacitance", "300p"], "r-on", "v-th")


# ------------------------------------------------------------------------------------------------ absurd work
def test_tiny_dt_refused_with_the_step_count(bad_input):
    line = bad_input(["neuron", "simulate", *ZHANG, "--dt", "1e-30"], "dt", "steps", "e+")
    assert "duration" in line


def test_days_of_work_refused_with_the_neuron_step_estimate(bad_input):
    # one neuron, 1 s at 1 ps: 1e12 steps of a 32-neuron SIMD block, 3.2e13 neuron-steps (days on one core)
    line = bad_input(["neuron", "simulate", *ZHANG, "--duration", "1", "--dt", "1p"], "neuron-steps", "3.2e+13")
    assert "raise dt" in line


def test_transfer_too_many_neuron_steps(bad_input):
    bad_input(["neuron", "transfer", "--preset", "zhang2024", "--r-load", "12k", "--capacitance", "145p",
               "--sweep", "v_in=10:15:100k", "--duration", "1", "--dt", "1n"], "neuron-steps", "budget")


def test_pwl_step_count_beyond_int64_refused(bad_input):
    bad_input(["neuron", "simulate", *PWL, "--duration", "1", "--dt", "1e-30"], "dt", "steps")


# ------------------------------------------------------------------------------------------------ choices and sweep
def test_unknown_model(bad_input):
    bad_input(["neuron", "simulate", "--model", "spice", *ZHANG[2:]], "model", "invalid choice")


def test_unknown_preset(bad_input):
    bad_input(["neuron", "simulate", "--preset", "nosuch", *ZHANG[2:]], "nosuch", "zhang2024")


@pytest.mark.parametrize("sweep,fragments", [
    ("v_in", ("NAME=START:STOP:NUM",)),
    ("speed=1:2:3", ("speed", "v_in")),
    ("v_in=10:16:1e6", ("NUM", "100000")),
    ("v_in=10:16:2.5", ("NUM", "whole number")),
    ("v_in=10:16:12M", ("ambiguous",)),
    ("v_in=-1:16:3", ("START", "> 0")),
    ("v_in=10:abc:3", ("v_in", "cannot read")),
])
def test_transfer_sweep_spec(bad_input, sweep, fragments):
    bad_input(["neuron", "transfer", "--preset", "zhang2024", "--r-load", "12k", "--capacitance", "145p",
               "--sweep", sweep], "sweep", *fragments)


def test_transfer_sweep_incompatible_with_drive(bad_input):
    bad_input(["neuron", "transfer", "--preset", "zhang2024", "--i-in", "1m", "--capacitance", "145p",
               "--sweep", "v_in=10:16:3"], "v_in")


# ------------------------------------------------------------------------------------------------ files
def test_params_file_missing(bad_input):
    bad_input(["neuron", "simulate", "--params", "nope.json", *ZHANG[2:]], "params", "not found")


def test_params_file_is_a_folder(bad_input):
    bad_input(["neuron", "netlist", "--params", "sub", *ZHANG[2:], "-o", "n.cir"], "params", "folder",
              inputs={"sub/p.json": "{}"})


@pytest.mark.parametrize("cmd,option,suffix", [
    ("simulate", "--plot", ".png"), ("transfer", "--plot", ".png"), ("transfer", "--csv", ".csv"),
    ("netlist", "-o", ".cir"),
])
def test_unwritable_output_refused_before_any_output(bad_input, unwritable, cmd, option, suffix):
    path, files = unwritable
    extra = ["--sweep", "v_in=14:16:2"] if cmd == "transfer" else []
    bad_input(["neuron", cmd, *PWL, *extra, "--json", option, str(Path(path).with_suffix(suffix))],
              "blocker", inputs=files)


@pytest.mark.parametrize("cmd,option,name,suffix", [
    ("simulate", "--plot", "v.svg", ".png"), ("transfer", "--csv", "f.txt", ".csv"), ("netlist", "-o", "n.txt", ".cir"),
])
def test_output_suffix(bad_input, cmd, option, name, suffix):
    extra = ["--sweep", "v_in=14:16:2"] if cmd == "transfer" else []
    bad_input(["neuron", cmd, *PWL, *extra, option, name], suffix)


def test_netlist_output_is_a_folder(bad_input):
    bad_input(["neuron", "netlist", *PWL, "-o", "out.cir"], "output", "folder", inputs={"out.cir/x": ""})
