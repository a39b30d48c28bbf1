"""Bad input to ``vo2neuro sweep`` and ``vo2neuro plot``: exit 2, one line on stderr naming the key or option,
nothing on stdout, nothing written. TOML configs are checked against a schema (unknown keys with a "did you mean",
wrong types naming the expected type) and absurd grids are refused with their memory estimate."""
from __future__ import annotations

import pytest

GOOD = """
[sweep]
circuit = "device"
preset = "vo2"
metrics = ["v_th_v"]
chunk_size = 4
[sweep.grid]
delta = [0.0, 0.01]
ambient = [300.0, 305.0]
"""

PA = """
[sweep]
circuit = "pearson_anson"
preset = "vo2"
metrics = ["frequency_hz"]
{extra}
[sweep.grid]
v_in = {grid}
[sweep.fixed]
r_load = 12e3
capacitance = 145e-12
{fixed}
"""


def _pa(grid="[14.0, 16.0]", extra="", fixed=""):
    return PA.format(grid=grid, extra=extra, fixed=fixed)


# ------------------------------------------------------------------------------------------------ TOML schema
@pytest.mark.parametrize("toml,fragments", [
    (GOOD.replace("chunk_size", "chunk_sise"), ("chunk_sise", "did you mean 'chunk_size'")),
    (_pa(fixed="").replace("[sweep.fixed]", "[sweep.fixd]"), ("[sweep.fixd]", "did you mean [sweep.fixed]")),
    (GOOD.replace("[sweep]", "[swep]"), ("[sweep]", "did you mean 'sweep'")),
    (GOOD.replace('"device"', '"devise"'), ("circuit", "devise", "did you mean 'device'")),
    (GOOD.replace('"v_th_v"', '"v_th"'), ("metrics", "v_th", "did you mean 'v_th_v'")),
    (GOOD.replace("delta =", "delt ="), ("delt", "did you mean 'delta'")),
    (_pa(fixed="capacitence = 1e-12"), ("capacitence", "did you mean 'capacitance'")),
    (GOOD + "[other]\nx = 1\n", ("other",)),
])
def test_unknown_keys_and_tables_with_did_you_mean(bad_input, toml, fragments):
    bad_input(["sweep", "s.toml"], *fragments, inputs={"s.toml": toml})


@pytest.mark.parametrize("toml,fragments", [
    (GOOD.replace("chunk_size = 4", 'chunk_size = "4"'), ("chunk_size", "whole number", "string")),
    (GOOD.replace("chunk_size = 4", "chunk_size = 4.5"), ("chunk_size", "whole number")),
    (GOOD.replace('metrics = ["v_th_v"]', 'metrics = "v_th_v"'), ("metrics", "list of strings")),
    (GOOD.replace('preset = "vo2"', "preset = 2"), ("preset", "string")),
    (_pa(fixed="ambient = \"300\""), ("fixed.ambient", "number", "string")),
    (_pa(grid='"14"'), ("grid.v_in", "list of numbers")),
    (_pa(grid='[14.0, "16"]'), ("grid.v_in", "list of numbers")),
    (_pa(grid="{ start = 10.0, stop = 16.0, num = 4.0 }"), ("v_in.num", "whole number")),
    (_pa(grid="{ start = 10.0, stop = 16.0 }"), ("v_in", "num")),
    (_pa(grid="{ start = 10.0, stop = 16.0, num = 3, scale = 'cubic' }"), ("scale", "log")),
    (_pa(grid="{ start = 10.0, stop = 16.0, num = 3, step = 1 }"), ("step", "did you mean")),
    (GOOD + "fixed = [1.0, 2.0]\n", ("fixed",)),
])
def test_wrong_types_name_the_key_and_the_expected_type(bad_input, toml, fragments):
    bad_input(["sweep", "s.toml"], *fragments, inputs={"s.toml": toml})


def test_list_where_a_table_belongs(bad_input):
    toml = GOOD.replace("[sweep.grid]\ndelta = [0.0, 0.01]\nambient = [300.0, 305.0]\n", "grid = [1.0, 2.0]\n")
    bad_input(["sweep", "s.toml"], "sweep.grid", "table", "list", inputs={"s.toml": toml})


@pytest.mark.parametrize("toml,fragments", [
    ("[sweep]\ncircuit = 'device'\npreset = 'vo2'\nmetrics = ['v_th_v']\n"
     "[sweep.sample]\nmethod = 'lhs'\n[sweep.sample.ranges]\ndelta = [0.0, 0.03]\n", ("sample.n", "required")),
    ("[sweep]\ncircuit = 'device'\npreset = 'vo2'\nmetrics = ['v_th_v']\n"
     "[sweep.sample]\nn = 'ten'\n[sweep.sample.ranges]\ndelta = [0.0, 0.03]\n", ("sample.n", "whole number")),
    ("[sweep]\ncircuit = 'device'\npreset = 'vo2'\nmetrics = ['v_th_v']\n"
     "[sweep.sample]\nn = 10\n[sweep.sample.ranges]\ndelta = 0.03\n", ("ranges.delta", "[low, high")),
    ("[sweep]\ncircuit = 'device'\npreset = 'vo2'\nmetrics = ['v_th_v']\n"
     "[sweep.sample]\nn = 10\nmetod = 'lhs'\n[sweep.sample.ranges]\ndelta = [0.0, 0.03]\n",
     ("metod", "did you mean 'method'")),
])
def test_sample_schema(bad_input, toml, fragments):
    bad_input(["sweep", "s.toml"], *fragments, inputs={"s.toml": toml})


# ------------------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("toml,fragments", [
    (GOOD.replace('"vo2"', '"nosuch"'), ("nosuch", "vo2x")),
    (_pa(fixed="").replace("r_load = 12e3\n", ""), ("needs", "r_load")),
    (_pa(grid="[14.0, -1.0]"), ("v_in", ">= 0")),
    (_pa(fixed="").replace("capacitance = 145e-12", "capacitance = 0.0"), ("capacitance", "> 0")),
    (_pa(fixed="r_off = 1e5"), ("r_off", "electro-thermal")),
    (GOOD.replace("ambient = [300.0, 305.0]", "v_in = [1.0]"), ("v_in", "device")),
    (GOOD.replace("chunk_size = 4", "chunk_size = 0"), ("chunk_size", "[1,")),
    (_pa(extra='params_file = "nope.json"'), ("params", "not found")),
])
def test_values_checked_before_any_work(bad_input, toml, fragments):
    bad_input(["sweep", "s.toml"], *fragments, inputs={"s.toml": toml})


def test_absurd_grid_refused_with_its_memory_estimate(bad_input):
    # 1e6 x 1e6 points: ~450 TiB of store template on any machine; nothing is allocated
    toml = _pa(grid="{ start = 1.0, stop = 20.0, num = 1000000 }",
               fixed="ambient = { start = 300.0, stop = 310.0, num = 1000000 }").replace(
        "[sweep.fixed]\nr_load = 12e3\ncapacitance = 145e-12\nambient",
        "ambient").replace("[sweep.grid]", "[sweep.fixed]\nr_load = 12e3\ncapacitance = 145e-12\n[sweep.grid]")
    line = bad_input(["sweep", "s.toml"], "1e+12 points", "GiB", inputs={"s.toml": toml})
    assert "num" in line


def test_absurd_single_axis_refused_before_it_is_built(bad_input):
    bad_input(["sweep", "s.toml"], "points", "GiB",
              inputs={"s.toml": _pa(grid="{ start = 1.0, stop = 20.0, num = 1000000000000 }")})


def test_absurd_sample_refused(bad_input):
    toml = ("[sweep]\ncircuit = 'device'\npreset = 'vo2'\nmetrics = ['v_th_v']\n"
            "[sweep.sample]\nn = 1000000000000\n[sweep.sample.ranges]\ndelta = [0.0, 0.03]\n")
    bad_input(["sweep", "s.toml"], "points", "GiB", inputs={"s.toml": toml})


def test_absurd_fixed_step_refused(bad_input):
    bad_input(["sweep", "s.toml"], "dt", "steps",
              inputs={"s.toml": _pa(fixed="duration = 1.0\ndt = 1e-30")})


# ------------------------------------------------------------------------------------------------ files, options
def test_config_missing(bad_input):
    bad_input(["sweep", "nope.toml"], "config", "not found")


def test_config_is_a_folder(bad_input):
    bad_input(["sweep", "cfg"], "config", "folder", inputs={"cfg/s.toml": GOOD})


@pytest.mark.parametrize("content,fragment", [("[sweep\n", "not valid TOML"), (b"\xff\xfe\x00", "UTF-8")])
def test_config_not_toml(bad_input, content, fragment):
    bad_input(["sweep", "s.toml"], "config", fragment, inputs={"s.toml": content})


@pytest.mark.parametrize("workers,fragment", [("-1", ">= 0"), ("two", "cannot read"), ("2M", "ambiguous"),
                                              ("1.5", "whole number")])
def test_workers_is_a_count(bad_input, workers, fragment):
    bad_input(["sweep", "s.toml", "--workers", workers], "workers", fragment, inputs={"s.toml": GOOD})


def test_unwritable_store(bad_input, unwritable):
    path, files = unwritable
    bad_input(["sweep", "s.toml", "--out", "blocker/s.zarr"], "out", inputs={"s.toml": GOOD, **files})


def test_store_suffix(bad_input):
    bad_input(["sweep", "s.toml", "--out", "s.nc"], "out", ".zarr", inputs={"s.toml": GOOD})


def test_store_exists_needs_resume(bad_input):
    bad_input(["sweep", "s.toml"], "exists", "--resume", inputs={"s.toml": GOOD, "s.zarr/.zgroup": "{}"})


def test_resume_of_a_foreign_folder(bad_input):
    bad_input(["sweep", "s.toml", "--resume", "--workers", "0", "--out", "x.zarr"], "out", "not a readable",
              inputs={"s.toml": GOOD, "x.zarr/junk.txt": "x"})


def test_default_store_is_a_file(bad_input):
    bad_input(["sweep", "s.toml"], "out", "not a folder", inputs={"s.toml": GOOD, "s.zarr": "x"})


@pytest.mark.parametrize("name,fragment", [("blocker/x.nc", "blocker"), ("x.csv", ".nc")])
def test_netcdf_output(bad_input, unwritable, name, fragment):
    _, files = unwritable
    bad_input(["sweep", "s.toml", "--netcdf", name], "netcdf", fragment, inputs={"s.toml": GOOD, **files})


# ------------------------------------------------------------------------------------------------ plot
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from vo2neuro.explore.sweep import config_from_dict, run_sweep

    path = tmp_path_factory.mktemp("store") / "s.zarr"
    cfg = config_from_dict({"sweep": {"circuit": "device", "preset": "vo2", "metrics": ["v_th_v"], "chunk_size": 4,
                                      "grid": {"delta": [0.0, 0.01], "ambient": [300.0, 305.0]}}})
    run_sweep(cfg, path, workers=0, progress=False)
    return str(path)


PLOT = ["--x", "delta", "--y", "ambient", "--metric", "v_th_v", "-o", "p.png"]


@pytest.mark.parametrize("inputs,target,fragment", [
    ({"notes.txt": "hello"}, "notes.txt", "file"),
    ({"empty/.keep": ""}, "empty", "not a Zarr store"),
    ({"other.zarr/.zgroup": '{"zarr_format": 2}'}, "other.zarr", "not written by `vo2neuro sweep`"),
    ({"old.zarr/.zgroup": '{"zarr_format": 2}', "old.zarr/.zattrs": '{"created_by": "vo2neuro sweep"}'},
     "old.zarr", "fingerprint"),
    ({"bad.zarr/.zgroup": "{not json"}, "bad.zarr", "cannot be read"),
    ({}, "nope.zarr", "not found"),
])
def test_plot_on_a_non_store(bad_input, inputs, target, fragment):
    bad_input(["plot", target, *PLOT], "store", fragment, inputs=inputs)


@pytest.mark.parametrize("change,fragments", [
    (("--x", "delta", "--x", "v_in"), ("v_in", "grid dimension")),
    (("--metric", "v_th_v", "--metric", "reason"), ("metric", "reason")),
    (("--metric", "v_th_v", "--metric", "wattage"), ("metric", "v_th_v")),
    (("--y", "ambient", "--y", "delta"), ("y", "differ")),
])
def test_plot_axes_and_metric(bad_input, store, change, fragments):
    old_opt, old_val, opt, val = change
    argv = list(PLOT)
    argv[argv.index(old_opt) + 1] = val
    bad_input(["plot", store, *argv], *fragments)


def test_plot_reduce_is_a_choice(bad_input, store):
    bad_input(["plot", store, *PLOT, "--reduce", "median"], "reduce", "invalid choice")


def test_plot_window_needs_a_pwl_sweep(bad_input, store):
    bad_input(["plot", store, *PLOT, "--window"], "window", "pwl")


@pytest.mark.parametrize("name,fragment", [("blocker/p.png", "blocker"), ("p.pdf", ".png")])
def test_plot_output(bad_input, unwritable, store, name, fragment):
    _, files = unwritable
    bad_input(["plot", store, *PLOT[:-1], name], "output", fragment, inputs=files)
