"""Numba kernels of a feed-forward network of electro-thermal VO2 oscillator neurons (private).

Every neuron is the Norton form of the Pearson-Anson circuit: supply current ``i_b = V_s/R_L`` and synaptic
current into the node capacitor ``C``, load ``R_L`` and the VO2 device across it. Synaptic input is
event-driven: a presynaptic spike adds its weight column (a current [A]) to the postsynaptic currents for
``pulse_steps`` circuit steps, then removes it, so the cost is O(events x fan-out), with no dense matrix
product per step. Images run in parallel (prange); every neuron has its own splitmix stream
(``circuits._kernels.neuron_seed``): stream 0 for its device-to-device draws, stream ``image + 1`` for noise.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vo2neuro.circuits._kernels import device_variant, neuron_seed
from vo2neuro.device import _kernels as K
from vo2neuro.device.params import DeviceKernelParams


@njit(cache=True)
def draw_d2d(n: int, seed: np.uint64, r_sigma_ln: float, tc_sigma: float, out_r0: np.ndarray,
             out_tc: np.ndarray) -> None:
    """Per-device R_0 factor exp(sigma_ln z) [-] and T_c shift sigma z [K], independent of threads and images."""
    for i in range(n):
        s = neuron_seed(seed, i, 0)  # stream 0: device draws; stream b + 1: noise of image b
        s, z1 = K.rng_normal(s)
        s, z2 = K.rng_normal(s)
        out_r0[i] = math.exp(r_sigma_ln * z1)
        out_tc[i] = tc_sigma * z2


@njit(cache=True, parallel=True)
def run_network(p: DeviceKernelParams, sizes: np.ndarray, weights_t: np.ndarray, w_offsets: np.ndarray,
                biases: np.ndarray, b_offsets: np.ndarray, in_currents: np.ndarray, i_supply: float,
                v_supply: float, r_load: float, capacitance: float, ambient: float, dt: float, n_steps: int,
                pulse_steps: int, r_switch: float, r0_factor: np.ndarray, tc_shift: np.ndarray, noise: float,
                tc_c2c_sigma: float, i_syn_max: float, seed: np.uint64, population: int, out_counts: np.ndarray, out_spikes: np.ndarray,
                out_energy: np.ndarray, out_first: np.ndarray, out_decision: np.ndarray) -> None:
    """Simulate ``in_currents.shape[0]`` images through the network.

    Parameters (SI)
    ----------
    sizes : (L + 1,) int
        Layer widths; ``sizes[0]`` is the input width of the first simulated layer (its currents are given).
    weights_t, w_offsets : flat float64, (L,) int
        Transposed weights of layers 2..L, ``W_l^T`` of shape (n_{l-1}, n_l), concatenated [A per spike].
    biases, b_offsets : flat float64, (L,) int
        Constant synaptic bias current of every simulated neuron [A] (layer 1's bias is inside in_currents).
    in_currents : (B, sizes[1])
        Constant synaptic current into layer 1 [A].
    i_supply, v_supply : supply bias current V_s/R_L [A] and supply voltage V_s [V]
    r_load, capacitance, ambient : circuit [Ohm, F, K]
    dt, n_steps, pulse_steps : circuit step [s], steps, synaptic pulse length [steps]
    r_switch : device resistance below which the device counts as metallic (spike detector) [Ohm]
    r0_factor, tc_shift : per simulated neuron (flattened over layers) D2D values
    noise : Langevin heat-flow noise sigma [W s^1/2] (C2C)
    i_syn_max : compliance of the synaptic driver: the total synaptic current into a node is capped here [A]
    (every node also has a clamp diode to ground, V >= 0)
    tc_c2c_sigma : C2C redraw of the transition temperature each time a device returns to insulating [K]
        (a new monoclinic domain configuration forms after every switch, Cheng et al., PNAS 2021)
    population : output neurons per class (the decision sums each class's population)

    Outputs
    -------
    out_counts : (B, sizes[-1]) spikes of the output layer
    out_spikes : (B, L) spikes per layer
    out_energy : (B, 4) supply, device, synaptic-driver energy [J], synaptic events [-]
    out_first : (B,) time of the first output spike [s] (inf if none)
    out_decision : (B,) time after which the running argmax of the class counts no longer changes [s]
    """
    n_img = in_currents.shape[0]
    L = sizes.shape[0] - 1
    n_tot = 0
    for l in range(L):
        n_tot += sizes[l + 1]
    g_load = 1.0 / r_load
    a_th = math.exp(-dt * p.S_e / p.C_th)
    sd_th = 0.0
    if noise > 0.0:
        sd_th = noise / math.sqrt(2.0 * p.C_th * p.S_e) * math.sqrt(1.0 - a_th * a_th)
    for b in prange(n_img):
        V = np.zeros(n_tot)
        T = np.full(n_tot, ambient)
        hd = np.empty(n_tot)
        hr = np.empty(n_tot)
        hTr = np.empty(n_tot)
        hgr = np.empty(n_tot)
        hTpr = np.empty(n_tot)
        hTl = np.empty(n_tot)
        armed = np.ones(n_tot, dtype=np.bool_)
        last = np.full(n_tot, -(10 ** 9), dtype=np.int64)
        isyn = np.zeros(n_tot)
        rng = np.empty(n_tot, dtype=np.uint64)
        tc_dyn = np.zeros(n_tot)
        for i in range(n_tot):
            pi = device_variant(p, r0_factor[i], tc_shift[i], p.noise_sigma)
            h = K.hyst_init(ambient, 1.0, pi)
            hd[i], hr[i], hTr[i], hgr[i], hTpr[i], hTl[i] = h.delta, h.r, h.T_r, h.g_r, h.T_pr, h.T_last
            rng[i] = neuron_seed(seed, i, b + 1)
        n_out = sizes[L]
        counts = np.zeros(n_out)
        lead = -1
        t_dec = 0.0
        t_first = math.inf
        e_sup = 0.0
        e_dev = 0.0
        e_syn = 0.0
        n_events = 0.0
        for k in range(n_steps):
            off = 0
            for l in range(L):
                n_l = sizes[l + 1]
                # expire the pulses of presynaptic spikes emitted pulse_steps ago (layers >= 2)
                if l > 0:
                    n_pre = sizes[l]
                    pre_off = off - n_pre
                    wo = w_offsets[l - 1]
                    for j in range(n_pre):
                        if last[pre_off + j] == k - pulse_steps:
                            for m in range(n_l):
                                isyn[off + m] -= weights_t[wo + j * n_l + m]
                bo = b_offsets[l]
                for m in range(n_l):
                    i = off + m
                    pi = device_variant(p, r0_factor[i], tc_shift[i] + tc_dyn[i], p.noise_sigma)
                    h = K.HystState(hd[i], hr[i], hTr[i], hgr[i], hTpr[i], hTl[i])
                    R = K.resistance(T[i], V[i], h, pi)
                    i_syn = biases[bo + m] + isyn[i]
                    if l == 0:
                        i_syn += in_currents[b, m]
                    if i_syn > i_syn_max:
                        i_syn = i_syn_max  # current compliance of the synaptic driver
                    g = 1.0 / R + g_load
                    v_inf = (i_supply + i_syn) / g
                    v_new = v_inf + (V[i] - v_inf) * math.exp(-dt * g / capacitance)
                    if v_new < 0.0:
                        # clamp diode to ground: strong inhibition must not drive the node negative, where the
                        # (bipolar) VO2 device would heat and switch on the reversed voltage
                        v_new = 0.0
                    P = v_new * v_new / R
                    e_dev += P * dt
                    e_sup += v_supply * (v_supply - v_new) * g_load * dt
                    e_syn += abs(i_syn) * v_supply * dt
                    T_inf = ambient + P / pi.S_e
                    Tn = T_inf + (T[i] - T_inf) * a_th
                    if sd_th > 0.0:
                        rng[i], xi = K.rng_normal(rng[i])
                        Tn += sd_th * xi
                    h = K.hyst_update(Tn, h, pi)
                    hd[i], hr[i], hTr[i], hgr[i], hTpr[i], hTl[i] = h.delta, h.r, h.T_r, h.g_r, h.T_pr, h.T_last
                    V[i] = v_new
                    T[i] = Tn
                    # spike detector: the device switches metallic (R falls through r_switch), re-armed on return
                    if armed[i] and R < r_switch:
                        armed[i] = False
                        out_spikes[b, l] += 1.0
                        if l < L - 1:
                            if k - last[i] < pulse_steps:
                                # a new spike while the previous pulse is still on: end that pulse first
                                wo0 = w_offsets[l]
                                n_nx = sizes[l + 2]
                                for q in range(n_nx):
                                    isyn[off + n_l + q] -= weights_t[wo0 + m * n_nx + q]
                            last[i] = k
                            n_next = sizes[l + 2]
                            wo = w_offsets[l]
                            n_events += n_next
                            for q in range(n_next):
                                isyn[off + n_l + q] += weights_t[wo + m * n_next + q]
                        else:
                            counts[m] += 1.0
                            if t_first == math.inf:
                                t_first = (k + 1) * dt
                    elif (not armed[i]) and R > 2.0 * r_switch:
                        armed[i] = True
                        if tc_c2c_sigma > 0.0:
                            rng[i], z = K.rng_normal(rng[i])
                            tc_dyn[i] = tc_c2c_sigma * z
                off += n_l
            # running decision: the class whose output population has spiked most so far
            best = -1
            bv = -1.0
            for c in range(n_out // population):
                s_c = 0.0
                for m in range(c * population, (c + 1) * population):
                    s_c += counts[m]
                if s_c > bv:
                    bv = s_c
                    best = c
            if bv > 0 and best != lead:
                lead = best
                t_dec = (k + 1) * dt
        for m in range(n_out):
            out_counts[b, m] = counts[m]
        out_energy[b, 0] = e_sup
        out_energy[b, 1] = e_dev
        out_energy[b, 2] = e_syn
        out_energy[b, 3] = n_events
        out_first[b] = t_first
        out_decision[b] = t_dec if lead >= 0 else math.inf
