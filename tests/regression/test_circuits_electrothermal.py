"""Electro-thermal oscillator against an independent stiff solve_ivp integration, and zhang2024 / vo2 / vo2x checks.

The reference right-hand side, R(T, H) and the de Almeida reversal memory are written here from the published
equations (vo2_physics.md sections 2.2, 3.1, 3.2; de Almeida et al. 2002; Zhang et al. 2024), not imported from
the code under test. Reversals are handled with solve_ivp events: the extremum of T (dT/dt = 0), then the
dead-band crossing T = T_ext - delta * deadband, where the memory is updated and the integration restarts.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from vo2neuro.circuits import oscillation_window, simulate, transfer_curve
from vo2neuro.device import get_parameters

C_ZHANG = 145.34619293e-12
RL_ZHANG = 12e3
T_ZHANG = 325.0


# ------------------------------------------------------------------------------------------ independent reference
class _Memory:
    """de Almeida hysteresis memory (delta, r, T_r, g_r, T_pr), equations of vo2_physics.md section 3.1."""

    def __init__(self, p, T0: float) -> None:
        self.p = p
        Tc = self.clamp(T0)
        self.delta, self.r, self.T_r = 1.0, 0.0, Tc
        self.g_r = 0.5 + 0.5 * math.tanh(p.beta * (p.w / 2 + p.T_c - Tc))
        self.T_pr = self._tpr(self.delta, self.g_r, Tc)

    def clamp(self, T: float) -> float:
        return min(max(T, self.p.T_min), self.p.T_max)

    def _tpr(self, delta: float, g_r: float, T_r: float) -> float:
        x = min(max(2 * g_r - 1, -1 + 1e-12), 1 - 1e-12)
        return delta * self.p.w / 2 + self.p.T_c - math.atanh(x) / self.p.beta - T_r

    def g(self, T: float) -> float:
        p = self.p
        Tc = self.clamp(T)
        Tp = 0.0
        if self.r:
            den = self.T_pr if abs(self.T_pr) >= 1e-6 else math.copysign(1e-6, self.T_pr)
            x = (Tc - self.T_r) / den
            P = 0.5 * (1 - math.sin(p.gamma * x)) * (1 + math.tanh(math.pi**2 - 2 * math.pi * x))
            Tp = self.T_pr * P
        return 0.5 + 0.5 * math.tanh(p.beta * (self.delta * p.w / 2 + p.T_c - (Tc + Tp)))

    def R(self, T: float) -> float:
        Tc = self.clamp(T)
        return self.p.R_0 * math.exp(self.p.Ea_over_k / Tc) * self.g(T) + self.p.R_m

    def reverse(self, T: float) -> None:
        Tc = self.clamp(T)
        g_r = self.g(T)
        self.delta, self.r, self.T_r, self.g_r = -self.delta, 1.0, Tc, g_r
        self.T_pr = self._tpr(self.delta, g_r, Tc)


def reference_frequency(p, *, v_in: float, r_load: float, C: float, T0: float, t_end: float,
                        t_settle: float) -> float:
    """Frequency [Hz] of C dV/dt = (V_in - V)/R_L - V/R, C_th dT/dt = V^2/R - S_e (T - T0) by Radau (rtol 1e-9)."""
    mem = _Memory(p, T0)
    db = 0.01  # K, reversal dead band of the published code

    def rhs(t, y):
        V, T = y
        R = mem.R(T)
        return [((v_in - V) / r_load - V / R) / C, (V * V / R - p.S_e * (T - T0)) / p.C_th]

    def dTdt(t, y):
        return rhs(t, y)[1]

    t, y = 0.0, np.array([0.0, T0])
    ts, vs = [0.0], [0.0]
    phase, T_ext = "track", None
    while t < t_end:
        if phase == "track":      # moving along delta: wait for the extremum of T
            ev = lambda t_, y_: dTdt(t_, y_)  # noqa: E731
            ev.direction = -mem.delta
        else:                     # past the extremum: wait for the dead-band crossing (or a turn back)
            ev = lambda t_, y_: mem.clamp(y_[1]) - (T_ext - mem.delta * db)  # noqa: E731
            ev.direction = -mem.delta
        ev.terminal = True
        back = lambda t_, y_: dTdt(t_, y_)  # noqa: E731
        back.direction = mem.delta
        back.terminal = phase == "wait"
        sol = solve_ivp(rhs, (t, t_end), y, method="Radau", rtol=1e-9, atol=[1e-9, 1e-9],
                        events=[ev, back] if phase == "wait" else [ev])
        ts.extend(sol.t[1:])
        vs.extend(sol.y[0, 1:])
        t, y = sol.t[-1], sol.y[:, -1].copy()
        if sol.status != 1:
            break
        if phase == "track":
            T_ext = mem.clamp(y[1])
            phase = "wait"
        elif sol.t_events[0].size:
            mem.reverse(y[1])
            phase = "track"
        else:
            phase = "track"
        # nudge past the event so it does not fire again at the restart point
        t = float(np.nextafter(t, np.inf))
    ts_a, vs_a = np.asarray(ts), np.asarray(vs)
    m = ts_a >= t_settle
    tt, vv = ts_a[m], vs_a[m]
    lvl = 0.5 * (vv.max() + vv.min())
    k = np.nonzero((vv[:-1] < lvl) & (vv[1:] >= lvl))[0]
    tc = tt[k] + (lvl - vv[k]) * (tt[k + 1] - tt[k]) / (vv[k + 1] - vv[k])
    assert tc.size >= 4
    return float((tc.size - 1) / (tc[-1] - tc[0]))


# ------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("v_in", [12.0, 14.0])
def test_zhang2024_matches_solve_ivp(v_in):
    p = get_parameters("zhang2024")
    f_ref = reference_frequency(p, v_in=v_in, r_load=RL_ZHANG, C=C_ZHANG, T0=T_ZHANG, t_end=40e-6, t_settle=12e-6)
    res = simulate(p, v_in=v_in, r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=T_ZHANG, duration=100e-6)
    f = float(res.frequency_hz[0])
    assert abs(f / f_ref - 1) < 5e-3, (f, f_ref)


def test_zhang2024_oscillation_points_and_dt_convergence():
    """Oscillates at V_in = 11..15 V, not at 9.96 V and 17 V; frequencies unchanged (< 1e-3) at dt/4."""
    p = get_parameters("zhang2024")
    v = np.array([9.96, 11.0, 12.0, 13.0, 14.0, 15.0, 17.0])
    kw = dict(v_in=v, r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=T_ZHANG, duration=120e-6)
    r1 = simulate(p, **kw)
    assert list(r1.oscillating) == [False, True, True, True, True, True, False]
    assert r1.frequency_hz[0] == 0.0 and r1.frequency_hz[-1] == 0.0
    r4 = simulate(p, dt=r1.dt_s / 4, **kw)
    assert list(r4.oscillating) == list(r1.oscillating)
    f1, f4 = r1.frequency_hz[1:-1], r4.frequency_hz[1:-1]
    assert np.all(np.abs(f1 / f4 - 1) < 1e-3), (f1, f4)
    assert np.all(np.diff(f4) > 0)  # frequency rises with V_in inside the window


def test_vo2x_onset_lower_and_faster_than_vo2():
    """Seed-paper claim (Li et al. 2024): VO2-x neurons operate at lower voltage and spike faster than VO2."""
    c = dict(r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=300.0)
    w = {n: oscillation_window(get_parameters(n), n_refine=2, **c) for n in ("vo2", "vo2x")}
    for n in w:
        assert math.isfinite(w[n].lower) and w[n].upper > w[n].lower
    assert w["vo2x"].lower < w["vo2"].lower - w["vo2"].tolerance - w["vo2x"].tolerance
    fmax = {}
    for n in w:
        vs = np.linspace(w[n].lower, w[n].upper, 18)[1:-1]
        tc = transfer_curve(get_parameters(n), parameter="v_in", values=vs, v_in=1.0, **c)
        fmax[n] = float(tc.frequency_hz.max())
    assert fmax["vo2x"] > fmax["vo2"], fmax


def test_energy_balance_against_trace_quadrature():
    """Counters: source = device + load + Delta(C V^2/2) within 1 %, and each counter equals an independent
    trapezoidal quadrature of the recorded waveforms within 1 %."""
    p = get_parameters("zhang2024")
    r = simulate(p, v_in=13.0, r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=T_ZHANG, duration=40e-6,
                 dt=0.5e-9, record=[0])
    lhs = r.source_energy_j[0]
    rhs = r.device_energy_j[0] + r.load_energy_j[0] + r.capacitor_energy_change_j[0]
    assert abs(lhs / rhs - 1) < 1e-2
    tr = r.trace
    t = np.append(tr.t, r.duration_s)
    V = np.append(tr.V[0], r.final.V[0])
    I_dev = np.append(tr.I[0], np.nan)
    e_src = np.trapezoid(13.0 * (13.0 - V) / RL_ZHANG, t)
    e_load = np.trapezoid((13.0 - V) ** 2 / RL_ZHANG, t)
    e_dev = np.sum(V[:-1] * I_dev[:-1] * np.diff(t))  # left-point rule: R is frozen over each step
    assert abs(r.source_energy_j[0] / e_src - 1) < 1e-2
    assert abs(r.load_energy_j[0] / e_load - 1) < 1e-2
    assert abs(r.device_energy_j[0] / e_dev - 1) < 1e-2
    # per spike: a steady period stores no net capacitor energy
    n = r.neuron(0)
    assert abs(n.energy_per_spike_j / (n.device_energy_per_spike_j + n.load_energy_per_spike_j) - 1) < 1e-2


def test_brian2_electrothermal_with_minor_loops_matches_kernel():
    """Brian2 (numpy target, forward Euler at 1 ns) on the same equations, minor-loop memory included.

    Measured: -0.09 / -0.13 / -0.37 % at 11 / 13 / 15 V (dt 1 ns), -0.01 / -0.05 / -0.06 % at dt 0.25 ns: the
    difference is Euler's O(dt) error, shrinking with dt.
    """
    b2 = pytest.importorskip("brian2")
    from vo2neuro.circuits.brian2_model import build_et_network

    p = get_parameters("zhang2024")
    vin, dur, t_set = np.array([11.0, 13.0, 15.0]), 30e-6, 10e-6
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    _, net, _, mon = build_et_network(p, v_in=vin, r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=T_ZHANG, dt=1e-9)
    net.run(dur * b2.second)
    f_b2 = []
    for ts in mon.spike_trains().values():
        ts = np.asarray(ts / b2.second)
        ts = ts[ts > t_set]
        f_b2.append((ts.size - 1) / (ts[-1] - ts[0]))
    ref = simulate(p, v_in=vin, r_load=RL_ZHANG, capacitance=C_ZHANG, ambient=T_ZHANG, duration=dur, dt=0.25e-9,
                   settle=t_set).frequency_hz
    np.testing.assert_allclose(f_b2, ref, rtol=5e-3)
