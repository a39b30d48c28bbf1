"""The SIMD network kernel (the default of simulate_network / hw-eval) against the scalar reference kernel.

The reference (``kernel="reference"``, circuits._network_kernels.run_network) composes the step from the device
primitives of vo2neuro.device._kernels one neuron at a time; the SIMD kernel writes the same step out in
vectorised stages over blocks of 32 neurons, with its own exp/sin, shared reciprocals and the first-layer neurons
laid out in the order of their drive. Same model and random streams, so the two must agree to rounding: the
tolerances below allow a switching event moved by a circuit step, nothing more. No timing here (the speed is
benchmarks/bench_hw_eval.py's business).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from vo2neuro.circuits.network import simulate_network
from vo2neuro.device import get_parameters
from vo2neuro.units import ParameterError

pytest.importorskip("torch")
from vo2neuro.snn.presets import circuit_neuron_for_preset  # noqa: E402

C, RL = 145.35e-12, 12e3


@pytest.fixture(scope="module")
def net():
    """A 3-layer network (70 -> 45 -> 12, population 3) of vo2x neurons with drives across the regimes: silent,
    oscillating, above the window (the widths are not multiples of the 32-neuron block: padding lanes)."""
    cn = circuit_neuron_for_preset("vo2x")
    rh = cn.params.rheobase
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.0, 2.5, (5, 70)) * rh
    W1 = rng.normal(0.3, 1.5, (45, 70)) * rh
    W2 = rng.normal(0.5, 2.0, (12, 45)) * rh
    kw = dict(i_supply=cn.i_bias_a, r_load=RL, capacitance=C, ambient=cn.ambient_k, window=12e-6,
              pulse=cn.params.dt, population=3, i_syn_max=cn.params.i_max)
    return cn, x, [W1, W2], [rng.normal(0, 0.2, 45) * rh, np.zeros(12)], kw


def _both(net, **extra):
    cn, x, W, b, kw = net
    dev = get_parameters("vo2x")
    return [simulate_network(dev, x, W, b, kernel=k, **kw, **extra) for k in ("simd", "reference")]


def _assert_agree(s, r, count_tol=1, total_rtol=0.01, energy_rtol=1e-3):
    # the network fires (else the comparison is empty) in every layer
    assert np.all(r.spikes_per_layer.sum(0) > 20), r.spikes_per_layer
    assert np.max(np.abs(s.counts - r.counts)) <= count_tol
    np.testing.assert_allclose(s.spikes_per_layer.sum(0), r.spikes_per_layer.sum(0), rtol=total_rtol)
    for name in ("supply_energy_j", "device_energy_j", "synapse_driver_energy_j"):
        np.testing.assert_allclose(getattr(s, name), getattr(r, name), rtol=energy_rtol, err_msg=name)
    np.testing.assert_allclose(s.synaptic_events, r.synaptic_events, rtol=total_rtol)


def test_simd_kernel_matches_the_reference_with_device_spread(net):
    s, r = _both(net, r_ins_sigma_ln=0.1, t_c_sigma=1.5, seed=3)
    _assert_agree(s, r)
    # first output spike and decision time: the same step, or one step apart
    fin = np.isfinite(r.first_spike_s)
    assert np.array_equal(fin, np.isfinite(s.first_spike_s))
    assert np.all(np.abs(s.first_spike_s[fin] - r.first_spike_s[fin]) <= 1.5 * r.dt_s)


def test_simd_kernel_matches_the_reference_with_cycle_to_cycle_noise(net):
    # thermal noise and C2C redraws of T_c draw from each neuron's stream in the same order in both kernels
    cn = net[0]
    s, r = _both(net, t_c_c2c_sigma=0.5, thermal_noise=1e-9, seed=5)
    _assert_agree(s, r, count_tol=2, total_rtol=0.03, energy_rtol=0.01)
    # the noise acts: without it the counts differ
    q = simulate_network(get_parameters("vo2x"), net[1], net[2], net[3], seed=5, **net[4])
    assert not np.array_equal(q.spikes_per_layer, s.spikes_per_layer)
    assert cn is not None


def test_first_layer_order_does_not_matter(net):
    # the SIMD kernel lays the first layer out sorted by drive and maps every neuron back to its weights, draws and
    # seeds: permuting the inputs (with the weight columns) without device spread must leave the outputs alone
    cn, x, W, b, kw = net
    dev = get_parameters("vo2x")
    perm = np.random.default_rng(1).permutation(x.shape[1])
    # first-layer neuron j of the permuted network is neuron perm[j] of the original; its fan-out columns follow
    a = simulate_network(dev, x, W, b, **kw)
    p = simulate_network(dev, x[:, perm], [W[0][:, perm], W[1]], b, **kw)
    assert np.array_equal(a.counts, p.counts)
    assert np.array_equal(a.spikes_per_layer, p.spikes_per_layer)
    np.testing.assert_allclose(a.energy_j, p.energy_j, rtol=1e-12)


def test_single_layer_rates_of_both_kernels_agree():
    # one layer of independent neurons over the oscillation window (the f-I curve of the circuit, checked against
    # the circuit simulator in test_snn_circuit.py): the two kernels count the same spikes
    cn = circuit_neuron_for_preset("vo2")
    i_tot = np.linspace(cn.i_lo_a * 1.1, cn.i_hi_a * 0.9, 40)
    runs = [simulate_network(get_parameters("vo2"), (i_tot - cn.i_bias_a)[None, :], [], [], i_supply=cn.i_bias_a,
                             r_load=RL, capacitance=C, ambient=cn.ambient_k, window=100e-6, pulse=cn.params.dt,
                             kernel=k) for k in ("simd", "reference")]
    assert runs[1].counts.min() >= 10
    assert np.max(np.abs(runs[0].counts - runs[1].counts)) <= 1


def test_unknown_kernel_is_refused(net):
    cn, x, W, b, kw = net
    with pytest.raises(ParameterError, match="kernel must be one of simd, reference"):
        simulate_network(get_parameters("vo2x"), x, W, b, kernel="fast", **kw)
    # hw_eval checks it with its other arguments, before reading the checkpoint
    from vo2neuro.snn.hardware import hw_eval

    with pytest.raises(ParameterError, match="kernel must be one of simd, reference"):
        hw_eval("no-such-checkpoint.pt", kernel="fast", progress=False)


def test_simd_exp_and_sin_against_the_math_library():
    # the kernel's own exp/sin (integer-free range reduction) over the ranges the step uses
    from numba import njit

    from vo2neuro.circuits._network_kernels import _exp, _sin

    @njit
    def ev(x):
        out = np.empty((2, x.size))
        for i in range(x.size):
            out[0, i] = _exp(x[i])
            out[1, i] = _sin(x[i])
        return out

    x = np.concatenate([np.linspace(-700.0, 700.0, 20001), np.linspace(-3.0, 3.0, 2001), [0.0, -0.0]])
    got = ev(x)
    exp_ref = np.array([math.exp(v) for v in x])
    sin_ref = np.array([math.sin(v) for v in x])
    assert np.max(np.abs(got[0] / exp_ref - 1.0)) < 1e-15
    assert np.max(np.abs(got[1] - sin_ref)) < 1e-15
    # clamped outside |x| <= 700, as circuits._vmath.vexp
    assert ev(np.array([-800.0]))[0, 0] == pytest.approx(math.exp(-700.0), rel=1e-15)
