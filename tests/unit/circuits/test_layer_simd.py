"""The vector layer kernel (circuits/_layer_kernels.advance_layer_simd) against the scalar reference advance_layer.

Reference: ``step_layer(..., kernel="reference")``, one neuron at a time, itself equal to the reference network
kernel (tests/unit/circuits/test_layer.py). The vector kernel evaluates the same model with other rounding (its
own exp/sin, shared reciprocals), so the state agrees to rounding; spikes and random streams are identical on
these layers (a rounding-level difference could in principle move a switching event by one circuit step, but none
does here, with or without noise).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vo2neuro.circuits.layer import draw_layer_devices, initial_layer_state, layer_circuit, step_layer
from vo2neuro.device import get_parameters
from vo2neuro.units import ParameterError

# the vo2x network neuron's circuit (as tests/unit/circuits/test_layer.py)
R_L, C, I_B, DT_NET, I_MAX = 12e3, 145.35e-12, 0.934e-3, 785e-9, 1.27e-3


@pytest.fixture(scope="module")
def dev():
    return get_parameters("vo2x")


def _drive(S: int, B: int, N: int) -> np.ndarray:
    """(S, B, N) currents [A]: per neuron one regime, constant or varying by step (silent, inhibited, oscillating,
    latched above the compliance)."""
    g = np.random.default_rng(3)
    kind = g.integers(0, 5, (B, N))
    base = g.uniform(0.0, 1.6e-3, (B, N))
    cur = np.broadcast_to(base, (S, B, N)).copy()                        # kind 0: constant, any regime
    cur[:, kind == 1] = g.uniform(0.0, 1.6e-3, (S, int((kind == 1).sum())))  # kind 1: a new value every step
    cur[:, kind == 2] = g.uniform(-0.5e-3, 0.2e-3, (S, int((kind == 2).sum())))  # kind 2: sub-threshold, inhibited
    cur[:, kind == 3] = 2.5e-3                                           # kind 3: above i_syn_max (capped)
    on = (np.arange(S) // 4) % 2 == 0                                    # kind 4: on for 4 steps, off for 4
    cur[:, kind == 4] = np.where(on[:, None], 1.0e-3, 0.0)
    return cur


def _both(dev, S=24, B=3, N=45, **kw):
    circ = layer_circuit(dev, i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0, dt_net=DT_NET, dt=20e-9,
                         i_syn_max=I_MAX, **kw)
    devs = draw_layer_devices(N, seed=7, first_index=11, r_ins_sigma_ln=0.08, t_c_sigma=2.0)
    st = initial_layer_state(circ, devs, B, seed=7, image0=2)
    cur = _drive(S, B, N)
    ref = step_layer(st, cur, circ, devs, kernel="reference")
    vec = step_layer(st, cur, circ, devs, kernel="simd")
    return ref, vec


def _assert_agree(ref, vec):
    np.testing.assert_array_equal(vec.spikes, ref.spikes)
    np.testing.assert_allclose(vec.state.energy_j, ref.state.energy_j, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(vec.state.temperature, ref.state.temperature, rtol=1e-12)
    np.testing.assert_allclose(vec.state.v, ref.state.v, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(vec.state.memory, ref.state.memory, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(vec.state.armed, ref.state.armed)
    np.testing.assert_array_equal(vec.state.tc_c2c, ref.state.tc_c2c)   # same draws, same stream positions
    np.testing.assert_array_equal(vec.state.rng, ref.state.rng)
    assert vec.state.steps == ref.state.steps


def test_simd_equals_reference_without_noise(dev):
    ref, vec = _both(dev)
    _assert_agree(ref, vec)
    # the drive covers the regimes: silent neurons and neurons spiking over much of the window
    total = ref.spikes.sum(0)
    assert (total == 0).any() and total.max() >= 5
    # a reversal of the hysteresis memory happened (its scalar stage ran) and the result is not the rest state
    assert (ref.state.memory[1] > 0.5).any()


def test_simd_equals_reference_with_thermal_noise_and_c2c(dev):
    ref, vec = _both(dev, t_c_c2c_sigma=0.05 * (dev.T_c - 300.0), thermal_noise=2e-9)
    _assert_agree(ref, vec)
    quiet, _ = _both(dev)
    # the noise and the C2C redraws act: spikes differ from the noise-free run, T_c shifts were drawn
    assert not np.array_equal(ref.spikes, quiet.spikes)
    assert (ref.state.tc_c2c != 0.0).any()


def test_simd_equals_reference_with_poole_frenkel_conduction(dev):
    pf = dataclasses.replace(dev, poole_frenkel=True)
    assert pf.pf_coeff > 0.0   # the field-dependent branch of the insulating resistance runs
    ref, vec = _both(pf, S=12, B=2, N=40)
    _assert_agree(ref, vec)
    assert ref.spikes.sum() > 0


def test_simd_state_carries_across_calls(dev):
    circ = layer_circuit(dev, i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0, dt_net=DT_NET, dt=20e-9,
                         i_syn_max=I_MAX, thermal_noise=2e-9)
    devs = draw_layer_devices(33, seed=1, r_ins_sigma_ln=0.05)
    st = initial_layer_state(circ, devs, 2, seed=1)
    cur = _drive(16, 2, 33)
    whole = step_layer(st, cur, circ, devs, kernel="reference")
    a = step_layer(st, cur[:7], circ, devs)
    b = step_layer(a.state, cur[7:], circ, devs)
    np.testing.assert_array_equal(np.concatenate([a.spikes, b.spikes]), whole.spikes)
    np.testing.assert_array_equal(b.state.rng, whole.state.rng)
    np.testing.assert_allclose(b.state.temperature, whole.state.temperature, rtol=1e-12)


def test_unknown_kernel_is_one_line_listing_the_valid_names(dev):
    circ = layer_circuit(dev, i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0, dt_net=DT_NET)
    devs = draw_layer_devices(2)
    st = initial_layer_state(circ, devs, 1)
    with pytest.raises(ParameterError, match=r"kernel must be one of simd, reference \[-\], got 'fast'") as e:
        step_layer(st, np.zeros((1, 2)), circ, devs, kernel="fast")
    assert "\n" not in str(e.value)
