"""Numba kernels of a feed-forward network of electro-thermal VO2 oscillator neurons (private).

Every neuron is the Norton form of the Pearson-Anson circuit: supply current ``i_b = V_s/R_L`` and synaptic
current into the node capacitor ``C``, load ``R_L`` and the VO2 device across it. Synaptic input is
event-driven: a presynaptic spike adds its weight column (a current [A]) to the postsynaptic currents for
``pulse_steps`` circuit steps, then removes it, so the cost is O(events x fan-out), with no dense matrix
product per step. Images run in parallel (prange); every neuron has its own splitmix stream
(``circuits._kernels.neuron_seed``): stream 0 for its device-to-device draws, stream ``image + 1`` for noise.

Two kernels of the same step: :func:`run_network`, one neuron at a time (the reference), and
:func:`run_network_simd`, a block of neurons in lock-step through SIMD stages (the default, about 8x faster;
``benchmarks/bench_hw_eval.py``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from vo2neuro.circuits._kernels import _inv_den, device_variant, neuron_seed
from vo2neuro.circuits._vmath import _LN2_HI, _LN2_LO, _LOG2E, _X_MAX, _expm1_poly, \
    _f64_from_bits, _fma, _sin_reduced
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
                tc_c2c_sigma: float, i_syn_max: float, seed: np.uint64, population: int, out_counts: np.ndarray,
                out_spikes: np.ndarray, out_energy: np.ndarray, out_first: np.ndarray,
                out_decision: np.ndarray) -> None:
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
                            if k - last[i] <= pulse_steps:
                                # a new spike while the previous pulse is still on (or ends this step, when the
                                # next layer's expiry test would no longer find it): end that pulse first
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
            best, bv = _leading_class(counts, n_out, population)
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


# ---------------------------------------------------------------------------------------------- SIMD path
#: Neurons of one layer advanced in lock-step by :func:`run_network_simd` (as ``circuits._kernels.ET_BLOCK``).
NET_BLOCK = 32
# Rows of the per-image state array (n_blocks, _NW, NET_BLOCK), indexed W[block, row, lane] in the stage loops: in a
# block, the rows lie at compile-time offsets from one base pointer, so LLVM proves the loops over the lanes free of
# aliasing and vectorises them (row views, taken per block and step, cost two atomic reference-count updates each;
# copying a block into a local array and back cost a quarter of the run time).
_W_V, _W_T, _W_HD, _W_HR, _W_HTR, _W_HGR, _W_HTPR, _W_HTL = 0, 1, 2, 3, 4, 5, 6, 7   # node, thermal, memory
_W_IDEN, _W_TCD, _W_ARM = 8, 9, 10     # 1/T_pr (guarded as g_of) [1/K], C2C T_c shift [K], detector armed
_W_ES, _W_ED, _W_EY = 11, 12, 13       # energies of the neuron: supply, device, synaptic driver [J]
_W_R0, _W_TCS, _W_DRV, _W_ISYN = 14, 15, 16, 17   # R_0 [Ohm], D2D T_c shift [K], constant drive, pulses [A]
# scratch rows of stage 1's loops, each reused along the stage: _S_A holds -2y then v_inf [V], _S_B Ea/kT then
# -dt g/C then its exponential, _S_C 1/T [1/K] then 1/R [S], _S_D the window's T_p [K] then the synaptic
# current [A], _S_RN and _S_RD R = Rn/Rd
_S_A, _S_B, _S_C, _S_D, _S_RN, _S_RD = 18, 19, 20, 21, 22, 23
_NW = 24
_PI = math.pi
_TANH_ZERO = -19.2  # 1 + tanh(z) is exactly 0 in float64 below (as circuits._kernels)
# Lower bound of the logistic's argument y of the insulating fraction g = 1/(1 + e^{-2y}): below it g < 1e-130, so
# R_ins g is below R_m by far more than double precision resolves, and Rn Rd stays finite [-].
_Y_MIN = -150.0


# ------------------------------------------------------------------ exp and sin without integer conversions
# circuits._vmath's vexp/vsin take the reduction's integer n by math.floor, a float -> int64 conversion that AVX2
# does not have for packed doubles, so LLVM splits the vector into scalars for it (measured: 52 scalar
# conversions in the stage loop). Here n is rounded by the 1.5 x 2^52 shifter, and read off the shifted value's
# bits with integer vector operations only. Same reductions and polynomials as circuits._vmath.
_SHIFT = 6755399441055744.0   # 1.5 x 2^52: x + _SHIFT rounds x to an integer held in the low mantissa bits
_SHIFT_BITS = 0x4338000000000000
_INV_PI = 1.0 / math.pi


@njit(cache=True, inline="always")
def _leading_class(counts: np.ndarray, n_out: int, population: int) -> tuple[int, float]:
    """``(class, spikes)`` of the output population with most spikes so far (ties to the lower class)."""
    best = -1
    bv = -1.0
    for c in range(n_out // population):
        s_c = 0.0
        for m in range(c * population, (c + 1) * population):
            s_c += counts[m]
        if s_c > bv:
            bv = s_c
            best = c
    return best, bv


@intrinsic
def _bits_of(typingctx, x):
    """The int64 with the bits of a float64 (LLVM bitcast; vectorisable)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@njit(cache=True, inline="always")
def _exp(x: float) -> float:
    """e^x for |x| <= 700 (clamped outside) [-], as circuits._vmath.vexp (a few ulp)."""
    x = min(max(x, -_X_MAX), _X_MAX)
    t = _fma(x, _LOG2E, _SHIFT)
    n = t - _SHIFT                     # nearest integer to x / ln 2
    r = _fma(-n, _LN2_LO, _fma(-n, _LN2_HI, x))
    scale = _f64_from_bits((_bits_of(t) - _SHIFT_BITS + 1023) << 52)
    return _fma(scale, _expm1_poly(r), scale)


@njit(cache=True, inline="always")
def _sin(x: float) -> float:
    """sin(x) for |x| <= 1e6 [-], as circuits._vmath.vsin: x = k pi + r, sin x = (-1)^k sin r."""
    t = _fma(x, _INV_PI, _SHIFT)
    k = t - _SHIFT
    s = _sin_reduced(x, k)
    return _f64_from_bits(_bits_of(s) ^ (((_bits_of(t) - _SHIFT_BITS) & 1) << 63))   # (-1)^k s


@njit(cache=True, error_model="numpy")
def _image_simd(b: int, p: DeviceKernelParams, sizes: np.ndarray, weights_t: np.ndarray, w_offsets: np.ndarray,
                biases: np.ndarray, b_offsets: np.ndarray, in_currents: np.ndarray, order: np.ndarray,
                i_supply: float, v_supply: float, r_load: float, capacitance: float, ambient: float, dt: float,
                n_steps: int, pulse_steps: int, r_switch: float, r0_factor: np.ndarray, tc_shift: np.ndarray,
                sd_th: float, a_th: float, tc_c2c_sigma: float, i_syn_max: float, seed: np.uint64, population: int,
                out_counts: np.ndarray, out_spikes: np.ndarray, out_energy: np.ndarray, out_first: np.ndarray,
                out_decision: np.ndarray) -> None:
    """Image ``b`` of :func:`run_network_simd`: the step of :func:`run_network` in stages over blocks of a layer."""
    B = NET_BLOCK
    L = sizes.shape[0] - 1
    n_tot = 0
    blk0 = np.zeros(L + 1, dtype=np.int64)   # first block of each layer
    for l in range(L):
        n_tot += sizes[l + 1]
        blk0[l + 1] = blk0[l] + (sizes[l + 1] + B - 1) // B
    W = np.zeros((blk0[L], _NW, B))
    X = np.zeros((3, B))              # this step's detector event, reversal and heat-flow noise [K] of a block
    evf, rev, nz = X[0], X[1], X[2]
    last = np.full(n_tot, -(10 ** 9), dtype=np.int64)
    rng = np.empty(n_tot, dtype=np.uint64)
    orig = np.empty(n_tot, dtype=np.int64)   # neuron index (of r0_factor, tc_shift, weights, seeds) at a position
    off = 0
    for l in range(L):
        n_l = sizes[l + 1]
        bo = b_offsets[l]
        for q in range((blk0[l + 1] - blk0[l]) * B):
            m = q if q < n_l else q - q % B  # a padding lane copies its block's first neuron, without drive
            o = off + (order[b, m] if l == 0 else m)
            Wb = W[blk0[l] + q // B]
            j = q % B
            pi = device_variant(p, r0_factor[o], tc_shift[o], p.noise_sigma)
            h = K.hyst_init(ambient, 1.0, pi)
            Wb[_W_HD, j], Wb[_W_HR, j], Wb[_W_HTR, j] = h.delta, h.r, h.T_r
            Wb[_W_HGR, j], Wb[_W_HTPR, j], Wb[_W_HTL, j] = h.g_r, h.T_pr, h.T_last
            Wb[_W_IDEN, j] = _inv_den(h.T_pr)
            Wb[_W_T, j] = ambient
            Wb[_W_R0, j] = p.R_0 * r0_factor[o]
            Wb[_W_TCS, j] = tc_shift[o]
            Wb[_W_ARM, j] = 1.0
            # constant synaptic drive: the first layer's input current (its bias is inside it), else the bias
            if q < n_l:
                Wb[_W_DRV, j] = in_currents[b, o] if l == 0 else biases[bo + m]
                rng[off + m] = neuron_seed(seed, o, b + 1)
                orig[off + m] = o
        off += n_l
    n_out = sizes[L]
    counts = np.zeros(n_out)
    lead = -1
    t_dec = 0.0
    t_first = math.inf
    n_events = 0.0
    g_load = 1.0 / r_load
    dtc = dt / capacitance
    half_w = p.w * 0.5
    two_pi = 2.0 * _PI
    pi2 = _PI * _PI
    any_pf = p.pf_coeff > 0.0
    inv_Se = 1.0 / p.S_e
    for k in range(n_steps):
        off = 0
        out_spiked = False
        for l in range(L):
            n_l = sizes[l + 1]
            if l > 0:
                # expire the pulses of presynaptic spikes emitted pulse_steps ago
                n_pre = sizes[l]
                pre_off = off - n_pre
                wo = w_offsets[l - 1]
                for jp in range(n_pre):
                    if last[pre_off + jp] == k - pulse_steps:
                        _add_pulse(W, blk0[l], weights_t, wo + (orig[pre_off + jp] - pre_off) * n_l, n_l, -1.0)
            for blk in range(blk0[l], blk0[l + 1]):
                m0 = (blk - blk0[l]) * B
                nb = min(B, n_l - m0)
                if sd_th > 0.0:
                    # this step's heat-flow noise, drawn before the stage (the stream order of run_network: the
                    # noise, then a C2C redraw at re-arming)
                    for j in range(nb):
                        rng[off + m0 + j], xi = K.rng_normal(rng[off + m0 + j])
                        nz[j] = sd_th * xi
                # the proximity window of the minor loops is non-zero only after a reversal (r = 1) and for
                # z > _TANH_ZERO: skipped (it is exactly 0) when no lane of the block needs it
                n_px = 0
                for j in range(B):
                    Tt = min(max(W[blk, _W_T, j], p.T_min), p.T_max)
                    z = pi2 - two_pi * ((Tt - W[blk, _W_HTR, j]) * W[blk, _W_IDEN, j])
                    n_px += W[blk, _W_HR, j] > 0.5 and z > _TANH_ZERO
                # stage 1 (SIMD): resistance R(T, H) (device._kernels.resistance), node step, energies, thermal
                # node, dead-band test of the hysteresis memory (device._kernels.hyst_update), spike detector.
                # Divisions cost as much as a polynomial in SIMD code, so quotients share reciprocals (as
                # circuits._kernels._et_block): 1/T and the window's logistic from one division, and
                # R = Rn/Rd (g = 1/Rd, Rd = 1 + e^{-2y}) with 1/R and 1/(1/R + G_L) from another.
                # The stage runs as short loops (1a-1e) that pass their intermediates through the scratch rows
                # _S_*: written as one loop, a lane's step is a chain of dependent exp, division, exp, division,
                # exp longer than the CPU's reorder window, so the independent chains of the lanes did not overlap
                # (latency bound); over short loops they do: 2.2-2.3x faster on the MNIST network, bit for bit the same
                # arithmetic (benchmarks/bench_hw_eval.py --baseline, docs/benchmarks.md).
                # 1a: 1/T and the window's offset T_p, then the exponents -2y of the logistic and Ea/kT of R_ins
                if n_px > 0:
                    for j in range(B):
                        Tt = min(max(W[blk, _W_T, j], p.T_min), p.T_max)
                        x = (Tt - W[blk, _W_HTR, j]) * W[blk, _W_IDEN, j]
                        z = max(pi2 - two_pi * x, _TANH_ZERO)
                        dz = 1.0 + _exp(-2.0 * z)
                        rr = 1.0 / (Tt * dz)
                        inv_T = dz * rr
                        prox = (1.0 - _sin(p.gamma * x)) * (Tt * rr)  # (1 - sin)/2 (1 + tanh z)
                        Tp = W[blk, _W_HTPR, j] * prox
                        W[blk, _S_D, j] = Tp if (W[blk, _W_HR, j] > 0.5 and z > _TANH_ZERO) else 0.0
                        W[blk, _S_C, j] = inv_T
                else:
                    for j in range(B):
                        W[blk, _S_C, j] = 1.0 / min(max(W[blk, _W_T, j], p.T_min), p.T_max)
                        W[blk, _S_D, j] = 0.0
                for j in range(B):
                    Tt = min(max(W[blk, _W_T, j], p.T_min), p.T_max)
                    T_cj = p.T_c + (W[blk, _W_TCS, j] + W[blk, _W_TCD, j])    # as device_variant
                    y = max(p.beta * (W[blk, _W_HD, j] * half_w + T_cj - (Tt + W[blk, _S_D, j])), _Y_MIN)
                    W[blk, _S_A, j] = -2.0 * y
                    expo = p.Ea_over_k * W[blk, _S_C, j]
                    if any_pf:
                        expo -= p.pf_coeff * math.sqrt(abs(W[blk, _W_V, j])) * W[blk, _S_C, j]
                    W[blk, _S_B, j] = expo
                # 1b: R = Rn / Rd with Rd = 1 + e^{-2y} (g = 1/Rd) and Rn = R_ins + R_m Rd
                for j in range(B):
                    W[blk, _S_RD, j] = 1.0 + _exp(W[blk, _S_A, j])
                for j in range(B):
                    W[blk, _S_RN, j] = W[blk, _W_R0, j] * _exp(W[blk, _S_B, j]) + p.R_m * W[blk, _S_RD, j]
                # 1c: 1/R and 1/(1/R + G_L) from one division, the node's target voltage
                for j in range(B):
                    Rn = W[blk, _S_RN, j]
                    Rd = W[blk, _S_RD, j]
                    H = g_load * Rn + Rd
                    rr = 1.0 / (Rn * H)
                    inv_R = Rd * H * rr
                    inv_G = Rn * Rn * rr
                    i_syn = min(W[blk, _W_DRV, j] + W[blk, _W_ISYN, j], i_syn_max)
                    g = inv_R + g_load
                    W[blk, _S_A, j] = (i_supply + i_syn) * inv_G
                    W[blk, _S_B, j] = -dtc * g
                    W[blk, _S_C, j] = inv_R
                    W[blk, _S_D, j] = i_syn
                # 1d: the node's decay factor over the step
                for j in range(B):
                    W[blk, _S_B, j] = _exp(W[blk, _S_B, j])
                # 1e: node step, energies, thermal node, memory dead band, detector
                n_ev = 0
                n_rev = 0
                for j in range(B):
                    v_inf = W[blk, _S_A, j]
                    inv_R = W[blk, _S_C, j]
                    v_new = max(v_inf + (W[blk, _W_V, j] - v_inf) * W[blk, _S_B, j], 0.0)  # clamp diode
                    P = v_new * v_new * inv_R
                    W[blk, _W_ED, j] += P * dt
                    W[blk, _W_ES, j] += v_supply * (v_supply - v_new) * g_load * dt
                    W[blk, _W_EY, j] += abs(W[blk, _S_D, j]) * v_supply * dt
                    T_inf = ambient + P * inv_Se
                    Tn = T_inf + (W[blk, _W_T, j] - T_inf) * a_th + nz[j]
                    W[blk, _W_T, j] = Tn
                    W[blk, _W_V, j] = v_new
                    Tq = min(max(Tn, p.T_min), p.T_max)
                    dT = Tq - W[blk, _W_HTL, j]
                    sgn = 1.0 if dT > 0.0 else -1.0
                    moved = abs(dT) > p.deadband
                    reversal = moved and sgn != W[blk, _W_HD, j]
                    rev[j] = sgn if reversal else 0.0
                    n_rev += reversal
                    W[blk, _W_HTL, j] = Tq if moved else W[blk, _W_HTL, j]
                    # spike detector: the device switches metallic (R falls through r_switch), re-armed on return
                    # (R < r_switch as Rn < r_switch Rd: no division)
                    Rn = W[blk, _S_RN, j]
                    Rd = W[blk, _S_RD, j]
                    up = W[blk, _W_ARM, j] > 0.5
                    f = 1.0 if (up and Rn < r_switch * Rd) else (-1.0 if ((not up) and Rn > 2.0 * r_switch * Rd)
                                                                  else 0.0)
                    evf[j] = f
                    n_ev += f != 0.0
                # stage 2 (scalar, rare): reversal points of the memory
                for j in range(nb if n_rev > 0 else 0):
                    sgn = rev[j]
                    if sgn != 0.0:
                        i = off + m0 + j
                        pi = device_variant(p, r0_factor[orig[i]], W[blk, _W_TCS, j] + W[blk, _W_TCD, j],
                                            p.noise_sigma)
                        Tq = W[blk, _W_HTL, j]
                        g_r = K.g_of(Tq, W[blk, _W_HD, j], W[blk, _W_HR, j], W[blk, _W_HTR, j], W[blk, _W_HTPR, j],
                                     pi)
                        W[blk, _W_HTPR, j] = K.t_pr_of(sgn, g_r, Tq, pi)
                        W[blk, _W_IDEN, j] = _inv_den(W[blk, _W_HTPR, j])
                        W[blk, _W_HGR, j] = g_r
                        W[blk, _W_HD, j] = sgn
                        W[blk, _W_HR, j] = 1.0
                        W[blk, _W_HTR, j] = Tq
                # stage 3 (scalar, rare): spikes (event-driven synapses) and re-arming
                for j in range(nb if n_ev > 0 else 0):
                    f = evf[j]
                    i = off + m0 + j
                    if f > 0.0:
                        m = orig[i] - off
                        W[blk, _W_ARM, j] = 0.0
                        out_spikes[b, l] += 1.0
                        if l < L - 1:
                            n_nx = sizes[l + 2]
                            row = w_offsets[l] + m * n_nx
                            if k - last[i] <= pulse_steps:
                                # the previous pulse is still on (or ends this step): end it first
                                _add_pulse(W, blk0[l + 1], weights_t, row, n_nx, -1.0)
                            last[i] = k
                            n_events += n_nx
                            _add_pulse(W, blk0[l + 1], weights_t, row, n_nx, 1.0)
                        else:
                            counts[m] += 1.0
                            out_spiked = True
                            if t_first == math.inf:
                                t_first = (k + 1) * dt
                    elif f < 0.0:
                        W[blk, _W_ARM, j] = 1.0
                        if tc_c2c_sigma > 0.0:
                            rng[i], zz = K.rng_normal(rng[i])
                            W[blk, _W_TCD, j] = tc_c2c_sigma * zz
            off += n_l
        if out_spiked:
            # running decision: the class whose output population has spiked most so far (changes only here)
            best, bv = _leading_class(counts, n_out, population)
            if bv > 0 and best != lead:
                lead = best
                t_dec = (k + 1) * dt
    for m in range(n_out):
        out_counts[b, m] = counts[m]
    e_sup = 0.0
    e_dev = 0.0
    e_syn = 0.0
    for l in range(L):
        for blk in range(blk0[l], blk0[l + 1]):
            for j in range(min(B, sizes[l + 1] - (blk - blk0[l]) * B)):
                e_sup += W[blk, _W_ES, j]
                e_dev += W[blk, _W_ED, j]
                e_syn += W[blk, _W_EY, j]
    out_energy[b, 0] = e_sup
    out_energy[b, 1] = e_dev
    out_energy[b, 2] = e_syn
    out_energy[b, 3] = n_events
    out_first[b] = t_first
    out_decision[b] = t_dec if lead >= 0 else math.inf


@njit(cache=True)
def _add_pulse(W: np.ndarray, blk: int, weights_t: np.ndarray, row: int, n: int, sign: float) -> None:
    """Add ``sign`` x the weight row ``weights_t[row:row + n]`` to the synaptic currents of the layer at ``blk``."""
    B = NET_BLOCK
    for qb in range((n + B - 1) // B):
        base = row + qb * B
        for j in range(min(B, n - qb * B)):
            W[blk + qb, _W_ISYN, j] += sign * weights_t[base + j]


@njit(cache=True, parallel=True)
def run_network_simd(p: DeviceKernelParams, sizes: np.ndarray, weights_t: np.ndarray, w_offsets: np.ndarray,
                     biases: np.ndarray, b_offsets: np.ndarray, in_currents: np.ndarray, order: np.ndarray,
                     i_supply: float, v_supply: float, r_load: float, capacitance: float, ambient: float, dt: float,
                     n_steps: int, pulse_steps: int, r_switch: float, r0_factor: np.ndarray, tc_shift: np.ndarray,
                     noise: float, tc_c2c_sigma: float, i_syn_max: float, seed: np.uint64, population: int,
                     out_counts: np.ndarray, out_spikes: np.ndarray, out_energy: np.ndarray, out_first: np.ndarray,
                     out_decision: np.ndarray) -> None:
    """:func:`run_network` written for SIMD: same model, arguments and random streams, plus ``order``.

    ``order`` (B, sizes[1]) int: per image, the first-layer neurons in the order they are laid out in the blocks
    (:func:`vo2neuro.circuits.network.simulate_network` sorts them by drive, so that a block holds neurons in one
    regime and the proximity window is skipped in blocks that need it nowhere). Those neurons are independent
    (constant drive, no input spikes), so the order changes nothing but rounding of the energy sums.

    Per step, every layer is advanced in blocks of ``NET_BLOCK`` neurons: the arithmetic (resistance with the
    proximity window, node step, energies, thermal node, dead-band test of the memory) runs in branch-free loops
    over a block with exp/sin written for SIMD (:func:`_exp`, :func:`_sin`; tanh through exp), split into short
    loops with one exp or division each, so that the out-of-order core overlaps the lanes' chains; the rare events
    (spikes, re-arming, reversal points) run in scalar loops only when the stage flagged one. Differences from
    :func:`run_network`: rounding (a few ulp per exp/sin/tanh, per-neuron energy sums, reciprocals shared), which
    can move a switching event by a circuit step. Measured on the 784-800-40 MNIST network of
    ``benchmarks/bench_hw_eval.py``: identical spike counts on every image checked.
    """
    n_img = in_currents.shape[0]
    a_th = math.exp(-dt * p.S_e / p.C_th)
    sd_th = 0.0
    if noise > 0.0:
        sd_th = noise / math.sqrt(2.0 * p.C_th * p.S_e) * math.sqrt(1.0 - a_th * a_th)
    for b in prange(n_img):
        _image_simd(b, p, sizes, weights_t, w_offsets, biases, b_offsets, in_currents, order, i_supply, v_supply,
                    r_load, capacitance, ambient, dt, n_steps, pulse_steps, r_switch, r0_factor, tc_shift, sd_th, a_th,
                    tc_c2c_sigma, i_syn_max, seed, population, out_counts, out_spikes, out_energy, out_first,
                    out_decision)
