"""Batched Numba kernels of the oscillator / neuron circuits (private).

One kernel call advances N independent neurons (``prange`` over neurons, time loop inside, so each neuron's state
stays in registers). Pure functions over floats, arrays and NamedTuples; arrays named ``st_*`` (state), ``acc``
(counters) and ``trace`` are updated in place, nothing else is mutated and nothing is allocated per step.

Node equation (both device models), with J = V_in G_L (voltage drive) or J = I_in (current drive)::

    C dV/dt = J - V (G_L + 1/R)          ->   V(t) = V_inf + (V_0 - V_inf) exp(-t/tau),
    V_inf = J/(G_L + 1/R),  tau = C/(G_L + 1/R)                 (R frozen over the interval)

The integrals of V and V^2 over each interval are taken in closed form, so the energy counters satisfy the
balance E_src = E_dev + E_load + Delta(C V^2/2) to round-off for the discrete trajectory.

* Electro-thermal device: R = R(T_{n+1/2}, H_n) from :mod:`vo2neuro.device._kernels`, evaluated at the
  extrapolated mid-step temperature T_{n+1/2} = T_n + (T_n - T_{n-1})/2 and frozen over the step; the node is
  advanced exactly, then the thermal node relaxes exactly under the step-mean Joule power (1/dt) int V^2/R dt
  (energy-consistent splitting), then ``hyst_update``. Second order in dt overall (see :func:`run_et`; the
  regression tests measure < 5e-4 frequency change between the default dt and dt/16).
* PWL switch: event driven inside each step; a leg ends exactly at the threshold crossing
  t* = tau ln((V_inf - V_0)/(V_inf - V_target)), so the period equals the closed form of vo2_physics.md
  section 8 to round-off.

Randomness: a splitmix64 stream per neuron seeded from (seed, neuron index, stream id), independent of the
number of threads.
"""
from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

from vo2neuro.circuits._vmath import _fma, vexp, vexpm1, vsin
from vo2neuro.device._kernels import (
    g_of,
    hyst_init,
    rng_next,
    rng_normal,
    t_pr_of,
)
from vo2neuro.device.params import DeviceKernelParams

# ---------------------------------------------------------------------------------------------- counters
# Columns of the per-neuron counter array ``acc`` (shape (N, NACC)); O(N) memory whatever the duration.
A_ESRC, A_EDEV, A_ELOAD = 0, 1, 2          # energies since the start of the run [J]
A_NSP = 3                                  # spikes at t >= t_settle
A_TFIRST, A_TLAST = 4, 5                   # first / last spike time at t >= t_settle [s]
A_ISI, A_ISI2 = 6, 7                       # sum of ISIs [s] and of their squares [s^2] (settled spikes)
A_ESRC_F, A_EDEV_F, A_ELOAD_F = 8, 9, 10   # energies at the first settled spike [J]
A_ESRC_L, A_EDEV_L, A_ELOAD_L = 11, 12, 13  # energies at the last settled spike [J]
A_NSP_ALL = 14                             # all spikes
A_VMAX_SUM, A_VMIN_SUM = 15, 16            # sums of V at the settled switching events [V]
A_TREF_SUM, A_NREF = 17, 18                # metallic-phase durations (spike -> return) sum [s], count
A_TFIRE = 19                               # time of the latest spike [s] (-1: none)
A_VEXT, A_TEXT = 20, 21                    # running extremum of V [V] and its time [s] (detector memory)
NACC = 22

# Columns of the trace array (shape (n_rec, n_samples, NTR)).
TR_V, TR_I, TR_T, TR_R, TR_ISRC = 0, 1, 2, 3, 4
NTR = 5

_GOLD = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def neuron_seed(seed: np.uint64, i: int, stream: int) -> np.uint64:
    """Seed of the splitmix64 stream ``stream`` of neuron ``i`` under master ``seed`` (thread independent)."""
    s = np.uint64(seed) * np.uint64(0xD1B54A32D192ED03) + np.uint64(i + 1) * _GOLD + np.uint64(stream) * np.uint64(
        0x8CB92BA72F3D8DD7)
    s, _ = rng_next(s)
    s, _ = rng_next(s)
    return s


@njit(cache=True, parallel=True)
def draw_normals(seed: np.uint64, stream: int, n: int, out: np.ndarray) -> None:
    """Fill ``out[i, :]`` with standard normals from neuron i's stream (D2D draws; thread independent)."""
    m = out.shape[1]
    for i in prange(n):
        s = neuron_seed(seed, i, stream)
        for j in range(m):
            s, z = rng_normal(s)
            out[i, j] = z


@njit(cache=True, inline="always")
def leg(V0: float, Vinf: float, tau: float, t: float) -> tuple[float, float, float]:
    r"""Exact linear-RC leg: V(t), :math:`\int_0^t V\,ds` [V s] and :math:`\int_0^t V^2 ds` [V^2 s].

    V(s) = V_inf + a e^{-s/tau}, a = V_0 - V_inf; uses expm1 so that t << tau keeps full precision.
    """
    x = t / tau
    e1 = -math.expm1(-x)
    e2 = -math.expm1(-2.0 * x)
    a = V0 - Vinf
    V1 = Vinf + a * (1.0 - e1)
    iV = Vinf * t + a * tau * e1
    iV2 = Vinf * Vinf * t + 2.0 * Vinf * a * tau * e1 + 0.5 * a * a * tau * e2
    return V1, iV, iV2


@njit(cache=True, inline="always")
def energies(acc: np.ndarray, i: int, mode: int, u: float, gL: float, R: float, t: float, iV: float,
              iV2: float) -> float:
    """Add one interval's source, device and load energies [J]; return the device energy [J]."""
    edev = iV2 / R
    if mode == 0:
        acc[i, A_ESRC] += u * gL * (u * t - iV)
        acc[i, A_ELOAD] += gL * (u * u * t - 2.0 * u * iV + iV2)
    else:
        acc[i, A_ESRC] += u * iV
        acc[i, A_ELOAD] += gL * iV2
    acc[i, A_EDEV] += edev
    return edev


@njit(cache=True, inline="always")
def on_spike(acc: np.ndarray, i: int, ts: float, V: float, t_settle: float) -> None:
    """Spike (insulator-to-metal switching) bookkeeping at time ts [s], node voltage V [V]."""
    acc[i, A_NSP_ALL] += 1.0
    if ts >= t_settle:
        if acc[i, A_NSP] == 0.0:
            acc[i, A_TFIRST] = ts
            acc[i, A_ESRC_F] = acc[i, A_ESRC]
            acc[i, A_EDEV_F] = acc[i, A_EDEV]
            acc[i, A_ELOAD_F] = acc[i, A_ELOAD]
        else:
            isi = ts - acc[i, A_TLAST]
            acc[i, A_ISI] += isi
            acc[i, A_ISI2] += isi * isi
        acc[i, A_TLAST] = ts
        acc[i, A_ESRC_L] = acc[i, A_ESRC]
        acc[i, A_EDEV_L] = acc[i, A_EDEV]
        acc[i, A_ELOAD_L] = acc[i, A_ELOAD]
        acc[i, A_NSP] += 1.0
        acc[i, A_VMAX_SUM] += V
    acc[i, A_TFIRE] = ts


@njit(cache=True, inline="always")
def on_return(acc: np.ndarray, i: int, tr: float, V: float, t_settle: float) -> None:
    """Return to the insulating state (metal-to-insulator switching) at tr [s], node voltage V [V]."""
    tf = acc[i, A_TFIRE]
    if tf >= t_settle:
        acc[i, A_TREF_SUM] += tr - tf
        acc[i, A_NREF] += 1.0
        acc[i, A_VMIN_SUM] += V


@njit(cache=True)
def detect(acc: np.ndarray, i: int, t: float, V: float, falling: float, dv: float, t_settle: float) -> float:
    r"""Switching events from the node voltage (peak/trough detector with hysteresis ``dv`` [V]).

    In a relaxation oscillator the insulator-to-metal switch is the maximum of the node voltage (the device
    current overtakes the charging current) and the metal-to-insulator switch its minimum. A maximum is
    confirmed (spike at its time, with its voltage) once V has fallen ``dv`` below it, a minimum once V has
    risen ``dv`` above it; ``falling`` (0/1) says which extremum is being tracked. Returns the new ``falling``.
    """
    if falling < 0.5:
        if V > acc[i, A_VEXT]:
            acc[i, A_VEXT] = V
            acc[i, A_TEXT] = t
        elif V < acc[i, A_VEXT] - dv:
            on_spike(acc, i, acc[i, A_TEXT], acc[i, A_VEXT], t_settle)
            acc[i, A_VEXT] = V
            acc[i, A_TEXT] = t
            return 1.0
    else:
        if V < acc[i, A_VEXT]:
            acc[i, A_VEXT] = V
            acc[i, A_TEXT] = t
        elif V > acc[i, A_VEXT] + dv:
            on_return(acc, i, acc[i, A_TEXT], acc[i, A_VEXT], t_settle)
            acc[i, A_VEXT] = V
            acc[i, A_TEXT] = t
            return 0.0
    return falling


@njit(cache=True)
def device_variant(p: DeviceKernelParams, r0_factor: float, tc_shift: float, noise: float) -> DeviceKernelParams:
    """The device of one neuron: R_0 scaled by ``r0_factor`` [-], T_c shifted by ``tc_shift`` [K], noise sigma."""
    return DeviceKernelParams(p.T_c + tc_shift, p.w, p.beta, p.gamma, p.R_0 * r0_factor, p.Ea_over_k, p.R_m,
                              p.C_th, p.S_e, p.T_min, p.T_max, p.deadband, p.pf_coeff, noise)


#: Rows of a device-parameter table ``ptab`` (NP, M): the DeviceKernelParams fields in order; column ``i`` is
#: neuron i's base device when M = N, or every neuron's when M = 1.
NP = len(DeviceKernelParams._fields)


@njit(cache=True, inline="always")
def table_column(ptab: np.ndarray, i: int) -> int:
    """Column of neuron ``i`` in a (NP, 1) or (NP, N) table."""
    return i if ptab.shape[1] > 1 else 0


@njit(cache=True, inline="always")
def table_params(ptab: np.ndarray, c: int, r0_factor: float, tc_shift: float) -> DeviceKernelParams:
    """Device of one neuron from column ``c`` of the table, with its D2D R_0 factor [-] and T_c shift [K]."""
    c = int(c)   # a parfor index may arrive as a float
    return DeviceKernelParams(ptab[0, c] + tc_shift, ptab[1, c], ptab[2, c], ptab[3, c], ptab[4, c] * r0_factor,
                              ptab[5, c], ptab[6, c], ptab[7, c], ptab[8, c], ptab[9, c], ptab[10, c], ptab[11, c],
                              ptab[12, c], ptab[13, c])


# ---------------------------------------------------------------------------------------------- electro-thermal
_PI = math.pi
_PI2 = math.pi * math.pi
_TPR_GUARD = 1e-6  # K; as vo2neuro.device._kernels.g_of
# 1 + tanh(z) rounds to exactly 0 in float64 for z below this (1 - tanh|z| = 2 e^{-2|z|} < 2^-54): the
# proximity window is then exactly 0 (the SIMD stage masks it there).
_TANH_ZERO = -19.2
#: Neurons advanced in lock-step by one thread (electro-thermal kernel): the per-step chain of dependent
#: transcendentals (exp -> 1/R -> expm1 -> T) is latency bound for one neuron; staged loops over a block of
#: independent neurons compile to SIMD code (vectorisable exp/sin of ``circuits._vmath``) and keep the vector
#: units busy. 32 measured best: 16 was 6 % slower at N = 1e4, 64 equal at large N and slower at N = 100.
ET_BLOCK = 32


@njit(cache=True)
def _inv_den(T_pr: float) -> float:
    """1/T_pr with the guard of ``device._kernels.g_of`` [1/K]."""
    den = T_pr
    if abs(den) < _TPR_GUARD:
        den = _TPR_GUARD if den >= 0.0 else -_TPR_GUARD
    return 1.0 / den


@njit(cache=True, error_model="numpy")
def _et_block(i0: int, nb: int, n_steps: int, dt: float, t0: float, mode: int, drive: np.ndarray, stride: int,
              g_load: np.ndarray, cap: np.ndarray, ambient: np.ndarray, ptab: np.ndarray,
              r0_factor: np.ndarray, tc_shift: np.ndarray, dv_detect: float, t_settle: float,
              st_V: np.ndarray, st_T: np.ndarray, st_Tprev: np.ndarray, st_h: np.ndarray,
              st_falling: np.ndarray, st_rng: np.ndarray, acc: np.ndarray, rec_row: np.ndarray, rec_every: int,
              trace: np.ndarray) -> None:
    """Neurons i0 .. i0+nb-1 of :func:`run_et` (nb <= ET_BLOCK), state in block-local arrays.

    Every block-local array has ET_BLOCK lanes; lanes nb .. ET_BLOCK-1 replicate neuron i0 so that the
    arithmetic stages run branch-free over a fixed trip count (SIMD); they are never written back.
    """
    B = ET_BLOCK
    # one work array, a row per variable: rows share one base pointer, so LLVM proves the stage loops free of
    # aliasing and vectorises them (separate allocations would need more run-time alias checks than it makes)
    W = np.empty((45, B))
    V, T, Tp, vext, text, falling = W[0], W[1], W[2], W[3], W[4], W[5]     # node, thermal, detector state
    delta, r, T_r, g_r, T_pr, T_last = W[6], W[7], W[8], W[9], W[10], W[11]  # hysteresis memory
    es, ed, el = W[12], W[13], W[14]                                         # energy counters [J]
    C, dt_C, gL, T0, R_0, T_c = W[15], W[16], W[17], W[18], W[19], W[20]     # per-neuron constants
    b_off, inv_den = W[21], W[22]          # delta w/2 + T_c [K] and 1/T_pr [1/K] (change at reversals)
    u, J = W[23], W[24]                    # drive sample [V or A], injected current at V = 0 [A]
    ul = W[25]                             # source voltage across the load (voltage drive) or 0 (current drive)
    src_a, src_b = W[26], W[27]            # source power = src_a + src_b V [W]
    Rn, Rd = W[28], W[29]                  # device resistance over the step = Rn / Rd [Ohm]
    ev = W[30]                             # detector event this step: +1 spike, -1 return, 0 none
    rev = W[31]                            # memory: +-1 reversal to that branch this step, else 0
    Tn = W[32]                             # clamped end-of-step temperature [K]
    # per-neuron device parameters (one device for all, or one per neuron: sweeps over device parameters)
    beta, gamma, EaK, R_m, pf, db = W[33], W[34], W[35], W[36], W[37], W[38]
    inv_Se, half_w, a_th, sd_th, T_min, T_max = W[39], W[40], W[41], W[42], W[43], W[44]
    ncol = drive.shape[1]
    nsamp = drive.shape[0]
    rng = np.empty(B, dtype=np.uint64)
    row = np.empty(B, dtype=np.int64)
    col = np.empty(B, dtype=np.int64)
    any_rec = False
    for j in range(B):
        i = i0 + j if j < nb else i0
        V[j] = st_V[i]
        T[j] = st_T[i]
        Tp[j] = st_Tprev[i]
        delta[j] = st_h[0, i]
        r[j] = st_h[1, i]
        T_r[j] = st_h[2, i]
        g_r[j] = st_h[3, i]
        T_pr[j] = st_h[4, i]
        T_last[j] = st_h[5, i]
        falling[j] = st_falling[i]
        rng[j] = st_rng[i]
        C[j] = cap[i]
        dt_C[j] = dt / cap[i]
        gL[j] = g_load[i]
        T0[j] = ambient[i]
        row[j] = rec_row[i] if j < nb else -1
        if row[j] >= 0:
            any_rec = True
        col[j] = i if ncol > 1 else 0
        vext[j] = acc[i, A_VEXT]
        text[j] = acc[i, A_TEXT]
        es[j] = acc[i, A_ESRC]
        ed[j] = acc[i, A_EDEV]
        el[j] = acc[i, A_ELOAD]
        pj = table_params(ptab, table_column(ptab, i), r0_factor[i], tc_shift[i])   # as device_variant
        R_0[j] = pj.R_0
        T_c[j] = pj.T_c
        half_w[j] = pj.w * 0.5
        b_off[j] = delta[j] * half_w[j] + T_c[j]
        inv_den[j] = _inv_den(T_pr[j])
        T_min[j] = pj.T_min
        T_max[j] = pj.T_max
        beta[j] = pj.beta
        gamma[j] = pj.gamma
        EaK[j] = pj.Ea_over_k
        R_m[j] = pj.R_m
        pf[j] = pj.pf_coeff
        db[j] = pj.deadband
        inv_Se[j] = 1.0 / pj.S_e
        a_th[j] = math.exp(-dt * pj.S_e / pj.C_th)          # thermal_step's decay factor
        sd_th[j] = 0.0
        if pj.noise_sigma > 0.0:
            sd_th[j] = pj.noise_sigma / math.sqrt(2.0 * pj.C_th * pj.S_e) * math.sqrt(1.0 - a_th[j] * a_th[j])
    any_pf = False
    any_noise = False
    for j in range(B):
        any_pf = any_pf or pf[j] > 0.0
        any_noise = any_noise or sd_th[j] > 0.0
    inv_dt = 1.0 / dt
    kk = 0
    ks = 0
    for k in range(n_steps):
        if k == 0 or ks == stride:  # next drive sample (counter instead of a division per step)
            if k > 0:
                ks = 0
                if kk < nsamp - 1:
                    kk += 1
            for j in range(B):
                uj = drive[kk, col[j]]
                u[j] = uj
                if mode == 0:   # voltage source through R_L: P_src = u gL (u - V)
                    J[j] = uj * gL[j]
                    ul[j] = uj
                    src_a[j] = uj * uj * gL[j]
                    src_b[j] = -uj * gL[j]
                else:           # current source: P_src = u V
                    J[j] = uj
                    ul[j] = 0.0
                    src_a[j] = 0.0
                    src_b[j] = uj
        ks += 1
        t = t0 + k * dt
        # stage 1 (SIMD): spike detector state machine (:func:`detect`); an event is only flagged here
        n_ev = 0
        for j in range(B):
            Vj = V[j]
            fall = falling[j] > 0.5
            up = Vj > vext[j]
            down = Vj < vext[j]
            e = 0.0
            if not fall and not up and Vj < vext[j] - dv_detect:
                e = 1.0
            if fall and not down and Vj > vext[j] + dv_detect:
                e = -1.0
            ev[j] = e
            n_ev += e != 0.0
            track = (up and not fall) or (down and fall)
            vext[j] = Vj if track else vext[j]
            text[j] = t if track else text[j]
        # stage 1b (scalar, rare): bookkeeping of the flagged events at the extremum found before this step
        for j in range(nb if n_ev > 0 else 0):
            if ev[j] != 0.0:
                i = i0 + j
                if ev[j] > 0.0:
                    acc[i, A_ESRC] = es[j]
                    acc[i, A_EDEV] = ed[j]
                    acc[i, A_ELOAD] = el[j]
                    on_spike(acc, i, text[j], vext[j], t_settle)
                    falling[j] = 1.0
                else:
                    on_return(acc, i, text[j], vext[j], t_settle)
                    falling[j] = 0.0
                vext[j] = V[j]
                text[j] = t
        # stage 2 (SIMD): R(T_mid, H) = R_0 e^{Ea/kT} g + R_m at the extrapolated mid-step temperature, with the
        # proximity window of the minor loops (device._kernels.g_of, resistance); vexp/vsin vectorise.
        # Divisions cost as much as a polynomial in SIMD code, so quotients share reciprocals: 1/T and the
        # window's logistic 1/(1 + e^{-2z}) come from one division, and R is kept as the fraction Rn/Rd
        # (g = 1/(1 + q), R = (R_0 e^{Ea/kT} + R_m (1 + q)) / (1 + q)) for stage 3.
        for j in range(B):
            Tc = _fma(0.5, T[j] - Tp[j], T[j])
            Tc = min(max(Tc, T_min[j]), T_max[j])
            x = (Tc - T_r[j]) * inv_den[j]
            z = _fma(-2.0 * _PI, x, _PI2)
            z = max(z, _TANH_ZERO)   # 1 + tanh(z) = 2 logistic(z) is 0 to double precision below
            dz = 1.0 + vexp(-2.0 * z)
            rr = 1.0 / (Tc * dz)
            inv_T = dz * rr
            px = T_pr[j] * ((1.0 - vsin(gamma[j] * x)) * (Tc * rr))   # T_pr (1 - sin)/2 (1 + tanh z)
            px = px if (r[j] > 0.5 and z > _TANH_ZERO) else 0.0
            y = beta[j] * (b_off[j] - (Tc + px))
            e = EaK[j] * inv_T
            if any_pf:
                e -= pf[j] * math.sqrt(abs(V[j])) * inv_T
            dq = 1.0 + vexp(-2.0 * y)
            Rn[j] = _fma(R_0[j], vexp(e), R_m[j] * dq)
            Rd[j] = dq
        if any_rec and k % rec_every == 0:
            s = k // rec_every
            for j in range(nb):
                rw = row[j]
                if rw >= 0:
                    trace[rw, s, TR_V] = V[j]
                    Rj = Rn[j] / Rd[j]
                    trace[rw, s, TR_I] = V[j] / Rj
                    trace[rw, s, TR_T] = T[j]
                    trace[rw, s, TR_R] = Rj
                    trace[rw, s, TR_ISRC] = (u[j] - V[j]) * gL[j] if mode == 0 else u[j]
        # stage 3 (SIMD): exact node leg (leg(), energies()), thermal node (thermal_step), dead-band test of the
        # memory (hyst_update)
        for j in range(B):
            # 1/R = Rd/Rn and 1/G = Rn/(gL Rn + Rd) from one division
            H = _fma(gL[j], Rn[j], Rd[j])
            rr = 1.0 / (Rn[j] * H)
            invR = Rd[j] * H * rr
            invG = Rn[j] * Rn[j] * rr
            G = gL[j] + invR
            Vinf = J[j] * invG
            tau = C[j] * invG
            e1 = -vexpm1(-dt_C[j] * G)
            e2 = e1 * (2.0 - e1)  # = 1 - e^{-2x}
            a = V[j] - Vinf
            V[j] = _fma(a, 1.0 - e1, Vinf)
            iV = _fma(Vinf, dt, a * tau * e1)
            iV2 = _fma(Vinf * Vinf, dt, _fma(2.0 * Vinf * a, tau * e1, 0.5 * a * a * tau * e2))
            edev = iV2 * invR
            es[j] += _fma(src_a[j], dt, src_b[j] * iV)
            el[j] += gL[j] * (ul[j] * ul[j] * dt - 2.0 * ul[j] * iV + iV2)
            ed[j] += edev
            Tj = T[j]
            Tp[j] = Tj
            T_inf = _fma(edev, inv_dt * inv_Se[j], T0[j])
            T[j] = _fma(Tj - T_inf, a_th[j], T_inf)
        if any_noise:
            for j in range(B):
                rs, xi = rng_normal(rng[j])
                rng[j] = rs
                T[j] += sd_th[j] * xi
        n_rev = 0
        for j in range(B):
            Tq = min(max(T[j], T_min[j]), T_max[j])
            Tn[j] = Tq
            dT = Tq - T_last[j]
            sgn = 1.0 if dT > 0.0 else -1.0
            moved = abs(dT) > db[j]
            reversal = moved and sgn != delta[j]
            rev[j] = sgn if reversal else 0.0
            n_rev += reversal
            T_last[j] = Tq if moved else T_last[j]
        # stage 4 (scalar, rare): reversal points of the memory
        for j in range(nb if n_rev > 0 else 0):
            sgn = rev[j]
            if sgn != 0.0:
                pj = table_params(ptab, table_column(ptab, i0 + j), r0_factor[i0 + j], tc_shift[i0 + j])
                g_r[j] = g_of(Tn[j], delta[j], r[j], T_r[j], T_pr[j], pj)
                T_pr[j] = t_pr_of(sgn, g_r[j], Tn[j], pj)
                delta[j] = sgn
                r[j] = 1.0
                T_r[j] = Tn[j]
                b_off[j] = sgn * half_w[j] + T_c[j]
                inv_den[j] = _inv_den(T_pr[j])
    for j in range(nb):
        i = i0 + j
        acc[i, A_ESRC] = es[j]
        acc[i, A_EDEV] = ed[j]
        acc[i, A_ELOAD] = el[j]
        acc[i, A_VEXT] = vext[j]
        acc[i, A_TEXT] = text[j]
        st_V[i] = V[j]
        st_T[i] = T[j]
        st_Tprev[i] = Tp[j]
        st_h[0, i] = delta[j]
        st_h[1, i] = r[j]
        st_h[2, i] = T_r[j]
        st_h[3, i] = g_r[j]
        st_h[4, i] = T_pr[j]
        st_h[5, i] = T_last[j]
        st_falling[i] = falling[j]
        st_rng[i] = rng[j]


@njit(cache=True, parallel=True)
def run_et(n_steps: int, dt: float, t0: float, mode: int, drive: np.ndarray, stride: int, g_load: np.ndarray,
           cap: np.ndarray, ambient: np.ndarray, ptab: np.ndarray, r0_factor: np.ndarray,
           tc_shift: np.ndarray, dv_detect: float, t_settle: float,
           st_V: np.ndarray, st_T: np.ndarray, st_Tprev: np.ndarray, st_h: np.ndarray, st_falling: np.ndarray,
           st_rng: np.ndarray, acc: np.ndarray, rec_row: np.ndarray, rec_every: int, trace: np.ndarray) -> None:
    r"""Advance N electro-thermal neurons by ``n_steps`` steps of ``dt`` [s] from time ``t0`` [s].

    Per step, R is frozen at its value at the extrapolated mid-step temperature
    :math:`T_{n+1/2} = T_n + (T_n - T_{n-1})/2` (memory H_n; second order in dt), then

    .. math::
        V_{n+1} = V_\infty + (V_n - V_\infty) e^{-dt/\tau_n},\quad
        T_{n+1} = T_\infty + (T_n - T_\infty) e^{-dt S_e/C_{th}},\ T_\infty = T_0 + \bar P/S_e,\
        \bar P = \frac{1}{dt}\int_{t_n}^{t_{n+1}} V^2/R_{n+1/2}\,dt

    (exact node leg, exact thermal relaxation for the step-mean Joule power, so the heat delivered to the thermal
    node equals the electrical energy dissipated), then the de Almeida memory update ``hyst_update``.
    Spikes: :func:`detect` on the node voltage at step starts.

    The step is the composition of ``device._kernels.resistance``, :func:`leg`, :func:`energies`,
    ``thermal_step``, ``hyst_update`` and :func:`detect` written out (:func:`_et_block`): per-neuron constants
    (thermal decay factor, branch offset, 1/T_pr) are computed once per run or per reversal, e^{-2x} of the leg
    is e1 (2 - e1), and a thread advances ``ET_BLOCK`` neurons in lock-step through short stages per step: the
    arithmetic stages (resistance with the proximity window, node leg, energies, thermal node, dead-band test)
    are branch-free SIMD loops with the vectorisable exp/expm1/sin of :mod:`vo2neuro.circuits._vmath`;
    the rare events (spike bookkeeping, reversal points) run in scalar loops only when flagged. Results agree
    with the step composed from the device primitives to 1e-9 (``tests/unit/circuits/test_et_kernel.py``).

    Shapes: ``drive`` (n_samples, 1 or N), sample k//stride; ``ptab`` (NP, 1 or N) device table (one device for
    all, or one per neuron; thermal noise sigma in its last row), to which the D2D ``r0_factor`` (R_0 x) and
    ``tc_shift`` (T_c +) apply; ``g_load``, ``cap``, ``ambient``, ``r0_factor``,
    ``tc_shift``, ``st_V``, ``st_T``, ``st_Tprev``, ``st_falling``, ``st_rng`` (N,); ``st_h`` (6, N) hysteresis
    memory (delta, r, T_r, g_r, T_pr, T_last); ``acc`` (N, NACC); ``rec_row`` (N,) trace row or -1; ``trace``
    (n_rec, n_samples, NTR).
    """
    N = st_V.shape[0]
    nblk = (N + ET_BLOCK - 1) // ET_BLOCK
    for b in prange(nblk):
        i0 = b * ET_BLOCK
        nb = min(ET_BLOCK, N - i0)
        _et_block(i0, nb, n_steps, dt, t0, mode, drive, stride, g_load, cap, ambient, ptab, r0_factor, tc_shift,
                  dv_detect, t_settle, st_V, st_T, st_Tprev, st_h, st_falling, st_rng, acc, rec_row,
                  rec_every, trace)


# ---------------------------------------------------------------------------------------------- PWL
_MAX_EVENTS_PER_STEP = 64


@njit(cache=True, inline="always")
def _pwl_event_step(i: int, t: float, dt: float, mode: int, u: float, J: float, gL: float, C: float, roff: float,
                    r_on: float, vth0: float, v_h: float, c2c_rel: float, t_settle: float, V: float, metal: float,
                    vth: float, rng: np.uint64, acc: np.ndarray) -> tuple[float, float, float, np.uint64]:
    """One step of ``dt`` [s] from time t [s] with threshold crossings solved exactly (energies into ``acc``).

    Returns (V, metal, vth, rng) at the step end.
    """
    t_done = 0.0
    for _ev in range(_MAX_EVENTS_PER_STEP):
        rem = dt - t_done
        if rem <= 0.0:
            break
        R = r_on if metal > 0.5 else roff
        G = gL + 1.0 / R
        Vinf = J / G
        tau = C / G
        tc = math.inf
        if metal < 0.5:
            if V >= vth:
                tc = 0.0
            elif Vinf > vth:
                tc = tau * math.log((Vinf - V) / (Vinf - vth))
        else:
            if V <= v_h:
                tc = 0.0
            elif Vinf < v_h:
                tc = tau * math.log((V - Vinf) / (v_h - Vinf))
        if tc <= rem:
            if tc > 0.0:
                _, iV, iV2 = leg(V, Vinf, tau, tc)
                energies(acc, i, mode, u, gL, R, tc, iV, iV2)
            t_done += tc
            te = t + t_done
            if metal < 0.5:
                V = vth if tc > 0.0 else V
                on_spike(acc, i, te, V, t_settle)
                metal = 1.0
                if c2c_rel > 0.0:
                    rng, xi = rng_normal(rng)
                    vth = vth0 * (1.0 + c2c_rel * xi)
            else:
                V = v_h if tc > 0.0 else V
                on_return(acc, i, te, V, t_settle)
                metal = 0.0
        else:
            V1, iV, iV2 = leg(V, Vinf, tau, rem)
            energies(acc, i, mode, u, gL, R, rem, iV, iV2)
            V = V1
            t_done = dt
    return V, metal, vth, rng


@njit(cache=True, inline="always")
def _steps_before_crossing(a: float, a_thr: float, q: float, x: float, cap: np.int64, falling: bool) -> np.int64:
    r"""Whole steps (at most ``cap``) a geometric leg a_j = a q^j takes before the step that crosses a_thr.

    The leg survives step j (a_{j+1} still short of the threshold) while a q^{j+1} < a_thr (rising leg,
    ``falling`` False) or a q^{j+1} > a_thr (falling leg). With rho = a_thr / a in (0, 1) the crossing step is the
    first j with q^{j+1} <= rho, so m = ceil(L) - 1 whole steps, L = ln(rho) / ln(q) = -ln(rho) / x with
    x = dt / tau [-]; otherwise (rho <= 0 or >= 1: V_inf on the near side of the threshold) the leg never
    crosses. The estimate is corrected against the discrete criterion so that round-off in L cannot skip or
    repeat a step.
    """
    if a == 0.0:
        return cap
    rho = a_thr / a
    if not (rho > 0.0 and rho < 1.0):
        return cap
    L = -math.log(rho) / x
    if L > cap + 1.0:
        return cap
    m = np.int64(math.ceil(L)) - 1
    if m < 0:
        m = np.int64(0)
    for _ in range(4):  # round-off corrections (at most one is ever needed)
        am = a * math.exp(-m * x)
        if m > 0 and ((am >= a_thr) if not falling else (am <= a_thr)):
            m -= 1
            continue
        a1 = am * q
        if m < cap and ((a1 < a_thr) if not falling else (a1 > a_thr)):
            m += 1
            continue
        break
    if m > cap:
        m = cap
    return m


@njit(cache=True, parallel=True)
def run_pwl(n_steps: int, dt: float, t0: float, mode: int, drive: np.ndarray, stride: int, g_load: np.ndarray,
            cap: np.ndarray, r_off: np.ndarray, r_on: float, v_th: np.ndarray, v_h: float, c2c_rel: float,
            t_settle: float, st_V: np.ndarray, st_metal: np.ndarray, st_vth: np.ndarray, st_rng: np.ndarray,
            acc: np.ndarray, rec_row: np.ndarray, rec_every: int, trace: np.ndarray) -> None:
    r"""Advance N PWL-switch neurons by ``n_steps`` steps of ``dt`` [s], event driven and exact.

    Inside a step the device is R_off (``st_metal`` 0) or R_on (1). The insulating leg ends when V reaches the
    current threshold ``st_vth`` (a spike; the next threshold is redrawn as ``v_th[i] (1 + c2c_rel xi)``), the
    metallic leg when V falls to ``v_h``; crossing times are solved in closed form
    (t* = tau ln((V_inf - V_0)/(V_inf - V_target))) and the step continues with the other resistance.

    Between events, with the drive constant, a leg is the geometric sequence a_{k+1} = q a_k for
    a = V - V_inf, q = e^{-dt/tau}: the number of whole steps before the step that crosses the threshold is
    found in closed form (:func:`_steps_before_crossing`) and the leg's voltage and energies over them come from
    one :func:`leg` call, so the cost is O(switching events + drive samples + trace samples), not O(steps);
    the crossing step goes through the exact event solver. Chunks end at drive-sample boundaries and trace
    samples.

    Shapes as in :func:`run_et`; ``r_off``, ``v_th`` (N,) per-neuron values (device-to-device variability).
    """
    N = st_V.shape[0]
    ncol = drive.shape[1]
    nsamp = drive.shape[0]
    for i in prange(N):
        col = np.int64(0)
        if ncol > 1:
            col = np.int64(i)
        V = st_V[i]
        metal = st_metal[i]
        vth = st_vth[i]
        vth0 = v_th[i]
        rng = st_rng[i]
        C = cap[i]
        gL = g_load[i]
        roff = r_off[i]
        row = rec_row[i]
        G_off = gL + 1.0 / roff
        G_on = gL + 1.0 / r_on
        tau_off = C / G_off
        tau_on = C / G_on
        q_off = math.exp(-dt / tau_off)
        q_on = math.exp(-dt / tau_on)
        es = acc[i, A_ESRC]
        ed = acc[i, A_EDEV]
        el = acc[i, A_ELOAD]
        k = np.int64(0)
        while k < n_steps:
            kk = k // stride
            seg_end = np.int64(n_steps)
            if kk >= nsamp - 1:
                kk = nsamp - 1
            else:
                seg_end = min(seg_end, (kk + 1) * stride)
            u = drive[kk, col]
            J = u * gL if mode == 0 else u
            if row >= 0:
                if k % rec_every == 0:
                    R = r_on if metal > 0.5 else roff
                    s = k // rec_every
                    trace[row, s, TR_V] = V
                    trace[row, s, TR_I] = V / R
                    trace[row, s, TR_T] = math.nan
                    trace[row, s, TR_R] = R
                    trace[row, s, TR_ISRC] = (u - V) * gL if mode == 0 else u
                seg_end = min(seg_end, (k // rec_every + 1) * rec_every)
            # steps k .. seg_end-1 without a crossing, in closed form: a_j = a q^j (a = V - V_inf), and the
            # leg survives step j when a q^(j+1) stays on the near side of a_thr = thr - V_inf.
            if metal > 0.5:
                G, tau, q, thr = G_on, tau_on, q_on, v_h
                ok = V > thr
            else:
                G, tau, q, thr = G_off, tau_off, q_off, vth
                ok = V < thr
            Vinf = J / G
            m = np.int64(0)
            if ok:
                m = _steps_before_crossing(V - Vinf, thr - Vinf, q, dt / tau, seg_end - k, metal > 0.5)
            if m > 0:
                span = m * dt
                V1, iV, iV2 = leg(V, Vinf, tau, span)
                ed += iV2 * (G - gL)
                if mode == 0:
                    es += u * gL * (u * span - iV)
                    el += gL * (u * u * span - 2.0 * u * iV + iV2)
                else:
                    es += u * iV
                    el += gL * iV2
                V = V1
                k += m
            if k < seg_end:  # a threshold is crossed in step k
                acc[i, A_ESRC] = es
                acc[i, A_EDEV] = ed
                acc[i, A_ELOAD] = el
                V, metal, vth, rng = _pwl_event_step(i, t0 + k * dt, dt, mode, u, J, gL, C, roff, r_on, vth0, v_h,
                                                     c2c_rel, t_settle, V, metal, vth, rng, acc)
                es = acc[i, A_ESRC]
                ed = acc[i, A_EDEV]
                el = acc[i, A_ELOAD]
                k += 1
        acc[i, A_ESRC] = es
        acc[i, A_EDEV] = ed
        acc[i, A_ELOAD] = el
        st_V[i] = V
        st_metal[i] = metal
        st_vth[i] = vth
        st_rng[i] = rng


@njit(cache=True, parallel=True)
def init_streams(seed: np.uint64, stream: int, out: np.ndarray) -> None:
    """``out[i]`` = seed of neuron i's stream ``stream`` (uint64, thread independent)."""
    for i in prange(out.shape[0]):
        out[i] = neuron_seed(seed, i, stream)


@njit(cache=True, parallel=True)
def init_hyst(ptab: np.ndarray, tc_shift: np.ndarray, ambient: np.ndarray, out: np.ndarray) -> None:
    """``out[:, i]``: hysteresis memory of neuron i at rest at its ambient on the heating branch (shape (6, N));
    ``ptab`` the (NP, 1 or N) device table."""
    for i in prange(ambient.shape[0]):
        h = hyst_init(ambient[i], 1.0, table_params(ptab, table_column(ptab, i), 1.0, tc_shift[i]))
        out[0, i] = h.delta
        out[1, i] = h.r
        out[2, i] = h.T_r
        out[3, i] = h.g_r
        out[4, i] = h.T_pr
        out[5, i] = h.T_last


def _serial_build(kernel, name: str):
    """A serial Numba build of ``kernel``'s Python function under its own name. Numba names a cache entry after
    the function's qualified name and line, not its compile options: a serial build of the same function object
    would share the parallel build's cache entry, and whichever compiled last would be loaded for both (the
    parallel kernel then ran on one thread)."""
    f = types.FunctionType(kernel.py_func.__code__, kernel.py_func.__globals__, name, kernel.py_func.__defaults__,
                           kernel.py_func.__closure__)
    f.__qualname__ = name
    f.__doc__ = kernel.py_func.__doc__
    # nogil: small independent simulations (the circuit derivations of a neuron map) can run on Python threads
    return njit(cache=True, nogil=True)(f)


# Serial builds of the same kernels (``prange`` runs as ``range``): used for small N, where waking the OpenMP
# team costs more than the work (milliseconds per call on a loaded 2-vCPU machine).
run_et_serial = _serial_build(run_et, "run_et_serial")
run_pwl_serial = _serial_build(run_pwl, "run_pwl_serial")

#: Below this many neurons the serial kernels are used.
SERIAL_MAX_N = 64
