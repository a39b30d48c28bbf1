"""Oxygen-vacancy mapping: the seed paper's claim (lower operating voltage for VO2-x) and the model's range."""
from __future__ import annotations

import numpy as np
import pytest

from vo2neuro.units import ParameterError
from vo2neuro.device import DELTA_MAX, apply_vacancies, get_parameters, rt_loop, static_iv
from vo2neuro.device.vacancy import VACANCY_SLOPES

AMBIENT = 300.0  # same ambient and geometry for both films


def test_vo2x_threshold_at_least_30_percent_lower():
    # Li et al. 2024 (arXiv:2405.00700): VO2-x neurons operate at lower voltage than pristine VO2.
    v_vo2 = static_iv(get_parameters("vo2"), ambient=AMBIENT).v_th_v
    v_vo2x = static_iv(get_parameters("vo2x"), ambient=AMBIENT).v_th_v
    assert v_vo2x <= 0.7 * v_vo2


def test_vo2x_transition_lower():
    a, b = rt_loop(get_parameters("vo2")), rt_loop(get_parameters("vo2x"))
    assert b.t_imt_heating_k < a.t_imt_heating_k and b.t_imt_cooling_k < a.t_imt_cooling_k


def test_monotonic_in_delta_over_documented_range():
    deltas = np.linspace(0.0, DELTA_MAX, 7)
    vth = [static_iv(get_parameters("vo2", delta=float(d)), ambient=AMBIENT).v_th_v for d in deltas]
    t_imt = [rt_loop(get_parameters("vo2", delta=float(d))).t_imt_heating_k for d in deltas]
    r300 = [rt_loop(get_parameters("vo2", delta=float(d))).r_insulating_300k_ohm for d in deltas]
    assert np.all(np.diff(vth) < 0) and np.all(np.diff(t_imt) < 0) and np.all(np.diff(r300) < 0)


def test_mapping_follows_its_documented_slopes():
    base = get_parameters("vo2")
    d = 0.02
    p = apply_vacancies(base, d)
    assert p.T_c == pytest.approx(base.T_c - VACANCY_SLOPES["k_T"][0] * d)
    assert p.Ea_over_k == pytest.approx(base.Ea_over_k * (1 - VACANCY_SLOPES["a_E"][0] * d))
    assert p.R_m == base.R_m and p.delta == d
    # the 300 K insulating resistance falls by 3-30x over the range (vo2_physics.md 7.3 prior)
    r = lambda q: q.R_0 * np.exp(q.Ea_over_k / 300.0)  # noqa: E731
    assert 3.0 <= r(base) / r(apply_vacancies(base, 0.01)) <= 30.0 * 1.2
    for name, (_value, _unit, source) in VACANCY_SLOPES.items():
        assert source, name


@pytest.mark.parametrize("delta", [-0.001, DELTA_MAX + 1e-6, float("nan"), 0.5])
def test_delta_outside_range_rejected(delta):
    with pytest.raises(ParameterError, match=r"delta.*\[1\]"):
        get_parameters("vo2", delta=delta)


def test_vo2x_preset_is_vo2_at_its_default_delta():
    assert get_parameters("vo2x").T_c == pytest.approx(get_parameters("vo2", delta=0.01).T_c)
    assert get_parameters("vo2x", delta=0.0).T_c == get_parameters("vo2").T_c
