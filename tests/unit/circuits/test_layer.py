"""A layer of VO2 circuit neurons stepped by network steps (circuits/layer.py).

References: the reference network kernel (circuits/_network_kernels.run_network, validated against the circuit
simulator's f-I curves, tests/integration/test_snn_circuit.py) for spikes and energies of one layer under constant
drive; the circuit itself for the energy bound.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from vo2neuro.circuits.layer import (LayerCircuit, draw_layer_devices, initial_layer_state, layer_circuit,
                                     step_layer)
from vo2neuro.circuits.network import simulate_network
from vo2neuro.device import get_parameters
from vo2neuro.units import ParameterError

# the vo2x network neuron's circuit (vo2neuro.snn.circuit_neuron.NETWORK_CIRCUIT and its derived operating point)
R_L, C, I_B, DT_NET = 12e3, 145.35e-12, 0.934e-3, 785e-9


@pytest.fixture(scope="module")
def dev():
    return get_parameters("vo2x")


def _circuit(dev, **kw):
    return layer_circuit(dev, i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0, dt_net=DT_NET, dt=20e-9,
                         i_syn_max=1.27e-3, **kw)


def test_one_layer_under_constant_drive_is_the_reference_network_kernel(dev):
    c2c = 0.05 * (dev.T_c - 300.0)
    circ = _circuit(dev, t_c_c2c_sigma=c2c)
    N, B, S = 24, 3, 16
    cur = np.random.default_rng(1).uniform(0.0, 1.6e-3, (B, N))     # silent, oscillating and latched neurons
    devs = draw_layer_devices(N, seed=5, r_ins_sigma_ln=0.05, t_c_sigma=2.0)
    out = step_layer(initial_layer_state(circ, devs, B, seed=5), np.broadcast_to(cur, (S, B, N)), circ, devs)
    ref = simulate_network(dev, cur, [], [], i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0,
                           window=S * DT_NET, pulse=DT_NET, dt=circ.dt, r_ins_sigma_ln=0.05, t_c_sigma=2.0,
                           t_c_c2c_sigma=c2c, i_syn_max=1.27e-3, seed=5, kernel="reference")
    assert circ.n_sub == 40 and math.isclose(circ.dt, DT_NET / 40)
    # same step, same random streams: identical spikes; energies equal to rounding
    np.testing.assert_array_equal(out.spikes.sum(0), ref.counts)
    assert ref.counts.sum() > 0 and (ref.counts == 0).any()
    e = out.state.energy_j.sum(1)
    np.testing.assert_allclose(e[:, 0], ref.supply_energy_j, rtol=1e-12)
    np.testing.assert_allclose(e[:, 1], ref.device_energy_j, rtol=1e-12)
    np.testing.assert_allclose(e[:, 2], ref.synapse_driver_energy_j, rtol=1e-12)


def test_state_is_explicit_and_a_split_window_equals_one_run(dev):
    circ = _circuit(dev)
    devs = draw_layer_devices(10, seed=2, r_ins_sigma_ln=0.1)
    st = initial_layer_state(circ, devs, 2, seed=2)
    v0 = st.v.copy()
    cur = np.full((12, 2, 10), 0.9e-3)
    whole = step_layer(st, cur, circ, devs)
    assert np.array_equal(st.v, v0) and st.steps == 0           # the input state is not modified
    a = step_layer(st, cur[:5], circ, devs)
    b = step_layer(a.state, cur[5:], circ, devs)
    assert np.array_equal(np.concatenate([a.spikes, b.spikes]), whole.spikes)
    assert b.state.steps == 12 and np.array_equal(b.state.v, whole.state.v)
    # energies are summed per call, then added: equal to rounding
    np.testing.assert_allclose(b.state.energy_j, whole.state.energy_j, rtol=1e-12)
    # the supply delivers at most V_s^2/R_L per neuron (node clamped at V >= 0)
    v_s = I_B * R_L
    assert np.all(whole.state.energy_j[..., 0] <= v_s**2 / R_L * 12 * DT_NET)


def test_batches_give_each_image_its_own_streams(dev):
    circ = _circuit(dev, thermal_noise=2e-9)
    devs = draw_layer_devices(6, seed=1)
    cur = np.full((20, 4, 6), 0.8e-3)
    full = step_layer(initial_layer_state(circ, devs, 4, seed=1), cur, circ, devs)
    tail = step_layer(initial_layer_state(circ, devs, 2, seed=1, image0=2), cur[:, 2:], circ, devs)
    assert np.array_equal(full.spikes[:, 2:], tail.spikes)
    assert np.array_equal(full.state.temperature[2:], tail.state.temperature)
    # the heat-flow noise differs between images (the device temperatures part)
    assert not np.array_equal(full.state.temperature[0], full.state.temperature[1])


@pytest.mark.parametrize("kw, fragment", [
    (dict(n_sub=0), "n_sub must be a whole number >= 1 [-]"),
    (dict(capacitance=-1.0), "capacitance"),
    (dict(i_supply=-1e-3), "i_supply"),
])
def test_bad_circuit_is_one_line_naming_the_parameter(dev, kw, fragment):
    base = dict(device=dev, i_supply=I_B, r_load=R_L, capacitance=C, ambient=300.0, dt_net=DT_NET, n_sub=10)
    with pytest.raises(ParameterError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        LayerCircuit(**{**base, **kw})


def test_bad_currents_are_refused(dev):
    circ = _circuit(dev)
    devs = draw_layer_devices(3)
    st = initial_layer_state(circ, devs, 2)
    with pytest.raises(ParameterError, match=r"currents must have shape \(S, 2, 3\)"):
        step_layer(st, np.zeros((2, 4)), circ, devs)
    with pytest.raises(ParameterError, match="currents must be finite"):
        step_layer(st, np.full((2, 3), np.nan), circ, devs)
