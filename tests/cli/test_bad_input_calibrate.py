"""Bad input to ``vo2neuro calibrate``: exit 2, one line on stderr naming the file, column or option, nothing on
stdout, no parameter file written."""
from __future__ import annotations

import pytest

RT = "# synthetic R-T\nT_K,R_ohm\n300,2e5\n310,1e5\n320,5e4\n"


def _cal(*extra, data="rt.csv"):
    return ["calibrate", "--data", data, "--preset", "vo2", "--fit", "R_0", "--quiet", *extra]


# ------------------------------------------------------------------------------------------------ data file
def test_data_missing(bad_input):
    bad_input(_cal(data="nope.csv"), "data", "not found", "nope.csv")


def test_data_is_a_folder(bad_input):
    bad_input(_cal(data="meas"), "data", "folder", inputs={"meas/rt.csv": RT})


@pytest.mark.parametrize("content,fragments", [
    ("a,b\n1,2\n", ("rt.csv", "missing column", "T_K+R_ohm")),
    ("T_K,R_ohm\n300,2e5\n310,abc\n", ("rt.csv", "R_ohm", "row 2", "abc", "[Ohm]")),
    ("T_K,R_ohm\n300,2e5\nhot,1e5\n", ("rt.csv", "T_K", "hot", "[K]")),
    ("T_K,R_ohm\n300,2e5\n310,nan\n", ("rt.csv", "R_ohm", "non-finite")),
    ("T_K,R_ohm\n300,2e5\n310,-1\n", ("rt.csv", "R_ohm", "> 0")),
    ("T_K,R_ohm\n300,2e5,7\n", ("rt.csv", "fields")),
    ("T_K,R_ohm,T_K\n300,2e5,1\n", ("rt.csv", "repeated", "T_K")),
    ("# only a comment\n", ("rt.csv", "no data rows")),
    ("", ("rt.csv", "no data rows")),
    (b"\x89PNG\r\n\x1a\n\x00\xff", ("rt.csv", "UTF-8")),
])
def test_data_content_names_the_file_and_the_column(bad_input, content, fragments):
    bad_input(_cal(), *fragments, inputs={"rt.csv": content})


def test_series_not_in_the_file(bad_input):
    bad_input(_cal("--series", "v_in"), "series", inputs={"rt.csv": RT})


# ------------------------------------------------------------------------------------------------ fit and set
@pytest.mark.parametrize("fit,fragments", [("R0", ("R0", "did you mean 'R_0'")), (",", ("nothing",)),
                                           ("capacitance", ("capacitance", "frequency"))])
def test_fit_names(bad_input, fit, fragments):
    argv = _cal()
    argv[argv.index("--fit") + 1] = fit
    bad_input(argv, "fit", *fragments, inputs={"rt.csv": RT})


@pytest.mark.parametrize("item,fragments", [("R_x=5", ("R_x", "valid")), ("R_m", ("NAME=VALUE",)),
                                            ("R_m=5M", ("R_m", "ambiguous")), ("R_m=abc", ("R_m", "cannot read")),
                                            ("R_m=-5", ("R_m", "> 0")), ("name=x", ("name", "numeric"))])
def test_set(bad_input, item, fragments):
    bad_input(_cal("--set", item), *fragments, inputs={"rt.csv": RT})


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("extra,fragments", [
    (("--ambient", "0"), ("ambient", "> 0")),
    (("--ambient", "500"), ("ambient", "T_max")),
    (("--capacitance", "12M"), ("capacitance", "ambiguous")),
    (("--v-th", "1.4q"), ("v_th", "suffix")),
    (("--starts", "0"), ("starts", ">= 1")),
    (("--starts", "1.5"), ("starts", "whole number")),
    (("--seed", "-1"), ("seed",)),
    (("--max-nfev", "many"), ("max_nfev", "cannot read")),
])
def test_numbers(bad_input, extra, fragments):
    bad_input(_cal(*extra), *fragments, inputs={"rt.csv": RT})


# ------------------------------------------------------------------------------------------------ device
def test_unknown_preset(bad_input):
    argv = _cal()
    argv[argv.index("--preset") + 1] = "nosuch"
    bad_input(argv, "nosuch", "vo2x", inputs={"rt.csv": RT})


def test_params_file_missing(bad_input):
    bad_input(["calibrate", "--data", "rt.csv", "--params", "p.json", "--fit", "R_0"], "params", "not found",
              inputs={"rt.csv": RT})


def test_preset_and_params_together(bad_input):
    bad_input(_cal("--params", "p.json"), "preset", "params", inputs={"rt.csv": RT, "p.json": "{}"})


# ------------------------------------------------------------------------------------------------ output
def test_unwritable_output_refused_before_the_fit(bad_input, unwritable):
    path, files = unwritable
    bad_input(_cal("--json", "-o", path), "output", "blocker", inputs={"rt.csv": RT, **files})


@pytest.mark.parametrize("name,fragment", [("fit.txt", ".json"), ("fit.json", "folder")])
def test_output_name(bad_input, name, fragment):
    extra = {"fit.json/x": ""} if fragment == "folder" else {}
    bad_input(_cal("-o", name), "output", fragment, inputs={"rt.csv": RT, **extra})
