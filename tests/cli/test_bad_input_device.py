"""Bad input to ``vo2neuro presets`` and ``vo2neuro device rt|iv|sweep``: exit 2, one line on stderr naming the
parameter, nothing on stdout, nothing written (the contract is asserted by the ``bad_input`` fixture)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from vo2neuro.device import get_parameters


def _params_file(**changes) -> str:
    d = get_parameters("vo2").to_dict()
    d.update(changes)
    return json.dumps(d)


def test_presets_takes_no_value(bad_input):
    bad_input(["presets", "--json", "extra"], "unrecognized")


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("argv,fragments", [
    (["device", "rt", "--preset", "vo2", "--t-start", "abc"], ("t_start", "cannot read")),
    (["device", "rt", "--preset", "vo2", "--t-start", "3q"], ("t_start", "suffix")),
    (["device", "rt", "--preset", "vo2", "--t-stop", "400M"], ("t_stop", "ambiguous")),
    (["device", "rt", "--preset", "vo2", "--t-start", "-5"], ("t_start", "> 0")),
    (["device", "rt", "--preset", "vo2", "--t-start", "350", "--t-stop", "300"], ("t_stop", "t_start")),
    (["device", "rt", "--preset", "vo2", "--minor", "330", "-3"], ("minor",)),
    (["device", "rt", "--preset", "vo2", "--delta=-1m"], ("delta", ">= 0")),
    (["device", "iv", "--preset", "vo2", "--ambient", "inf"], ("ambient", "cannot read")),
    (["device", "iv", "--preset", "vo2", "--ambient", "500"], ("ambient", "T_max")),
    (["device", "sweep", "--preset", "vo2", "--v-max", "0"], ("v_max", "> 0")),
    (["device", "sweep", "--preset", "vo2", "--v-max", "5", "--r-series", "5M"], ("r_series", "ambiguous")),
    (["device", "sweep", "--preset", "vo2", "--v-max", "5", "--sweep-time=-1u"], ("sweep_time", "> 0")),
])
def test_bad_numbers(bad_input, argv, fragments):
    bad_input(argv, *fragments)


@pytest.mark.parametrize("steps,fragments", [
    ("abc", ("steps", "cannot read")),
    ("1.5", ("steps", "whole number")),
    ("12M", ("steps", "ambiguous")),
    ("50", ("steps", ">= 100")),
    ("-5", ("steps",)),
])
def test_sweep_steps_is_a_count(bad_input, steps, fragments):
    bad_input(["device", "sweep", "--preset", "vo2", "--v-max", "5", "--steps", steps], *fragments)


def test_absurd_sweep_steps_refused_with_the_memory_estimate(bad_input):
    # 1e15 steps x 200 B: ~1.8e5 TiB, on any machine; refused before the kernel allocates anything
    line = bad_input(["device", "sweep", "--preset", "vo2", "--v-max", "5", "--steps", "1e15"], "steps", "GiB")
    assert "--steps" in line


# ------------------------------------------------------------------------------------------------ choices
def test_unknown_preset_lists_the_valid_ones(bad_input):
    bad_input(["device", "iv", "--preset", "nosuch"], "nosuch", "vo2x")


def test_no_device_given(bad_input):
    bad_input(["device", "rt"], "preset")


def test_preset_and_params_together(bad_input):
    bad_input(["device", "iv", "--preset", "vo2", "--params", "p.json"], "preset", "params",
              inputs={"p.json": _params_file()})


# ------------------------------------------------------------------------------------------------ input files
def test_params_file_missing(bad_input):
    bad_input(["device", "iv", "--params", "nope.json"], "params", "not found")


def test_params_file_is_a_folder(bad_input):
    bad_input(["device", "iv", "--params", "sub"], "params", "folder", inputs={"sub/x.json": "{}"})


@pytest.mark.parametrize("content,fragments", [
    ("[1, 2]", ("p.json", "object")),
    ("{not json", ("p.json", "json")),
    (b"\xff\xfe\x00binary", ("p.json", "utf-8")),
    (_params_file(R_m=-5.0), ("R_m", "> 0", "Ohm")),
    (_params_file(colour=1.0), ("colour",)),
    # wrong-typed and incomplete files (device/select.py read_params_file / device/params.py params_from_dict)
    (_params_file(R_m="5"), ("R_m", "number")),
    (_params_file(R_m=True), ("R_m", "number")),
    (_params_file(poole_frenkel="yes"), ("poole_frenkel",)),
    (_params_file(name=5), ("name",)),
    (json.dumps({"T_c": 340.0, "w": 8.0}), ("missing", "R_0")),
])
def test_params_file_content(bad_input, content, fragments):
    bad_input(["device", "iv", "--params", "p.json"], *fragments, inputs={"p.json": content})


# ------------------------------------------------------------------------------------------------ output files
@pytest.mark.parametrize("cmd", [["rt"], ["iv"], ["sweep", "--v-max", "5", "--steps", "1k"]], ids=lambda c: c[0])
@pytest.mark.parametrize("option,suffix", [("--csv", ".csv"), ("--plot", ".png")])
def test_unwritable_output_refused_before_any_output(bad_input, unwritable, cmd, option, suffix):
    path, files = unwritable
    bad_input(["device", *cmd, "--preset", "vo2", "--json", option, str(Path(path).with_suffix(suffix))],
              option.lstrip("-"), inputs=files)


@pytest.mark.parametrize("option,name,suffix", [("--plot", "fig.txt", ".png"), ("--csv", "table.json", ".csv")])
def test_output_suffix(bad_input, option, name, suffix):
    bad_input(["device", "iv", "--preset", "vo2", option, name], option.lstrip("-"), suffix)


def test_output_is_a_folder(bad_input):
    bad_input(["device", "rt", "--preset", "vo2", "--csv", "d.csv"], "csv", "folder", inputs={"d.csv/x": ""})
