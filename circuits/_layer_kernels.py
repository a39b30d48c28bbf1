"""Numba kernel of one layer of VO2 oscillator neurons advanced by whole network steps (private).

The network kernels (:mod:`vo2neuro.circuits._network_kernels`) run a fully connected network inside one call,
with synaptic pulses that start at the circuit step of each spike. Networks whose connectivity is a graph of
tensor operations (convolutions, pooling, residual additions) are instead run layer by layer and step by step
by :mod:`vo2neuro.circuits.layer`: the synaptic current into each neuron is constant over a network step, and this
kernel advances every neuron of a layer through the ``n_sub`` circuit steps of each given network step.

Each neuron is the Norton form of the Pearson-Anson circuit (supply current ``i_b = V_s/R_L`` plus synaptic
current into the node capacitor ``C``, load ``R_L`` and the VO2 device across it), integrated exactly as the
reference network kernel :func:`vo2neuro.circuits._network_kernels.run_network` does: exponential node update
with the device resistance frozen over a step, clamp diode to ground, exact thermal step, hysteresis memory, spike
detector on the resistance with re-arming, cycle-to-cycle redraw of ``T_c`` on re-arming. Same random streams:
neuron ``i`` of image ``b`` uses ``circuits._kernels.neuron_seed(seed, i, b + 1)``.

Two kernels of the same step: :func:`advance_layer`, one neuron at a time (the reference), and
:func:`advance_layer_simd`, blocks of ``LAYER_BLOCK`` neurons in lock-step through the SIMD stages of
:func:`vo2neuro.circuits._network_kernels.run_network_simd` (the default of ``step_layer``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vo2neuro.circuits import _network_kernels as NK
from vo2neuro.circuits._kernels import _inv_den, device_variant, neuron_seed
from vo2neuro.device import _kernels as K
from vo2neuro.device.params import DeviceKernelParams


@njit(cache=True, parallel=True)
def init_layer(p: DeviceKernelParams, ambient: float, r0_factor: np.ndarray, tc_shift: np.ndarray, seed: np.uint64,
               first_index: int, image0: int, V: np.ndarray, T: np.ndarray, H: np.ndarray, armed: np.ndarray,
               tc_dyn: np.ndarray, rng: np.ndarray) -> None:
    """Rest state of ``V.shape = (B, N)`` neurons: uncharged node, device at the bath on its heating branch.

    ``H`` (6, B, N) holds the hysteresis memory (delta, r, T_r, g_r, T_pr, T_last); ``rng[b, i]`` the noise stream
    of neuron ``first_index + i`` of image ``image0 + b``."""
    B, N = V.shape
    for idx in prange(B * N):
        b = idx // N
        i = idx - b * N
        pi = device_variant(p, r0_factor[i], tc_shift[i], p.noise_sigma)
        h = K.hyst_init(ambient, 1.0, pi)
        V[b, i] = 0.0
        T[b, i] = ambient
        H[0, b, i], H[1, b, i], H[2, b, i] = h.delta, h.r, h.T_r
        H[3, b, i], H[4, b, i], H[5, b, i] = h.g_r, h.T_pr, h.T_last
        armed[b, i] = True
        tc_dyn[b, i] = 0.0
        rng[b, i] = neuron_seed(seed, first_index + i, image0 + b + 1)


@njit(cache=True, parallel=True)
def advance_layer(p: DeviceKernelParams, currents: np.ndarray, n_sub: int, dt: float, i_supply: float,
                  v_supply: float, r_load: float, capacitance: float, ambient: float, r_switch: float,
                  i_syn_max: float, tc_c2c_sigma: float, noise: float, r0_factor: np.ndarray, tc_shift: np.ndarray,
                  V: np.ndarray, T: np.ndarray, H: np.ndarray, armed: np.ndarray, tc_dyn: np.ndarray,
                  rng: np.ndarray, out_spikes: np.ndarray, out_energy: np.ndarray) -> None:
    """Advance the layer's neurons through ``S = currents.shape[0]`` network steps of ``n_sub`` circuit steps each.

    Parameters (SI)
    ----------
    currents : (S, B, N)
        Synaptic current into each neuron, constant over each network step [A]; capped at ``i_syn_max`` (the
        synaptic driver's compliance).
    n_sub, dt : circuit steps per network step [-] and circuit step [s]
    i_supply, v_supply : supply bias current V_s/R_L [A] and supply voltage V_s [V]
    r_load, capacitance, ambient : circuit [Ohm, F, K]
    r_switch : device resistance below which the device counts as metallic (spike detector) [Ohm]
    tc_c2c_sigma : cycle-to-cycle redraw of T_c on each return to insulating [K]
    noise : Langevin heat-flow noise sigma [W s^1/2]
    r0_factor, tc_shift : (N,) device-to-device R_0 factor [-] and T_c shift [K]
    V, T, H, armed, tc_dyn, rng : state (updated in place): node voltage [V], device temperature [K] (B, N),
        hysteresis memory (6, B, N), detector armed, C2C T_c shift [K], noise stream

    Outputs
    -------
    out_spikes : (S, B, N) spikes in each network step [-]
    out_energy : (B, N, 3) supply, device and synaptic-driver energy, accumulated [J]
    """
    S, B, N = currents.shape
    g_load = 1.0 / r_load
    a_th = math.exp(-dt * p.S_e / p.C_th)
    sd_th = 0.0
    if noise > 0.0:
        sd_th = noise / math.sqrt(2.0 * p.C_th * p.S_e) * math.sqrt(1.0 - a_th * a_th)
    for idx in prange(B * N):
        b = idx // N
        i = idx - b * N
        v = V[b, i]
        Tt = T[b, i]
        h = K.HystState(H[0, b, i], H[1, b, i], H[2, b, i], H[3, b, i], H[4, b, i], H[5, b, i])
        arm = armed[b, i]
        tdyn = tc_dyn[b, i]
        r = rng[b, i]
        es = 0.0
        ed = 0.0
        ey = 0.0
        pi = device_variant(p, r0_factor[i], tc_shift[i] + tdyn, p.noise_sigma)
        for s in range(S):
            i_syn = currents[s, b, i]
            if i_syn > i_syn_max:
                i_syn = i_syn_max
            n_spk = 0.0
            for _ in range(n_sub):
                R = K.resistance(Tt, v, h, pi)
                g = 1.0 / R + g_load
                v_inf = (i_supply + i_syn) / g
                v_new = v_inf + (v - v_inf) * math.exp(-dt * g / capacitance)
                if v_new < 0.0:
                    v_new = 0.0  # clamp diode to ground (as the network kernels)
                P = v_new * v_new / R
                ed += P * dt
                es += v_supply * (v_supply - v_new) * g_load * dt
                ey += abs(i_syn) * v_supply * dt
                T_inf = ambient + P / pi.S_e
                Tn = T_inf + (Tt - T_inf) * a_th
                if sd_th > 0.0:
                    r, xi = K.rng_normal(r)
                    Tn += sd_th * xi
                h = K.hyst_update(Tn, h, pi)
                v = v_new
                Tt = Tn
                if arm and R < r_switch:
                    arm = False
                    n_spk += 1.0
                elif (not arm) and R > 2.0 * r_switch:
                    arm = True
                    if tc_c2c_sigma > 0.0:
                        r, z = K.rng_normal(r)
                        tdyn = tc_c2c_sigma * z
                        pi = device_variant(p, r0_factor[i], tc_shift[i] + tdyn, p.noise_sigma)
            out_spikes[s, b, i] = n_spk
        V[b, i] = v
        T[b, i] = Tt
        H[0, b, i], H[1, b, i], H[2, b, i] = h.delta, h.r, h.T_r
        H[3, b, i], H[4, b, i], H[5, b, i] = h.g_r, h.T_pr, h.T_last
        armed[b, i] = arm
        tc_dyn[b, i] = tdyn
        rng[b, i] = r
        out_energy[b, i, 0] += es
        out_energy[b, i, 1] += ed
        out_energy[b, i, 2] += ey


# ---------------------------------------------------------------------------------------------- SIMD path
# advance_layer_simd runs the step of advance_layer on blocks of LAYER_BLOCK neurons in lock-step, with the staged
# SIMD arithmetic of circuits._network_kernels._image_simd (its row layout _W_* / _S_*, its exp and sin): the
# flat neuron f = b N + i of the (B, N) layer is lane f % LAYER_BLOCK of block f // LAYER_BLOCK. The drive is the
# network step's current (row _W_DRV, pulses row _W_ISYN stays 0); the rare events (reversal points of the memory,
# spikes, re-arming with its C2C redraw) run in scalar loops only when a lane flagged one.
#: Neurons advanced in lock-step by :func:`advance_layer_simd` (lanes of a block).
LAYER_BLOCK = 32


@njit(cache=True, error_model="numpy")
def _layer_block(f0: int, nb: int, p: DeviceKernelParams, currents: np.ndarray, n_sub: int, dt: float,
                 i_supply: float, v_supply: float, g_load: float, capacitance: float, ambient: float, r_switch: float,
                 i_syn_max: float, tc_c2c_sigma: float, sd_th: float, a_th: float, r0_factor: np.ndarray,
                 tc_shift: np.ndarray, V: np.ndarray, T: np.ndarray, H: np.ndarray, armed: np.ndarray,
                 tc_dyn: np.ndarray, rng: np.ndarray, out_spikes: np.ndarray, out_energy: np.ndarray) -> None:
    """Flat neurons ``f0 .. f0 + nb - 1`` of :func:`advance_layer_simd` (padding lanes repeat neuron ``f0``)."""
    LB = LAYER_BLOCK
    S, _, N = currents.shape
    W = np.zeros((1, NK._NW, LB))
    X = np.zeros((4, LB))          # detector event, reversal, heat-flow noise [K], spikes this network step
    evf, rev, nz, cnt = X[0], X[1], X[2], X[3]
    lb = np.empty(LB, dtype=np.int64)
    li = np.empty(LB, dtype=np.int64)
    lr = np.empty(LB, dtype=np.uint64)
    for j in range(LB):
        f = f0 + (j if j < nb else 0)
        b = f // N
        i = f - b * N
        lb[j], li[j], lr[j] = b, i, rng[b, i]
        W[0, NK._W_V, j], W[0, NK._W_T, j] = V[b, i], T[b, i]
        W[0, NK._W_HD, j], W[0, NK._W_HR, j], W[0, NK._W_HTR, j] = H[0, b, i], H[1, b, i], H[2, b, i]
        W[0, NK._W_HGR, j], W[0, NK._W_HTPR, j], W[0, NK._W_HTL, j] = H[3, b, i], H[4, b, i], H[5, b, i]
        W[0, NK._W_IDEN, j] = _inv_den(H[4, b, i])
        W[0, NK._W_TCD, j] = tc_dyn[b, i]
        W[0, NK._W_ARM, j] = 1.0 if armed[b, i] else 0.0
        W[0, NK._W_R0, j] = p.R_0 * r0_factor[i]
        W[0, NK._W_TCS, j] = tc_shift[i]
    dtc = dt / capacitance
    half_w = p.w * 0.5
    two_pi = 2.0 * math.pi
    pi2 = math.pi * math.pi
    any_pf = p.pf_coeff > 0.0
    inv_Se = 1.0 / p.S_e
    for s in range(S):
        for j in range(LB):
            W[0, NK._W_DRV, j] = currents[s, lb[j], li[j]]
            cnt[j] = 0.0
        for _ in range(n_sub):
            if sd_th > 0.0:
                for j in range(nb):   # the step's noise first, a C2C redraw at re-arming after (as advance_layer)
                    lr[j], xi = K.rng_normal(lr[j])
                    nz[j] = sd_th * xi
            _stage_resistance(W, p, half_w, two_pi, pi2, any_pf)
            n_rev, n_ev = _stage_node(W, evf, rev, nz, p, dt, dtc, i_supply, v_supply, g_load, ambient, r_switch,
                                      i_syn_max, a_th, inv_Se)
            for j in range(nb if n_rev > 0 else 0):
                if rev[j] != 0.0:
                    _reversal(W, j, rev[j], p, r0_factor[li[j]])
            for j in range(nb if n_ev > 0 else 0):
                if evf[j] > 0.0:
                    W[0, NK._W_ARM, j] = 0.0
                    cnt[j] += 1.0
                elif evf[j] < 0.0:
                    W[0, NK._W_ARM, j] = 1.0
                    if tc_c2c_sigma > 0.0:
                        lr[j], zz = K.rng_normal(lr[j])
                        W[0, NK._W_TCD, j] = tc_c2c_sigma * zz
        for j in range(nb):
            out_spikes[s, lb[j], li[j]] = cnt[j]
    for j in range(nb):
        b, i = lb[j], li[j]
        V[b, i], T[b, i] = W[0, NK._W_V, j], W[0, NK._W_T, j]
        H[0, b, i], H[1, b, i], H[2, b, i] = W[0, NK._W_HD, j], W[0, NK._W_HR, j], W[0, NK._W_HTR, j]
        H[3, b, i], H[4, b, i], H[5, b, i] = W[0, NK._W_HGR, j], W[0, NK._W_HTPR, j], W[0, NK._W_HTL, j]
        armed[b, i] = W[0, NK._W_ARM, j] > 0.5
        tc_dyn[b, i] = W[0, NK._W_TCD, j]
        rng[b, i] = lr[j]
        out_energy[b, i, 0] += W[0, NK._W_ES, j]
        out_energy[b, i, 1] += W[0, NK._W_ED, j]
        out_energy[b, i, 2] += W[0, NK._W_EY, j]


@njit(cache=True, error_model="numpy", inline="always")
def _stage_resistance(W: np.ndarray, p: DeviceKernelParams, half_w: float, two_pi: float, pi2: float,
                      any_pf: bool) -> None:
    """Stage 1a-1b over the lanes: R = Rn/Rd of every lane into rows _S_RN, _S_RD (device._kernels.resistance)."""
    LB = W.shape[2]
    n_px = 0
    for j in range(LB):
        Tt = min(max(W[0, NK._W_T, j], p.T_min), p.T_max)
        z = pi2 - two_pi * ((Tt - W[0, NK._W_HTR, j]) * W[0, NK._W_IDEN, j])
        n_px += W[0, NK._W_HR, j] > 0.5 and z > NK._TANH_ZERO
    if n_px > 0:   # the proximity window of a minor loop: 1/T and T_p from one division
        for j in range(LB):
            Tt = min(max(W[0, NK._W_T, j], p.T_min), p.T_max)
            x = (Tt - W[0, NK._W_HTR, j]) * W[0, NK._W_IDEN, j]
            z = max(pi2 - two_pi * x, NK._TANH_ZERO)
            dz = 1.0 + NK._exp(-2.0 * z)
            rr = 1.0 / (Tt * dz)
            Tp = W[0, NK._W_HTPR, j] * ((1.0 - NK._sin(p.gamma * x)) * (Tt * rr))
            W[0, NK._S_D, j] = Tp if (W[0, NK._W_HR, j] > 0.5 and z > NK._TANH_ZERO) else 0.0
            W[0, NK._S_C, j] = dz * rr
    else:
        for j in range(LB):
            W[0, NK._S_C, j] = 1.0 / min(max(W[0, NK._W_T, j], p.T_min), p.T_max)
            W[0, NK._S_D, j] = 0.0
    for j in range(LB):
        Tt = min(max(W[0, NK._W_T, j], p.T_min), p.T_max)
        T_cj = p.T_c + (W[0, NK._W_TCS, j] + W[0, NK._W_TCD, j])
        y = max(p.beta * (W[0, NK._W_HD, j] * half_w + T_cj - (Tt + W[0, NK._S_D, j])), NK._Y_MIN)
        W[0, NK._S_A, j] = -2.0 * y
        expo = p.Ea_over_k * W[0, NK._S_C, j]
        if any_pf:
            expo -= p.pf_coeff * math.sqrt(abs(W[0, NK._W_V, j])) * W[0, NK._S_C, j]
        W[0, NK._S_B, j] = expo
    for j in range(LB):
        W[0, NK._S_RD, j] = 1.0 + NK._exp(W[0, NK._S_A, j])
    for j in range(LB):
        W[0, NK._S_RN, j] = W[0, NK._W_R0, j] * NK._exp(W[0, NK._S_B, j]) + p.R_m * W[0, NK._S_RD, j]


@njit(cache=True, error_model="numpy", inline="always")
def _stage_node(W: np.ndarray, evf: np.ndarray, rev: np.ndarray, nz: np.ndarray, p: DeviceKernelParams, dt: float,
                dtc: float, i_supply: float, v_supply: float, g_load: float, ambient: float, r_switch: float,
                i_syn_max: float, a_th: float, inv_Se: float) -> tuple[int, int]:
    """Stage 1c-1e over the lanes: node step, energies, thermal node, memory dead band, detector flags;
    returns the numbers of lanes with a reversal and with a detector event."""
    LB = W.shape[2]
    for j in range(LB):
        Rn = W[0, NK._S_RN, j]
        Rd = W[0, NK._S_RD, j]
        Hs = g_load * Rn + Rd
        rr = 1.0 / (Rn * Hs)
        i_syn = min(W[0, NK._W_DRV, j] + W[0, NK._W_ISYN, j], i_syn_max)
        W[0, NK._S_C, j] = Rd * Hs * rr                        # 1/R
        W[0, NK._S_A, j] = (i_supply + i_syn) * (Rn * Rn * rr)  # v_inf = (i_b + i_syn) / (1/R + G_L)
        W[0, NK._S_B, j] = -dtc * (W[0, NK._S_C, j] + g_load)
        W[0, NK._S_D, j] = i_syn
    for j in range(LB):
        W[0, NK._S_B, j] = NK._exp(W[0, NK._S_B, j])
    n_ev = 0
    n_rev = 0
    for j in range(LB):
        v_inf = W[0, NK._S_A, j]
        v_new = max(v_inf + (W[0, NK._W_V, j] - v_inf) * W[0, NK._S_B, j], 0.0)  # clamp diode
        P = v_new * v_new * W[0, NK._S_C, j]
        W[0, NK._W_ED, j] += P * dt
        W[0, NK._W_ES, j] += v_supply * (v_supply - v_new) * g_load * dt
        W[0, NK._W_EY, j] += abs(W[0, NK._S_D, j]) * v_supply * dt
        T_inf = ambient + P * inv_Se
        Tn = T_inf + (W[0, NK._W_T, j] - T_inf) * a_th + nz[j]
        W[0, NK._W_T, j] = Tn
        W[0, NK._W_V, j] = v_new
        Tq = min(max(Tn, p.T_min), p.T_max)
        dT = Tq - W[0, NK._W_HTL, j]
        sgn = 1.0 if dT > 0.0 else -1.0
        moved = abs(dT) > p.deadband
        reversal = moved and sgn != W[0, NK._W_HD, j]
        rev[j] = sgn if reversal else 0.0
        n_rev += reversal
        W[0, NK._W_HTL, j] = Tq if moved else W[0, NK._W_HTL, j]
        Rn = W[0, NK._S_RN, j]
        Rd = W[0, NK._S_RD, j]
        up = W[0, NK._W_ARM, j] > 0.5
        f = 1.0 if (up and Rn < r_switch * Rd) else (-1.0 if ((not up) and Rn > 2.0 * r_switch * Rd) else 0.0)
        evf[j] = f
        n_ev += f != 0.0
    return n_rev, n_ev


@njit(cache=True)
def _reversal(W: np.ndarray, j: int, sgn: float, p: DeviceKernelParams, r0f: float) -> None:
    """Record a reversal point of lane ``j``'s memory at its last temperature (device._kernels.hyst_update)."""
    pi = device_variant(p, r0f, W[0, NK._W_TCS, j] + W[0, NK._W_TCD, j], p.noise_sigma)
    Tq = W[0, NK._W_HTL, j]
    g_r = K.g_of(Tq, W[0, NK._W_HD, j], W[0, NK._W_HR, j], W[0, NK._W_HTR, j], W[0, NK._W_HTPR, j], pi)
    W[0, NK._W_HTPR, j] = K.t_pr_of(sgn, g_r, Tq, pi)
    W[0, NK._W_IDEN, j] = _inv_den(W[0, NK._W_HTPR, j])
    W[0, NK._W_HGR, j] = g_r
    W[0, NK._W_HD, j] = sgn
    W[0, NK._W_HR, j] = 1.0
    W[0, NK._W_HTR, j] = Tq


@njit(cache=True, parallel=True)
def advance_layer_simd(p: DeviceKernelParams, currents: np.ndarray, n_sub: int, dt: float, i_supply: float,
                       v_supply: float, r_load: float, capacitance: float, ambient: float, r_switch: float,
                       i_syn_max: float, tc_c2c_sigma: float, noise: float, r0_factor: np.ndarray,
                       tc_shift: np.ndarray, V: np.ndarray, T: np.ndarray, H: np.ndarray, armed: np.ndarray,
                       tc_dyn: np.ndarray, rng: np.ndarray, out_spikes: np.ndarray, out_energy: np.ndarray) -> None:
    """:func:`advance_layer` written for SIMD: same arguments, state, random streams and outputs.

    The ``B N`` neurons run in blocks of ``LAYER_BLOCK`` lanes (prange over blocks) through the stages of
    :func:`vo2neuro.circuits._network_kernels.run_network_simd`. Differences from :func:`advance_layer`: rounding
    (a few ulp per exp/sin, shared reciprocals), which can move a switching event by a circuit step.
    """
    S, B, N = currents.shape
    M = B * N
    LB = LAYER_BLOCK
    a_th = math.exp(-dt * p.S_e / p.C_th)
    sd_th = 0.0
    if noise > 0.0:
        sd_th = noise / math.sqrt(2.0 * p.C_th * p.S_e) * math.sqrt(1.0 - a_th * a_th)
    for blk in prange((M + LB - 1) // LB):
        f0 = blk * LB
        _layer_block(f0, min(LB, M - f0), p, currents, n_sub, dt, i_supply, v_supply, 1.0 / r_load, capacitance,
                     ambient, r_switch, i_syn_max, tc_c2c_sigma, sd_th, a_th, r0_factor, tc_shift, V, T, H, armed,
                     tc_dyn, rng, out_spikes, out_energy)
