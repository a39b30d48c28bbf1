"""The staged SIMD network kernel on a wide first layer that spans every regime, against the scalar reference.

``run_network_simd`` advances a block of 32 neurons through short loops (stage 1a-1e) that hand their
intermediates over in scratch rows; ``run_network`` composes the same step from the device primitives one neuron
at a time. Here the first layer is several blocks wide (the last one partly padding) and its drives cover the
clamped node (the synaptic current pulls the node below ground), the sub-threshold relaxation, the oscillation
window and the latched device above it, and deeper layers are driven by spikes. Poole-Frenkel conduction switches on
the branch of stage 1a that uses the node voltage. The two kernels must agree to rounding (a switching event moved by
a circuit step at most). No timing here (benchmarks/bench_hw_eval.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vo2neuro.circuits.network import simulate_network
from vo2neuro.device import get_parameters

pytest.importorskip("torch")
from vo2neuro.snn.presets import circuit_neuron_for_preset  # noqa: E402

C, RL = 145.35e-12, 12e3


@pytest.fixture(scope="module")
def wide():
    """A 150 -> 24 -> 8 network of vo2x neurons; first-layer drives in four regimes, in a shuffled order."""
    cn = circuit_neuron_for_preset("vo2x")
    rh, i_max, i_b = cn.params.rheobase, cn.params.i_max, cn.i_bias_a
    rng = np.random.default_rng(11)
    regimes = [rng.uniform(-2.0 * i_b, -1.1 * i_b, 15),   # node clamped at ground (diode)
               rng.uniform(-0.9 * i_b, 0.8 * rh, 45),     # sub-threshold: relaxes, never switches
               rng.uniform(1.3 * rh, 0.95 * i_max, 75),   # oscillation window
               rng.uniform(1.2 * i_max, 3.0 * i_max, 15)]  # above the window (capped at i_max): latched
    x = np.stack([rng.permutation(np.concatenate(regimes)) for _ in range(3)])
    W1 = rng.normal(0.2, 1.0, (24, 150)) * rh
    W2 = rng.normal(0.5, 2.0, (8, 24)) * rh
    kw = dict(i_supply=i_b, r_load=RL, capacitance=C, ambient=cn.ambient_k, window=12e-6, pulse=cn.params.dt,
              population=2, i_syn_max=i_max, r_ins_sigma_ln=0.05, t_c_sigma=1.0, seed=2)
    return x, [W1, W2], [rng.normal(0, 0.2, 24) * rh, np.zeros(8)], kw


def _run(dev, wide, kernel):
    x, W, b, kw = wide
    return simulate_network(dev, x, W, b, kernel=kernel, **kw)


def _assert_agree(s, r):
    assert np.all(r.spikes_per_layer.sum(0) > 20), r.spikes_per_layer   # every layer fires
    assert np.max(np.abs(s.counts - r.counts)) <= 1
    np.testing.assert_allclose(s.spikes_per_layer.sum(0), r.spikes_per_layer.sum(0), rtol=0.01)
    for name in ("supply_energy_j", "device_energy_j", "synapse_driver_energy_j"):
        np.testing.assert_allclose(getattr(s, name), getattr(r, name), rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("poole_frenkel", [False, True])
def test_staged_kernel_matches_the_reference_across_regimes(wide, poole_frenkel):
    dev = dataclasses.replace(get_parameters("vo2x"), poole_frenkel=poole_frenkel)
    assert (dev.pf_coeff > 0.0) == poole_frenkel
    s, r = _run(dev, wide, "simd"), _run(dev, wide, "reference")
    _assert_agree(s, r)
    if poole_frenkel:
        # the field-lowered barrier acts: the run differs from the one without it
        off = _run(get_parameters("vo2x"), wide, "simd")
        assert not np.array_equal(off.spikes_per_layer, s.spikes_per_layer)


def test_clamped_and_latched_neurons_alone(wide):
    # the first layer reduced to its clamped and latched neurons, no deeper layer: the clamped ones never spike and
    # draw the supply current V_s/R_L the whole window; the latched ones switch (at least once) in both kernels
    x, _, _, kw = wide
    cn = circuit_neuron_for_preset("vo2x")
    dev = get_parameters("vo2x")
    sel = (x[0] < -cn.i_bias_a) | (x[0] > cn.params.i_max)
    xs = x[:1, sel]
    one = {**kw, "population": 1}
    clamped = xs[0] < 0
    s, r = (simulate_network(dev, xs, [], [], kernel=k, **one) for k in ("simd", "reference"))
    assert np.array_equal(s.counts, r.counts)
    assert np.all(s.counts[0, clamped] == 0)
    assert np.all(s.counts[0, ~clamped] >= 1)
    # clamped nodes alone: supply energy V_s^2/R_L per second each, no device dissipation
    v_s = cn.i_bias_a * RL
    c = simulate_network(dev, xs[:, clamped], [], [], kernel="simd", **one)
    n_steps = round(kw["window"] / 20e-9)
    assert c.device_energy_j[0] == 0.0
    assert c.supply_energy_j[0] == pytest.approx(clamped.sum() * v_s * v_s / RL * n_steps * 20e-9, rel=1e-12)
