"""zhang2024 at 300 K: V_th, V_h, R(300 K), T_IMT against an independent evaluation of the published equations.

The reference is computed here from the equations of Zhang et al. 2024 / de Almeida 2002 (vo2_physics.md
sections 3.1 and 5) with scipy root-finding on the analytic derivative of V(T)^2, never with the code under
test. Source of the parameter values: vo2_physics.md section 4.1 (authors' public code).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from vo2neuro.device import get_parameters, rt_loop, static_iv

# Published fit (vo2_physics.md 4.1), SI
TC, W, BETA, R0, EA, RM = 332.805839, 7.19357064, 0.252796285, 5.35882879e-3, 5220.47417, 262.5 * 4.90025335
SE = 0.20558726e-3
T0 = 300.0


def _R(T, d):
    g = 0.5 + 0.5 * np.tanh(BETA * (d * W / 2 + TC - T))
    return R0 * np.exp(EA / T) * g + RM


def _dR(T, d):
    u = BETA * (d * W / 2 + TC - T)
    g = 0.5 + 0.5 * np.tanh(u)
    dg = -0.5 * BETA / np.cosh(u) ** 2
    ins = R0 * np.exp(EA / T)
    return ins * (-EA / T**2) * g + ins * dg


def _dV2(T, d):
    # d/dT [S_e (T - T0) R(T)] = S_e [R + (T - T0) R']
    return SE * (_R(T, d) + (T - T0) * _dR(T, d))


def _extremum(d, lo, hi):
    T = np.linspace(lo, hi, 20001)
    s = np.sign(_dV2(T, d))
    i = np.nonzero(s[:-1] != s[1:])[0]
    return [brentq(_dV2, T[k], T[k + 1], args=(d,), xtol=1e-12) for k in i]


@pytest.fixture(scope="module")
def iv():
    return static_iv(get_parameters("zhang2024"), ambient=T0)


def test_threshold_matches_independent_root(iv):
    T_th = _extremum(+1, T0 + 0.01, 370.0)[0]  # first extremum on heating = maximum (runaway)
    V_th = math.sqrt(SE * (T_th - T0) * _R(T_th, +1))
    I_th = V_th / _R(T_th, +1)
    # bounded Brent in the code stops at 1e-7 K; V is flat at the extremum, so V agrees to ~1e-10 relative
    assert iv.v_th_v == pytest.approx(V_th, rel=1e-8)
    assert iv.t_th_k == pytest.approx(T_th, abs=1e-4)
    assert iv.i_th_a == pytest.approx(I_th, rel=1e-5)


def test_hold_matches_independent_root(iv):
    roots = _extremum(-1, T0 + 0.01, 370.0)  # cooling branch: maximum then minimum
    T_h = roots[1]
    V_h = math.sqrt(SE * (T_h - T0) * _R(T_h, -1))
    assert iv.v_h_v == pytest.approx(V_h, rel=1e-8)
    assert iv.i_h_a == pytest.approx(V_h / _R(T_h, -1), rel=1e-5)
    assert iv.v_h_v < iv.v_th_v


def test_room_temperature_resistance_and_transition_temperatures():
    lp = rt_loop(get_parameters("zhang2024"), t_start=T0, t_stop=370.0, n_points=14001)
    assert lp.r_insulating_300k_ohm == pytest.approx(_R(300.0, +1), rel=1e-12)
    # T_IMT where g = 1/2: closed form T_c +/- w/2; the grid step is 5 mK, linear interpolation of g
    assert lp.t_imt_heating_k == pytest.approx(TC + W / 2, abs=1e-3)
    assert lp.t_imt_cooling_k == pytest.approx(TC - W / 2, abs=1e-3)
    assert lp.r_metallic_ohm == pytest.approx(_R(370.0, +1), rel=1e-9)  # top of the loop, reached heating
