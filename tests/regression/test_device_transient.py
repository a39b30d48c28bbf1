"""Numba electro-thermal transient against scipy.integrate.solve_ivp (Radau, rtol 1e-9).

Heating-then-cooling: zhang2024 at 325 K through a 5 kOhm series resistor; 12 V for 3 us switches the device
to the metal, then 4 V for 4 us lets it cool back through the cooling branch *with the minor-loop memory* of
the reversal. The reference integrates the published equations (vo2_physics.md sections 2.2, 3.1-3.2),
written out again here, in two segments joined at the reversal (the temperature maximum at the step down).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from vo2neuro.device import get_parameters, simulate_device

TC, W, BETA, GAMMA = 332.805839, 7.19357064, 0.252796285, 0.956269682
R0, EA, RM = 5.35882879e-3, 5220.47417, 262.5 * 4.90025335
CTH, SE = 49.62776831e-12, 0.20558726e-3
T0, RS = 325.0, 5e3
V_HI, V_LO, T_SW, T_END = 12.0, 4.0, 3e-6, 7e-6


def _g_major(T, d):
    return 0.5 + 0.5 * math.tanh(BETA * (d * W / 2 + TC - T))


def _g_minor(T, d, T_r, g_r):
    T_pr = d * W / 2 + TC - math.atanh(2 * g_r - 1) / BETA - T_r
    x = (T - T_r) / T_pr
    P = 0.5 * (1 - math.sin(GAMMA * x)) * (1 + math.tanh(math.pi**2 - 2 * math.pi * x))
    return 0.5 + 0.5 * math.tanh(BETA * (d * W / 2 + TC - (T + T_pr * P)))


def _rhs(v_src, g):
    def f(t, y):
        T = y[0]
        R = R0 * math.exp(EA / T) * g(T) + RM
        I = v_src / (R + RS)
        return [(I * I * R - SE * (T - T0)) / CTH]
    return f


@pytest.fixture(scope="module")
def reference():
    kw = dict(method="Radau", rtol=1e-9, atol=1e-9, dense_output=True)
    seg1 = solve_ivp(_rhs(V_HI, lambda T: _g_major(T, +1.0)), (0.0, T_SW), [T0], **kw)
    T_r = float(seg1.y[0, -1])
    g_r = _g_major(T_r, +1.0)
    seg2 = solve_ivp(_rhs(V_LO, lambda T: _g_minor(T, -1.0, T_r, g_r)), (T_SW, T_END), [T_r], **kw)
    return seg1, seg2


def test_transient_matches_solve_ivp(reference):
    seg1, seg2 = reference
    dt = 0.1e-9
    params = get_parameters("zhang2024")
    drive = lambda t: np.where(t < T_SW - 0.5 * dt, V_HI, V_LO)  # noqa: E731
    tr = simulate_device(params, drive, duration=T_END, dt=dt, ambient=T0, r_series=RS)
    m1 = tr.t <= T_SW
    ref = np.concatenate([seg1.sol(tr.t[m1])[0], seg2.sol(tr.t[~m1])[0]])
    err = np.abs(tr.T - ref)
    assert tr.T.max() > TC + W / 2 + 5, "the pulse must drive the device through the transition"
    assert tr.T[-1] < TC - W / 2, "and the low level must let it cool back through the cooling branch"
    # exponential step with P frozen: first order in dt; dt = 0.1 ns gives a few mK (issue bound 0.05 K)
    assert err.max() < 0.05, f"max |dT| = {err.max():.4f} K at t = {tr.t[err.argmax()]:.3e} s"
