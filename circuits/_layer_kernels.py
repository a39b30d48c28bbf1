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
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vo2neuro.circuits._kernels import device_variant, neuron_seed
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
