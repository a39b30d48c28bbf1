"""Conversion onto the VO2 device neuron (issue 13): the integrating-synapse neuron reproduces the clipped ReLU's
mean, the device's closed-form rate at the converted operating points agrees with the circuit simulation, and a
small CNN on digits converts onto VO2 neurons as well as onto integrate-and-fire neurons at the same T."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from vo2neuro.units import ParameterError  # noqa: E402
from vo2neuro.ml_zoo.convert import (VO2DeviceNeuron, convert, drive_current,  # noqa: E402
                                     predictions_vs_steps)


@pytest.fixture(scope="module")
def cn():
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    return circuit_neuron_for_preset("vo2x")


def _reference_run(x: torch.Tensor, theta: float, cn, i_on: float) -> torch.Tensor:
    """The neuron written out from its definition with the library's float64 device step (surrogate path)."""
    from vo2neuro.snn.neuron import initial_state, rate, vo2_step

    p = cn.params
    q = theta / (float(rate(i_on, p, discrete=True)) * p.dt)
    u = torch.full(x.shape[1:], -0.5 * q, dtype=torch.float64)
    st = initial_state(u, p)
    out = []
    for xt in x.double():
        u = u + xt
        z, st = vo2_step(torch.where(u >= 0, i_on, 0.0).to(torch.float64), st, p)
        u = u - q * z
        out.append(q * z)
    return torch.stack(out)


def test_device_neuron_runs_the_exact_device_step(cn):
    torch.manual_seed(0)
    x = torch.rand(300, 64) * 4.0 - 1.0                 # signed input, also above theta: saturation
    i_on = drive_current(cn)
    n = VO2DeviceNeuron(2.0, cn.params, i_on)
    got = torch.stack([n(xt) for xt in x]).double()
    ref = _reference_run(x, 2.0, cn, i_on)
    assert torch.equal(got, ref)
    assert n.spikes == float((ref > 0).sum()) > 0


@pytest.mark.parametrize("kind", ["constant", "spike_train"])
def test_device_neuron_mean_is_the_clipped_relu(cn, kind):
    # sigma-delta bound: |mean output - clip(mean input, 0, theta)| <= q / T (+ the spread of a random train's mean)
    torch.manual_seed(1)
    theta, T = 1.5, 900
    n = VO2DeviceNeuron(theta, cn.params, drive_current(cn))
    level = torch.linspace(-0.5, 2.5, 31)
    if kind == "constant":
        x = level.expand(T, -1)
    else:  # presynaptic spikes of weight 2 theta, Bernoulli with the same mean (the first layers' output)
        w = 2.0 * theta
        x = (torch.rand(T, 31) < (level.abs() / w).clamp(max=1.0)).float() * w * level.sign()
    out = torch.stack([n(xt) for xt in x]).mean(0)
    target = x.mean(0).clamp(0.0, theta)
    assert n.r_on == pytest.approx(1.0 / 3.0)      # vo2x: period n_ref + 1 = 3 steps at the drive
    # a random train close to theta can leave a burst's charge (a few q) in the synapse at the end: compare below
    # 0.7 theta there, with the charge of three spikes (the identity sum(out) = sum(x) - (u_T - u_0) holds always)
    inside = level <= (theta if kind == "constant" else 0.7 * theta)
    tol = (1.5 if kind == "constant" else 3.0) * n.q / T
    assert (out - target)[inside].abs().max() <= tol + 1e-6
    assert torch.allclose(out * T, x.sum(0) - (n.u + 0.5 * n.q), atol=0.05)  # float32 sums over T
    assert float(out[level >= 2.0].min()) == pytest.approx(theta, abs=n.q / T * 1.5)  # saturates at theta
    assert float(out[level <= 0].max()) == 0.0


def test_drive_current_is_inside_the_window(cn):
    p = cn.params
    i = drive_current(cn)
    assert p.rheobase < i == cn.i_peak_a < p.i_max
    for bad in (0.5 * p.rheobase, p.i_max, 2 * p.i_max, math.nan):
        with pytest.raises(ParameterError, match=r"i_on must be inside the oscillation window .*\[A\]"):
            drive_current(cn, bad)


def test_closed_form_rate_matches_the_circuit_at_the_operating_points(cn):
    """The two drive levels of a converted neuron (0 and i_on) simulated in the electro-thermal circuit
    (independent of the fitted LIF form): silent at rest, and at i_on the frequency of the closed form."""
    from vo2neuro.circuits import f_i_curve
    from vo2neuro.device.select import select
    from vo2neuro.snn.neuron import initial_state, rate, vo2_step

    p = cn.params
    i_on = drive_current(cn)
    dev = select("vo2x").params
    fi = f_i_curve(dev, i_in=[cn.i_bias_a, cn.i_bias_a + i_on], capacitance=cn.capacitance_f,
                   r_load=cn.r_load_ohm, ambient=cn.ambient_k)
    f_rest, f_on = (float(f) for f in fi.frequency_hz)
    assert f_rest == 0.0 and float(rate(0.0, p)) == 0.0
    f_closed = float(rate(i_on, p))
    assert f_closed == pytest.approx(f_on, rel=0.03)            # fit rms 1.2 % over the window
    # the network neuron (discrete steps) at i_on: one period of n_ref + ceil(t_c/dt) steps, within one step of
    # the continuous period, and what the simulated discrete neuron does
    f_disc = float(rate(i_on, p, discrete=True))
    assert 0.0 <= 1.0 / f_disc - 1.0 / f_closed < p.dt
    i = torch.full((1,), i_on, dtype=torch.float64)
    st = initial_state(i, p)
    n_spk = 0
    for _ in range(600):
        z, st = vo2_step(i, st, p)
        n_spk += int(z)
    assert n_spk / (600 * p.dt) == pytest.approx(f_disc, rel=1.0 / 200)
    assert f_disc * p.dt * (p.n_ref + 1) == pytest.approx(1.0)  # the fastest period the device allows


def test_vo2_conversion_matches_if_conversion_on_digits(cn, digits_split, small_cnn):
    X, Y, tr, te = digits_split
    net = small_cnn(X, Y, tr)
    with torch.no_grad():
        ann = float((net(X[te]).argmax(1) == Y[te]).float().mean())
    assert ann > 0.9  # the CNN learned
    acc, spikes = {}, {}
    for label, neuron, devices in (("if", "if", None), ("vo2", "vo2", None), ("vo2x1", "vo2", 1)):
        res = convert(net, X[tr[:500]], steps=64, neuron=neuron, vo2=cn, devices=devices)
        preds = predictions_vs_steps(res.snn, X[te], [16, 64])
        acc[label] = {T: float((p == Y[te]).float().mean()) for T, p in preds.items()}
        spikes[label] = sum(m.spikes for _, m in res.snn.neurons())
        if neuron == "vo2":
            assert {m.devices for _, m in res.snn.neurons()} == {devices or 3}
    # the claim (issue 13): VO2 within one point of IF at the same T (3 devices per neuron, the default)
    for T in (16, 64):
        assert acc["vo2"][T] >= acc["if"][T] - 0.01, acc
    # one device per neuron: a quantum 3x the IF neuron's, so the network needs ~3x the steps: it lags at T = 16
    # and catches up with T (measured 78.6 / 91.9 % at T = 16 / 64 against IF 91.7 / 94.0 %): the test sees the
    # device's refractory time
    assert acc["vo2x1"][16] < acc["vo2"][16] - 0.05, acc
    assert acc["vo2x1"][64] > acc["vo2x1"][16] + 0.05, acc
    # same code, same number of spikes for the same activations (up to the rounding of each neuron)
    assert spikes["vo2"] == pytest.approx(spikes["if"], rel=0.05)


def test_convert_vo2_needs_the_neuron():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ParameterError, match="vo2"):
        convert(net, torch.randn(8, 4), neuron="vo2")


def test_tddpg_actor_on_vo2_neurons_keeps_the_recommendations():
    """Issue 13 target: TDDPG-Rec actor (paper configuration) on vo2x neurons, top-10 agreement >= 97 % at T = 32
    (IF conversion: 97.6 %); measured 97.6 % (the same recommendations as IF)."""
    from vo2neuro.explore.conversion_study import convert_tddpg_actor

    vo2 = convert_tddpg_actor(config="paper", steps=[32], neuron="vo2", n_states=256)
    assert vo2.neuron == "vo2" and vo2.top_k == 10
    assert vo2.topk_agreement[32] >= 0.97, vo2.topk_agreement
    one = convert_tddpg_actor(config="paper", steps=[32], neuron="vo2", n_states=256, vo2_devices=1)
    assert one.topk_agreement[32] < vo2.topk_agreement[32] - 0.02  # one device per neuron: 3x coarser code
