"""Kernel-level checks of the hysteresis memory and the thermal step against closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from vo2neuro.device import _kernels as K
from vo2neuro.device import get_parameters, rt_loop


@pytest.fixture(scope="module")
def p():
    return get_parameters("zhang2024").to_kernel()


def test_thermal_step_is_exact_for_constant_power(p):
    # Closed form of C dT/dt = P - S (T - T0): T(t) = T0 + P/S (1 - exp(-t S / C)).
    T0, P, dt = 300.0, 1e-3, 7e-9
    T = T0
    for _ in range(100):
        T = K.thermal_step(T, P, T0, dt, 0.0, p)
    exact = T0 + P / p.S_e * (1 - math.exp(-100 * dt * p.S_e / p.C_th))
    assert T == pytest.approx(exact, abs=1e-10)


def test_thermal_noise_has_the_ou_stationary_variance():
    # Stationary variance of C dT = -S (T-T0) dt + sigma dW is sigma^2 / (2 C S) (Ornstein-Uhlenbeck).
    import dataclasses

    params = dataclasses.replace(get_parameters("zhang2024"), thermal_noise=2e-9)
    p = params.to_kernel()
    xs = _ou_path(200_000, p)
    var_exact = params.thermal_noise**2 / (2 * params.C_th * params.S_e)
    # 200k samples with correlation time ~5 steps: relative sampling error of the variance ~ 2 %
    assert np.var(xs[1000:]) == pytest.approx(var_exact, rel=0.06)


def test_major_loop_centres_closed_form(p):
    # g = 1/2 exactly at T_c + w/2 (heating) and T_c - w/2 (cooling), vo2_physics.md section 3.1
    lp = rt_loop(get_parameters("zhang2024"), t_start=300, t_stop=370, n_points=7001)
    assert lp.t_imt_heating_k == pytest.approx(p.T_c + p.w / 2, abs=2e-3)
    assert lp.t_imt_cooling_k == pytest.approx(p.T_c - p.w / 2, abs=2e-3)


def test_reversal_is_continuous_and_minor_loop_merges(p):
    h = K.hyst_init(300.0, 1.0, p)
    # heat to the middle of the loop, then cool: g must be continuous at the reversal ...
    for T in np.linspace(300.0, 334.0, 3401):
        h = K.hyst_update(T, h, p)
    g_before = K.g_of(333.95, h.delta, h.r, h.T_r, h.T_pr, p)
    h = K.hyst_update(333.95, h, p)
    assert h.delta == -1.0 and h.r == 1.0 and h.T_r == 333.95
    g_after = K.g_of(333.95, h.delta, h.r, h.T_r, h.T_pr, p)
    # P(0) = 1 - O(1e-9) (tanh(pi^2) < 1), so g is continuous to ~1e-9
    assert g_after == pytest.approx(g_before, abs=1e-7)
    # ... and far below the reversal the minor curve has merged into the major cooling branch
    for T in np.linspace(333.95, 310.0, 2000):
        h = K.hyst_update(T, h, p)
    assert K.g_of(310.0, h.delta, h.r, h.T_r, h.T_pr, p) == pytest.approx(K.g_major(310.0, -1.0, p), abs=1e-6)


def test_minor_loop_lies_inside_the_major_loop(p):
    lp = rt_loop(get_parameters("zhang2024"), t_start=300, t_stop=370, n_points=2001, minor_turns=(334.0, 329.0))
    Tm, gm = lp.T_minor, lp.g_minor
    g_heat = np.array([K.g_major(t, 1.0, p) for t in Tm])
    g_cool = np.array([K.g_major(t, -1.0, p) for t in Tm])
    assert np.all(gm <= g_heat + 1e-9) and np.all(gm >= g_cool - 1e-9)


def test_deadband_filters_small_reversals(p):
    h = K.hyst_init(320.0, 1.0, p)
    h = K.hyst_update(320.005, h, p)
    h = K.hyst_update(320.0, h, p)
    assert h.r == 0.0 and h.delta == 1.0


@njit
def _ou_path(n, p):
    out = np.empty(n)
    T = 325.0
    state = np.uint64(7)
    for i in range(n):
        state, xi = K.rng_normal(state)
        T = K.thermal_step(T, 0.0, 325.0, 50e-9, xi, p)
        out[i] = T
    return out


@njit
def _draws(n):
    s = np.uint64(42)
    us = np.empty(n)
    zs = np.empty(n)
    for i in range(n):
        s, us[i] = K.rng_next(s)
    for i in range(n):
        s, zs[i] = K.rng_normal(s)
    return us, zs


def test_rng_is_uniform_and_normal():
    us, zs = _draws(50_000)
    assert 0.0 < us.min() and us.max() < 1.0
    assert us.mean() == pytest.approx(0.5, abs=0.005)
    assert zs.mean() == pytest.approx(0.0, abs=0.02) and zs.std() == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("branch, d", [("heating", 1.0), ("cooling", -1.0)])
def test_static_branch_is_the_steady_state_of_the_thermal_balance(branch, d):
    """Without Poole-Frenkel, V(T) = sqrt(S_e (T - T_0) R(T)) on the branch (Joule heat = heat loss), I = V/R,
    and V = 0 at or below the bath."""
    from vo2neuro.device import static_branch

    params = get_parameters("zhang2024")
    t0 = 325.0
    T = np.linspace(t0 - 5.0, params.T_max, 301)
    V, I = static_branch(params, T, ambient=t0, branch=branch)
    kp = params.to_kernel()
    R = np.array([K.resistance(t, 0.0, K.hyst_init(t, d, kp), kp) for t in T])
    assert np.allclose(V, np.sqrt(params.S_e * np.maximum(T - t0, 0.0) * R), rtol=1e-12, atol=0.0)
    assert np.allclose(I, V / R, rtol=1e-12, atol=0.0)
    assert np.all(V[T <= t0] == 0.0)
