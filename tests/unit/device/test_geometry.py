"""Devices from geometry (vo2neuro.device.geometry): validation, the lumped forms against numbers worked by hand
from the material table, and the closed-form scaling when every dimension is halved."""
from __future__ import annotations

import dataclasses
import math

import pytest

from vo2neuro.device import apply_vacancies, get_parameters
from vo2neuro.device.geometry import (MATERIALS, THERMAL_FACTORS, Electrode, Geometry, calibrate_thermal_factors,
                                      device_capacitance, from_geometry, implied_geometry)
from vo2neuro.units import ParameterError

EPS0 = 8.8541878128e-12


def _g(**kw) -> Geometry:
    d = dict(length=1e-6, width=1e-6, thickness=100e-9)
    d.update(kw)
    return Geometry(**d)


@pytest.mark.parametrize("kw,fragment", [
    (dict(length=-1e-6), "length must be > 0 [m]"),
    (dict(width=0.0), "width must be > 0 [m]"),
    (dict(thickness=math.nan), "thickness must be a finite number [m]"),
    (dict(substrate="glass"), "substrate: unknown 'glass'"),
    (dict(filament_width=2e-6), "filament_width must be in (0, width"),
])
def test_geometry_is_validated(kw, fragment):
    with pytest.raises(ParameterError, match=None) as exc:
        _g(**kw)
    assert fragment in str(exc.value)


def test_geometry_is_frozen_and_keyword_only():
    g = _g()
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.length = 2e-6  # type: ignore[misc]
    with pytest.raises(TypeError):
        Geometry(1e-6, 1e-6, 1e-7)  # type: ignore[misc]
    with pytest.raises(ParameterError, match="electrode metal"):
        Electrode(metal="cu")


def test_every_material_entry_has_unit_source_and_tag():
    tags = {"measured", "fitted", "textbook estimate", "assumption"}
    for key, m in MATERIALS.items():
        assert m.value > 0 and m.unit and m.source, key
        assert m.tag in tags, key


def test_lumped_forms_against_hand_numbers():
    # 1 um x 1 um x 100 nm on sapphire: L/(W t) = 1e7 m^-1
    g = _g()
    p = from_geometry(g)
    vo2 = get_parameters("vo2")
    assert p.R_m == pytest.approx(1e-6 * 1e7)                                    # rho_met 1e-4 Ohm cm
    assert p.R_0 * math.exp(vo2.Ea_over_k / 300.0) == pytest.approx(2e-2 * 1e7)  # rho_ins 2 Ohm cm at 300 K
    a = math.sqrt(1e-12 / math.pi)
    assert p.S_e == pytest.approx(THERMAL_FACTORS.f_S * 4 * 35.0 * a)
    assert p.C_th == pytest.approx(3.2e6 * 1e-19 + 1.66e6 * THERMAL_FACTORS.f_V * a ** 3)
    # the film's transition constants are the base film's
    for name in ("T_c", "w", "beta", "gamma", "Ea_over_k"):
        assert getattr(p, name) == getattr(vo2, name)
    assert p.channel_length == g.length


def test_coplanar_fringe_at_unit_modulus_ratio():
    # k = 1/sqrt(2) makes K(k') = K(k): the fringe is eps0 (eps_r + 1)/2 per unit width
    L = 200e-9
    ext = L * (math.sqrt(2.0) - 1.0) / 2.0
    g = Geometry(length=L, width=1e-6, thickness=50e-9, electrode=Electrode(extent=ext))
    planar = EPS0 * 9.0 * 1e-6 * 50e-9 / L
    assert device_capacitance(g) == pytest.approx(planar + EPS0 * (9.4 + 1.0) / 2.0 * 1e-6, rel=1e-9)


def test_filament_sets_metallic_resistance_and_heated_footprint():
    full, fil = _g(), _g(filament_width=0.25e-6)
    pf, pp = from_geometry(full), from_geometry(fil)
    assert pp.R_m / pf.R_m == pytest.approx(4.0)
    assert pp.R_0 == pytest.approx(pf.R_0)                    # the insulating channel still spans W
    assert pp.S_e / pf.S_e == pytest.approx(0.5)              # a_eq ~ sqrt(L w_f)


def test_electrode_fin_term():
    bare, gold = _g(), _g(electrode=Electrode(metal="au", thickness=50e-9))
    extra = from_geometry(gold).S_e - from_geometry(bare).S_e
    assert extra == pytest.approx(2 * 1e-6 * math.sqrt(318.0 * 50e-9 / 2e-8))
    # thinning the electrode 5x lowers its conduction sqrt(5)x (Nath et al.: thinner top electrode, less heat loss)
    thin = _g(electrode=Electrode(metal="au", thickness=10e-9))
    assert extra / (from_geometry(thin).S_e - from_geometry(bare).S_e) == pytest.approx(math.sqrt(5.0))


@pytest.mark.parametrize("substrate", ["sapphire", "sio2"])
def test_halving_every_dimension_follows_the_closed_forms(substrate):
    g = _g(substrate=substrate, filament_width=0.5e-6)
    h = g.scaled(0.5)
    p, q = from_geometry(g), from_geometry(h)
    assert q.R_0 / p.R_0 == pytest.approx(2.0)        # L/(W t): 0.5 / 0.25
    assert q.R_m / p.R_m == pytest.approx(2.0)
    assert q.S_e / p.S_e == pytest.approx(0.5)        # 4 k a_eq, a_eq ~ sqrt(L w_f)
    assert q.C_th / p.C_th == pytest.approx(0.125)    # film volume and a_eq^3
    assert q.tau_th / p.tau_th == pytest.approx(0.25)
    floor = lambda d: d.C_th * (d.T_c + d.w / 2 - 300.0)  # noqa: E731
    assert floor(q) / floor(p) == pytest.approx(0.125)
    assert device_capacitance(h) / device_capacitance(g) == pytest.approx(0.5)  # eps0 W t/L and W K'/K


def test_vacancies_combine_with_geometry():
    g = _g()
    assert from_geometry(g, delta=0.01) == dataclasses.replace(
        apply_vacancies(from_geometry(g), 0.01), name=from_geometry(g, delta=0.01).name)
    with pytest.raises(ParameterError, match="base"):
        from_geometry(g, base="vo2x")


def test_recorded_factors_are_the_fit():
    factors, ratios = calibrate_thermal_factors()
    assert factors.f_S == pytest.approx(THERMAL_FACTORS.f_S, rel=1e-3)
    assert factors.f_V == pytest.approx(THERMAL_FACTORS.f_V, rel=1e-3)
    # minimax: the two anchors' C_th errors are equal and opposite in log
    c = [math.log(r["C_th"]) for r in ratios.values()]
    assert c[0] == pytest.approx(-c[1], rel=1e-4)


@pytest.mark.parametrize("name", ["zhang2024", "vo2", "vo2x"])
def test_presets_keep_their_values_and_state_their_geometry(name):
    p = get_parameters(name)
    assert get_parameters("zhang2024").C_th == 49.62776831e-12
    info = implied_geometry(p)
    g = info["geometry"]
    assert g.width == pytest.approx(g.length)
    assert info["S_e_ratio"] == pytest.approx(1.0)
    # the implied film reproduces the preset's 300 K insulating resistance
    q = from_geometry(g, base=dataclasses.replace(p, delta=0.0))
    assert q.R_0 * math.exp(q.Ea_over_k / 300.0) == pytest.approx(p.R_0 * math.exp(p.Ea_over_k / 300.0))
    assert 1e-6 < g.length < 1e-5          # a micrometre device, as scaling.md section 1 reads the fit
