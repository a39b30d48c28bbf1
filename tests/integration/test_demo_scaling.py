"""The demo's device-size section (``vo2neuro demo --quick``): the table of V_th, f_max and energy per spike at
1 um, 100 nm and 30 nm for vo2 and vo2x, and its log-log figure.

References independent of the section's own bookkeeping:
* the table's channel lengths and geometry rule are the documented ones (square channel, t = min(100 nm, L));
* V_th at each size is recomputed here from the geometry (``from_geometry`` then ``static_iv``), not read from
  the scale study's record;
* energy per spike on a chip falls with size (issue 11), and is above the thermal floor C_th (T_c + w/2 - T_0),
  the least energy that heats the device through the transition, recomputed here from the device constants;
* the probe-station parasitic (145 pF) costs more per spike than the on-chip node at every size;
* the figure decodes as an image (matplotlib.image.imread).
"""
from __future__ import annotations

import json
import math

import matplotlib.image as mpimg
import pytest

from vo2neuro.device import get_parameters, static_iv
from vo2neuro.device.geometry import Geometry, from_geometry
from vo2neuro.explore.demo_sections import SCALE_TABLE_LENGTHS, scaling_section

SIZES = (1e-6, 100e-9, 30e-9)


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_scaling")
    return out, scaling_section(out, quick=True)


def test_table_has_both_films_at_the_three_sizes(section):
    _, sec = section
    assert SCALE_TABLE_LENGTHS == SIZES
    keys = {(r["preset"], r["length_m"]) for r in sec["table"]}
    assert keys == {(p, L) for p in ("vo2", "vo2x") for L in SIZES}
    assert len(sec["table"]) == 6
    assert sec["lengths_m"] == list(SIZES)  # --quick runs only the three sizes
    for r in sec["table"]:
        assert r["width_m"] == r["length_m"]
        assert r["thickness_m"] == pytest.approx(min(100e-9, r["length_m"]), rel=1e-12)
        for k in ("v_th_v", "f_max_on_chip_hz", "f_max_probe_station_hz", "energy_per_spike_on_chip_j",
                  "energy_per_spike_probe_station_j", "thermal_floor_j"):
            assert math.isfinite(r[k]) and r[k] > 0, (r["preset"], r["length_m"], k, r[k])


def test_v_th_is_the_static_threshold_of_the_geometry(section):
    _, sec = section
    for r in sec["table"]:
        delta = get_parameters(r["preset"]).delta
        g = Geometry(length=r["length_m"], width=r["width_m"], thickness=r["thickness_m"], substrate="sapphire")
        iv = static_iv(from_geometry(g, delta=delta, base="vo2"), ambient=300.0)
        assert r["v_th_v"] == pytest.approx(iv.v_th_v, rel=1e-9)
    # the vacancy-doped film switches below the pristine one at every size
    by = {(r["preset"], r["length_m"]): r for r in sec["table"]}
    assert all(by[("vo2x", L)]["v_th_v"] < by[("vo2", L)]["v_th_v"] for L in SIZES)


def test_energy_per_spike_on_chip_falls_with_size_and_stays_above_the_thermal_floor(section):
    _, sec = section
    for preset in ("vo2", "vo2x"):
        rows = sorted((r for r in sec["table"] if r["preset"] == preset), key=lambda r: -r["length_m"])
        e = [r["energy_per_spike_on_chip_j"] for r in rows]
        assert e[0] > e[1] > e[2], (preset, e)
        for r in rows:
            p = from_geometry(Geometry(length=r["length_m"], width=r["width_m"], thickness=r["thickness_m"]),
                              delta=get_parameters(preset).delta, base="vo2")
            floor = p.C_th * (p.T_c + p.w / 2.0 - 300.0)
            assert r["thermal_floor_j"] == pytest.approx(floor, rel=1e-9)
            assert r["energy_per_spike_on_chip_j"] > floor
            # 145 pF of cabling costs more per spike than a few fF on a chip
            assert r["energy_per_spike_probe_station_j"] > r["energy_per_spike_on_chip_j"]


def test_figure_is_a_png_that_decodes(section):
    out, sec = section
    (fig,) = sec["figures"]
    assert fig.endswith("scaling_energy_size.png")
    with open(fig, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(fig)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 400


def test_section_goes_into_the_summary_files(section, monkeypatch, tmp_path):
    # run_demo with only the device and scaling sections (the others are covered elsewhere): the section's table
    # lands in summary.json and summary.md like every other section
    from vo2neuro.explore import demo, demo_sections

    _, sec = section
    monkeypatch.setattr(demo, "device_section", lambda out, quick: {})
    monkeypatch.setattr(demo_sections, "SECTIONS", [("scaling", lambda out, quick: sec)])
    demo.run_demo(tmp_path, quick=True)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [(r["preset"], r["length_m"]) for r in summary["scaling"]["table"]] == \
        [(r["preset"], r["length_m"]) for r in sec["table"]]
    md = (tmp_path / "summary.md").read_text()
    assert "## Device size" in md and "| 30 nm | vo2x |" in md
