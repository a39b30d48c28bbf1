"""Device scaling against published devices and the closed-form limits (issue 11).

Anchors asserted here: the lumped thermal constants at the stated geometry of the two calibration anchors,
within a factor of 3 of the published values:

* Technion VO2 gap device, ~200 nm gap, ~150 nm film: C_th 0.048 pJ/K, S_e 3.68 uW/K (Gildor et al. 2026
  manuscript as reported in the public repository gabebere/single-neuristor; scaling.md section 2);
* zhang2024: C_th 49.63 pJ/K, S_e 0.2056 mW/K with S_e read as 4 k a, a ~ 1.5 um on sapphire (Zhang et al.,
  Nat. Commun. 15, 6986, 2024; scaling.md section 1).

Not asserted (the model misses them; measured ratios are in the issue-11 report): the Technion energy per period
(1.2-1.9 pJ, current drive, C <= 0.39 pF: with the geometry-derived device the current-driven node does not
oscillate at 0.39 pF) and the EPFL monolithic device (Bersano et al., arXiv:2604.21487: 60 nm film, 6 um^2,
40-410 kHz, 18 pJ/spike; the model gives ~3000x the energy).
"""
from __future__ import annotations

import json

import pytest

from vo2neuro.circuits.scaling import scale_study
from vo2neuro.device.geometry import THERMAL_ANCHORS, Geometry, from_geometry


@pytest.mark.parametrize("anchor", THERMAL_ANCHORS, ids=lambda a: a.name)
def test_thermal_constants_at_anchor_geometry_within_3x(anchor):
    p = from_geometry(anchor.geometry)
    assert 1 / 3 < p.C_th / anchor.C_th < 3
    assert 1 / 3 < p.S_e / anchor.S_e < 3


def _square(L: float) -> Geometry:
    return Geometry(length=L, width=L, thickness=min(100e-9, L))


def test_energy_per_spike_falls_with_size_and_stays_above_the_thermal_floor():
    recs = scale_study([_square(L) for L in (1e-6, 300e-9, 100e-9, 30e-9)], delta=0.01, integration="on-chip")
    e = [r.energy_per_spike_j for r in recs]
    assert all(a > b for a, b in zip(e, e[1:])), e
    assert all(r.energy_per_spike_j > r.thermal_floor_j for r in recs)
    f = [r.f_max_hz for r in recs]
    assert all(a < b for a, b in zip(f, f[1:])), f
    assert all(r.window_lower_v < r.window_upper_v for r in recs)


def test_energy_falls_towards_the_thermal_floor_as_the_parasitic_vanishes():
    g = _square(300e-9)
    e, floor = [], None
    for par in (300e-12, 30e-12, 0.0):
        r = scale_study([g], delta=0.01, parasitic=par)[0]
        e.append(r.energy_per_spike_j)
        floor = r.thermal_floor_j
        if par == 0.0:
            assert r.parasitic_energy_per_spike_j == 0.0
        else:
            assert r.parasitic_energy_per_spike_j > 0.0
    assert e[0] > e[1] > e[2] > floor, (e, floor)


def test_probe_station_parasitic_dominates_small_devices():
    r = scale_study([_square(30e-9)], delta=0.01, integration="probe-station")[0]
    on = scale_study([_square(30e-9)], delta=0.01, integration="on-chip")[0]
    assert r.parasitic_capacitance_f == pytest.approx(145.34619293e-12)
    assert r.energy_per_spike_j > 100 * on.energy_per_spike_j
    assert r.parasitic_energy_per_spike_j > r.capacitor_energy_per_spike_j


def test_cli_json_has_the_documented_keys(capsys):
    from vo2neuro.cli import main

    assert main(["device", "scale", "--preset", "vo2x", "--length", "1u:100n:2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"length_m", "width_m", "thickness_m", "v_th_v", "f_max_hz", "energy_per_spike_j",
            "parasitic_energy_per_spike_j", "thermal_floor_j", "tau_th_s", "i_th_a", "window_lower_v",
            "window_upper_v", "dominant"}
    assert len(out["sizes"]) == 2
    for rec in out["sizes"]:
        assert keys <= set(rec)
        assert rec["dominant"] in ("device", "parasitic", "capacitor", "load")
    assert out["sizes"][0]["length_m"] == pytest.approx(1e-6)
    assert out["sizes"][1]["length_m"] == pytest.approx(100e-9)
