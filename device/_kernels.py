"""Numba kernels of the lumped electro-thermal VO2 model (private).

Pure functions over floats, arrays and NamedTuples: no I/O, no allocation in the per-step functions, no
mutation of inputs except arrays explicitly named ``out_*``. The hysteresis memory of one device is the
6-tuple ``(delta, r, T_r, g_r, T_pr, T_last)`` of vo2_physics.md section 3.2 (de Almeida model as
implemented by Zhang et al.); batched callers keep it in per-device arrays.

Set ``NUMBA_DISABLE_JIT=1`` to run everything as plain Python (coverage, debugging).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from vo2neuro.device.params import DeviceKernelParams

_PI = math.pi
_ARTANH_CLIP = 1.0 - 1e-12
_TPR_GUARD = 1e-6  # K; keeps the proximity argument finite when T_pr -> 0 (public code adds 1e-6)


class HystState(NamedTuple):
    """Hysteresis memory of one device (vo2_physics.md section 3.2).

    delta : +1 heating branch, -1 cooling branch [-]
    r : 0 before the first reversal (major loop), 1 afterwards [-]
    T_r : temperature of the last reversal [K]
    g_r : insulating fraction at the last reversal [-]
    T_pr : minor-loop offset fixed at the last reversal [K]
    T_last : temperature at the last accepted change (dead-band filter) [K]
    """

    delta: float
    r: float
    T_r: float
    g_r: float
    T_pr: float
    T_last: float


@njit(cache=True)
def clamp_T(T: float, p: DeviceKernelParams) -> float:
    """Clamp T to the parameter set's validity range [K]."""
    if T < p.T_min:
        return p.T_min
    if T > p.T_max:
        return p.T_max
    return T


@njit(cache=True)
def proximity(x: float, gamma: float) -> float:
    """De Almeida proximity window P(x) = 1/2 (1 - sin(gamma x)) (1 + tanh(pi^2 - 2 pi x)) [-]."""
    return 0.5 * (1.0 - math.sin(gamma * x)) * (1.0 + math.tanh(_PI * _PI - 2.0 * _PI * x))


@njit(cache=True)
def g_major(T: float, delta: float, p: DeviceKernelParams) -> float:
    """Insulating fraction on the major branch ``delta`` (+1 heating, -1 cooling) at T [K]."""
    return 0.5 + 0.5 * math.tanh(p.beta * (delta * p.w * 0.5 + p.T_c - T))


@njit(cache=True)
def t_pr_of(delta: float, g_r: float, T_r: float, p: DeviceKernelParams) -> float:
    """Minor-loop offset T_pr = delta w/2 + T_c - artanh(2 g_r - 1)/beta - T_r [K]."""
    x = 2.0 * g_r - 1.0
    if x > _ARTANH_CLIP:
        x = _ARTANH_CLIP
    elif x < -_ARTANH_CLIP:
        x = -_ARTANH_CLIP
    return delta * p.w * 0.5 + p.T_c - math.atanh(x) / p.beta - T_r


@njit(cache=True)
def g_of(T: float, delta: float, r: float, T_r: float, T_pr: float, p: DeviceKernelParams) -> float:
    """Insulating (monoclinic) volume fraction g(T, H) in [0, 1] (vo2_physics.md eq. 3.1)."""
    Tp = 0.0
    if r > 0.5:
        den = T_pr
        if abs(den) < _TPR_GUARD:
            den = _TPR_GUARD if den >= 0.0 else -_TPR_GUARD
        Tp = T_pr * proximity((T - T_r) / den, p.gamma)
    return 0.5 + 0.5 * math.tanh(p.beta * (delta * p.w * 0.5 + p.T_c - (T + Tp)))


@njit(cache=True)
def r_insulating(T: float, V: float, p: DeviceKernelParams) -> float:
    """Arrhenius insulating resistance R_0 exp(Ea/kT) with optional Poole-Frenkel lowering [Ohm]."""
    Tc = clamp_T(T, p)
    expo = p.Ea_over_k / Tc
    if p.pf_coeff > 0.0:
        expo -= p.pf_coeff * math.sqrt(abs(V)) / Tc
    return p.R_0 * math.exp(expo)


@njit(cache=True)
def resistance(T: float, V: float, h: HystState, p: DeviceKernelParams) -> float:
    """Device resistance R(T, H) = R_ins(T, V) g(T, H) + R_m [Ohm]."""
    Tc = clamp_T(T, p)
    g = g_of(Tc, h.delta, h.r, h.T_r, h.T_pr, p)
    return r_insulating(Tc, V, p) * g + p.R_m


@njit(cache=True)
def hyst_init(T0: float, delta: float, p: DeviceKernelParams) -> HystState:
    """Memory of a device that has sat at T0 on branch ``delta`` (no reversal yet)."""
    Tc = clamp_T(T0, p)
    g_r = g_major(Tc, delta, p)
    return HystState(delta, 0.0, Tc, g_r, t_pr_of(delta, g_r, Tc, p), Tc)


@njit(cache=True)
def hyst_update(T: float, h: HystState, p: DeviceKernelParams) -> HystState:
    """Advance the hysteresis memory to the new temperature T [K] (reversal algorithm, section 3.2).

    A change of direction by more than the dead band records a reversal point (T_r, g_r) where g is
    continuous; the minor-loop curve then merges back into the major branch (reversal memory).
    """
    Tc = clamp_T(T, p)
    dT = Tc - h.T_last
    if abs(dT) <= p.deadband:
        return h
    s = 1.0 if dT > 0.0 else -1.0
    if s != h.delta:
        g_r = g_of(Tc, h.delta, h.r, h.T_r, h.T_pr, p)
        return HystState(s, 1.0, Tc, g_r, t_pr_of(s, g_r, Tc, p), Tc)
    return HystState(h.delta, h.r, h.T_r, h.g_r, h.T_pr, Tc)


@njit(cache=True)
def thermal_step(T: float, P: float, T0: float, dt: float, xi: float, p: DeviceKernelParams) -> float:
    r"""One step of C_th dT/dt = P - S_e (T - T0) + sigma eta(t), P frozen over the step [K].

    Exact for constant P: T' = T_inf + (T - T_inf) e^{-dt/tau_th}, T_inf = T0 + P/S_e, plus the exact
    Ornstein-Uhlenbeck increment of the noise, sd = sigma/sqrt(2 C_th S_e) * sqrt(1 - e^{-2 dt/tau_th}).
    """
    a = math.exp(-dt * p.S_e / p.C_th)
    T_inf = T0 + P / p.S_e
    Tn = T_inf + (T - T_inf) * a
    if p.noise_sigma > 0.0:
        Tn += p.noise_sigma / math.sqrt(2.0 * p.C_th * p.S_e) * math.sqrt(1.0 - a * a) * xi
    return Tn


# ---------------------------------------------------------------------------------------------- RNG
# A counter-free splitmix64 stream per device: deterministic whatever the number of threads.
@njit(cache=True)
def rng_next(state: np.uint64) -> tuple[np.uint64, float]:
    """Advance a splitmix64 state; return (new_state, uniform in (0, 1))."""
    s = np.uint64(state) + np.uint64(0x9E3779B97F4A7C15)
    z = s
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (float(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    return s, u


@njit(cache=True)
def rng_normal(state: np.uint64) -> tuple[np.uint64, float]:
    """Standard normal by Box-Muller from two splitmix64 uniforms."""
    state, u1 = rng_next(state)
    state, u2 = rng_next(state)
    return state, math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * _PI * u2)


# ---------------------------------------------------------------------------------------------- loops
@njit(cache=True)
def path_fraction(T_path: np.ndarray, h0: HystState, p: DeviceKernelParams,
                  out_g: np.ndarray, out_R: np.ndarray) -> HystState:
    """Quasi-static R(T) along a prescribed temperature path (R-T loops, minor loops).

    Fills ``out_g`` (insulating fraction) and ``out_R`` (zero-field resistance [Ohm]); returns the final memory.
    """
    h = h0
    for i in range(T_path.shape[0]):
        h = hyst_update(T_path[i], h, p)
        Tc = clamp_T(T_path[i], p)
        g = g_of(Tc, h.delta, h.r, h.T_r, h.T_pr, p)
        out_g[i] = g
        out_R[i] = r_insulating(Tc, 0.0, p) * g + p.R_m
    return h


@njit(cache=True)
def static_branch(T: np.ndarray, delta: float, ambient: float, pf_iterations: int, p: DeviceKernelParams,
                  out_V: np.ndarray, out_I: np.ndarray) -> None:
    """Steady state V(T), I(T) on the major branch ``delta`` (+1 heating, -1 cooling), filling ``out_V`` [V] and
    ``out_I`` [A]: V^2 = S_e (T - T_0) R(T, V), solved by damped fixed-point iteration when Poole-Frenkel is on
    (``p.pf_coeff > 0``)."""
    for i in range(T.shape[0]):
        t = T[i]
        h = hyst_init(t, delta, p)
        P = p.S_e * max(t - ambient, 0.0)
        R = resistance(t, 0.0, h, p)
        v = math.sqrt(P * R)
        if p.pf_coeff > 0.0:
            for _ in range(pf_iterations):
                R = resistance(t, v, h, p)
                v_new = math.sqrt(P * R)
                if abs(v_new - v) <= 1e-12 * max(1.0, v):
                    v = v_new
                    break
                v = 0.5 * (v + v_new)
        out_V[i] = v
        out_I[i] = v / R if R > 0.0 else 0.0


@njit(cache=True)
def series_transient(dt: float, v_src: np.ndarray, r_series: float, T0: float, T_init: float,
                     h0: HystState, p: DeviceKernelParams, seed: np.uint64,
                     out_T: np.ndarray, out_R: np.ndarray, out_V: np.ndarray,
                     out_I: np.ndarray) -> tuple[float, HystState]:
    """Device driven by a voltage source through a series resistor, no capacitance (a measurement set-up).

    V = V_src R/(R + R_s); P = V^2/R frozen over the step; exponential thermal step; then the reversal update.
    ``r_series = 0`` is a pure voltage drive. Samples at the start of each step; returns the final
    (temperature [K], memory).
    """
    T = T_init
    h = h0
    V = 0.0
    state = seed
    for i in range(v_src.shape[0]):
        R = resistance(T, V, h, p)
        V = v_src[i] * R / (R + r_series)
        I = V / R
        out_T[i] = T
        out_R[i] = R
        out_V[i] = V
        out_I[i] = I
        xi = 0.0
        if p.noise_sigma > 0.0:
            state, xi = rng_normal(state)
        T = thermal_step(T, V * I, T0, dt, xi, p)
        h = hyst_update(T, h, p)
    return T, h


@njit(cache=True)
def current_transient(dt: float, i_src: np.ndarray, T0: float, T_init: float, h0: HystState,
                      p: DeviceKernelParams, seed: np.uint64, out_T: np.ndarray, out_R: np.ndarray,
                      out_V: np.ndarray) -> tuple[float, HystState]:
    """Device driven by an ideal current source (no capacitance): V = I R(T, H)."""
    T = T_init
    h = h0
    V = 0.0
    state = seed
    for i in range(i_src.shape[0]):
        R = resistance(T, V, h, p)
        V = i_src[i] * R
        out_T[i] = T
        out_R[i] = R
        out_V[i] = V
        xi = 0.0
        if p.noise_sigma > 0.0:
            state, xi = rng_normal(state)
        T = thermal_step(T, V * i_src[i], T0, dt, xi, p)
        h = hyst_update(T, h, p)
    return T, h
