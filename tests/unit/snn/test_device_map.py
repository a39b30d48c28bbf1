"""The neuron-vs-delta map: its gradients, its fidelity to the circuit, and the normalised neuron it drives.

References: finite differences of the fitted map (the gradient); the circuit-derived neuron at vacancy levels
between the grid points (:func:`vo2neuro.snn.presets.circuit_neuron_for_device`, an independent circuit
simulation and fit); :func:`vo2neuro.snn.neuron.vo2_step` in physical units (the normalised neuron).
"""
import math

import numpy as np
import pytest
import torch

from vo2neuro.device import select
from vo2neuro.snn.device_map import MAP_QUANTITIES, fit_neuron_map
from vo2neuro.snn.learn_device import map_neuron_sequence
from vo2neuro.snn.neuron import initial_state, vo2_step
from vo2neuro.snn.presets import circuit_neuron_for_device
from vo2neuro.units import ParameterError

GRID = (0.0, 0.004, 0.008, 0.012, 0.016)


@pytest.fixture(scope="module")
def nmap():
    return fit_neuron_map("vo2", deltas=GRID)


def _exact(delta):
    sel = select("vo2", delta=delta)
    return circuit_neuron_for_device(sel.params, sel.ambient_k)


def test_map_reproduces_the_circuit_at_grid_points(nmap):
    cn = _exact(0.008)
    q = nmap.at(0.008)
    assert q["tau"] == pytest.approx(cn.params.tau, rel=1e-9)
    assert q["energy_per_spike"] == pytest.approx(cn.energy_per_spike_j, rel=1e-9)


@pytest.mark.parametrize("delta", [0.002, 0.010])
def test_map_between_grid_points_against_the_circuit(nmap, delta):
    # the circuit neuron derived at an off-grid delta is the independent reference; the interpolant must hold
    # the smooth quantities to a few percent over a 0.004 grid step
    cn = _exact(delta)
    p = cn.params
    q = nmap.at(delta)
    assert q["tau"] == pytest.approx(p.tau, rel=0.03)
    assert q["dt"] == pytest.approx(p.dt, rel=0.03)
    assert q["m"] == pytest.approx(p.i_max / p.rheobase, rel=0.05)
    assert q["u_h"] == pytest.approx((p.v_h - p.v_bias) / (p.v_th - p.v_bias), rel=0.03)
    assert q["energy_per_spike"] == pytest.approx(cn.energy_per_spike_j, rel=0.05)


@pytest.mark.parametrize("delta", [0.001, 0.0061, 0.0099, 0.0145])
def test_gradient_against_finite_differences(nmap, delta):
    d = torch.tensor(delta, dtype=torch.float64, requires_grad=True)
    q = nmap.torch_params(d)
    h = 1e-7
    up, dn = nmap.at(delta + h), nmap.at(delta - h)
    for name in MAP_QUANTITIES:
        (g,) = torch.autograd.grad(q[name], d, retain_graph=True)
        fd = (up[name] - dn[name]) / (2 * h)
        assert float(g) == pytest.approx(fd, rel=1e-5, abs=1e-12 * abs(up[name])), name
        assert float(q[name].detach()) == pytest.approx(nmap.at(delta)[name], rel=1e-12)


def test_energy_per_spike_falls_with_vacancies(nmap):
    # the seed claim: VO2-x neurons spike at lower energy than pristine VO2 (the map must keep the circuit's trend)
    e = [nmap.at(d)["energy_per_spike"] for d in np.linspace(0, 0.016, 9)]
    assert all(b < a for a, b in zip(e, e[1:]))


def test_normalised_neuron_equals_the_physical_one():
    cn = _exact(0.008)
    p = cn.params
    torch.manual_seed(0)
    x = torch.rand(60, 3, 7, dtype=torch.float64) * 1.3 * p.i_max / p.rheobase  # spans silent, firing, latched
    q = {"tau": torch.tensor(p.tau), "dt": torch.tensor(p.dt), "t_ref": torch.tensor(p.t_ref),
         "u_h": torch.tensor((p.v_h - p.v_bias) / (p.v_th - p.v_bias)), "m": torch.tensor(p.i_max / p.rheobase)}
    z_map = map_neuron_sequence(x, q)
    st = initial_state(x[0], p)
    zs = []
    for t in range(x.shape[0]):
        z, st = vo2_step(x[t] * p.rheobase, st, p)
        zs.append(z)
    z_ref = torch.stack(zs)
    assert z_ref.sum() > 20
    assert torch.equal(z_map, z_ref)


def test_gradient_reaches_delta_through_the_neuron(nmap):
    d = torch.tensor(0.006, dtype=torch.float64, requires_grad=True)
    q = nmap.torch_params(d)
    torch.manual_seed(1)
    x = torch.rand(25, 16, 32, dtype=torch.float64) * 3.0
    z = map_neuron_sequence(x, q)
    (g,) = torch.autograd.grad(z.sum(), d)
    assert math.isfinite(float(g)) and float(g) != 0.0


def test_range_and_inputs_are_checked(nmap):
    with pytest.raises(ParameterError, match=r"delta must be in \[0, 0.016\]"):
        nmap.at(0.02)
    with pytest.raises(ParameterError, match="not a pristine film"):
        fit_neuron_map("vo2x", deltas=GRID)
    with pytest.raises(ParameterError, match="deltas must be >= 3 increasing"):
        fit_neuron_map("vo2", deltas=(0.0, 0.004))
    with pytest.raises(ParameterError, match="does not oscillate"):
        fit_neuron_map("vo2", deltas=(0.0, 0.01, 0.025))
