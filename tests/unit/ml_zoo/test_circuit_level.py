"""Converted networks at circuit level (ml_zoo/circuit_level.py, explore/zoo_hardware.py).

References: the sigma-delta bound of the converted neuron (mean output = clipped input to within the charge in
flight over T); brute-force counting of a convolution's connections; the software conversion (the device neurons'
discrete update) on the same inputs.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from vo2neuro.device import get_parameters  # noqa: E402
from vo2neuro.ml_zoo.circuit_level import CircuitDeviceNeuron, run_circuit_network, to_circuit  # noqa: E402
from vo2neuro.snn.hardware_conv import fan_out_of  # noqa: E402
from vo2neuro.ml_zoo.convert import convert  # noqa: E402
from vo2neuro.snn.presets import circuit_neuron_for_preset  # noqa: E402


@pytest.fixture(scope="module")
def cn():
    return circuit_neuron_for_preset("vo2x")


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(groups=2, dilation=2)])
def test_fan_out_of_a_convolution_counts_its_connections(kw):
    conv = nn.Conv2d(4, 6, 3, **kw)
    shape = (4, 9, 8)
    fo = fan_out_of(conv, shape).numpy()
    # brute force: perturb one input and count the outputs that change (weights all ones, so no cancellation)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
        brute = np.zeros(shape)
        for c in range(shape[0]):
            for i in range(shape[1]):
                for j in range(shape[2]):
                    x = torch.zeros(1, *shape)
                    x[0, c, i, j] = 1.0
                    brute[c, i, j] = float((conv(x) != 0).sum())
    np.testing.assert_array_equal(fo, brute)
    assert fan_out_of(nn.Linear(5, 7), (5,)) == 7.0


def test_circuit_neuron_rate_codes_its_input_like_the_sigma_delta_loop(cn):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 12), nn.ReLU()).eval()
    with torch.no_grad():
        net[0].weight.copy_(torch.linspace(0.05, 1.0, 12)[:, None])
        net[0].bias.zero_()
    res = convert(net, torch.ones(32, 1), steps=64, neuron="vo2", vo2=cn)
    theta = next(iter(res.thresholds.values()))
    circ = to_circuit(res.snn, cn, get_parameters("vo2x"), torch.ones(1, 1), d2d_sigma=0.0)
    m = next(m for _, m in circ.neurons())
    assert isinstance(m, CircuitDeviceNeuron) and m.devices == 3
    T = 64
    stats = run_circuit_network(circ, torch.ones(2, 1), [T])
    out = stats.outputs[T][0].numpy()
    target = np.clip(net(torch.ones(1, 1))[0].detach().numpy(), 0, theta)
    # sigma-delta: the integrating synapse keeps the charge not yet sent bounded by the quantum q and the charge of
    # the devices in flight (k q), so the mean output over T steps is the clipped input within (k + 1) q / T
    assert np.max(np.abs(out - target)) <= (m.devices + 1) * m.q / T, (out, target)
    # and it does track the input (a dead loop would give 0 everywhere)
    assert np.corrcoef(out, target)[0, 1] > 0.99


def test_actor_at_circuit_level_recommends_what_its_software_conversion_does():
    from vo2neuro.explore.zoo_hardware import zoo_hw_eval

    r = zoo_hw_eval("tddpg_rec", config="small", n_images=48, steps=[16, 32], progress=False)
    d = r.to_dict()
    assert d["kind"] == "vo2neuro.hw_eval.zoo" and d["model"] == "tddpg_rec" and d["steps"] == 32
    # the circuit-level actor and its software conversion share most recommendations (0.97 measured at T = 32;
    # 48 states x 10 items); the circuit adds device spread (5 %) and the circuit's own timing
    assert r.agreement >= 0.85
    assert r.accuracy >= r.snn_accuracy - 0.05
    # the action's events reach the critic's action projection: at most one per output neuron per step, and each
    # converted neuron sends q per spike, so the rate is positive and below 1
    assert set(r.layer_rates) == {"critic.action_proj"} and 0 < r.layer_rates["critic.action_proj"] < 1
    from vo2neuro.ml_zoo import create

    width = create("tddpg_rec", "small").actor.fc.out_features
    assert r.n_devices == r.devices_per_neuron * width
    # energy: positive parts, the devices dissipate less than the supply and drivers deliver
    parts = r.energy_breakdown_j
    assert 0 < parts["device_dissipation"] < parts["neuron_supply"] + parts["synapse_drivers"]
    assert 0 < r.latency_s <= r.window_s


def test_small_cnn_at_circuit_level_agrees_with_its_software_conversion(cn, digits_split, small_cnn):
    from vo2neuro.ml_zoo.convert import predictions_vs_steps

    X, Y, tr, te = digits_split
    net = small_cnn(X, Y, tr, channels=(8, 16), epochs=10)
    res = convert(net, X[tr[:300]], steps=32, neuron="vo2", vo2=cn)
    x, y = X[te[:24]], Y[te[:24]]
    sw = predictions_vs_steps(res.snn, x, [32])[32]
    assert float((sw == y).float().mean()) > 0.8           # the conversion itself works (0.92 measured)
    circ = to_circuit(res.snn, cn, get_parameters("vo2x"), x[:1], d2d_sigma=0.05)
    stats = run_circuit_network(circ, x, [32])
    hw = stats.outputs[32].argmax(1)
    # every device a circuit with 5 % device spread: the sigma-delta loop absorbs the devices' own timing, so the
    # circuit answers as the software conversion does (24 of 24 measured); 0.85 allows three images to flip
    assert float((hw == sw).float().mean()) >= 0.85
    # the layers after the first receive events: spikes after a neuron, graded values after the average pool
    assert stats.extra["layer_inputs"] == {"3": "spikes", "8": "graded"}
    assert set(stats.extra["input_layer_macs"]) == {"0"}
    # routed events: each of the 16 pooled values reaches the 10 outputs once per step at most, and each spike of
    # the first layer (8 x 8 x 8 neurons) its <= 16 x 9 targets of the strided convolution
    assert 0 < stats.synaptic_events <= 32 * (16 * 10 + 8 * 8 * 8 * 16 * 9)
