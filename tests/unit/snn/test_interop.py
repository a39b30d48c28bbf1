"""NIR export/import (vo2neuro.snn.interop): neuron models against independent references, graph reading, the
exact round trip of a small trained network."""
from __future__ import annotations

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

from vo2neuro.snn import interop as I  # noqa: E402
from vo2neuro.snn.neuron import rate  # noqa: E402
from vo2neuro.snn.presets import EXAMPLE_NEURON  # noqa: E402
from vo2neuro.units import ParameterError  # noqa: E402


def _lif(n, beta, thr=1.0, dt=I.NIR_DT):
    """snntorch's mapping of Leaky(beta, threshold) (its export_nir.py)."""
    tau = dt / (1.0 - beta)
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / dt), v_leak=np.zeros(n), v_threshold=np.full(n, thr),
                   v_reset=np.zeros(n))


def test_lif_counts_by_hand():
    # beta 0.5, drive 1, threshold 0.7: u = 0.5, 0.75 > 0.7 -> spike and reset: period 2 -> 12 spikes in 25 steps
    assert I.lif_counts(1.0, 0.5, 0.7, 25) == 12
    # beta 0: u = x every step, a spike every step above the threshold, none at it (strictly greater)
    assert I.lif_counts(0.71, 0.0, 0.7, 25) == 25 and I.lif_counts(0.7, 0.0, 0.7, 25) == 0


def test_vo2_counts_follow_the_closed_form_discrete_rate(p):
    x = np.array([1.3, 2.0, 3.0, 4.0])
    steps = 2000
    per_step = rate(x * p.rheobase, p, discrete=True) * p.dt
    got = I.vo2_counts(x, p, steps) / steps
    # the first period starts from rest (closer to threshold than v_h): at most one extra spike over the window
    assert np.all(np.abs(got - per_step) <= 1.0 / steps + 1e-12)
    assert I.vo2_counts(np.array([0.9, p.i_max / p.rheobase * 1.5]), p, 50)[0] == 0  # below the rheobase: silent


def test_lif_fit_reports_its_own_count_error():
    fit = I.fit_lif(EXAMPLE_NEURON, 25)
    rms, worst = I.count_error(EXAMPLE_NEURON, 25, fit.beta, fit.theta)
    assert fit.rms_count_error == pytest.approx(rms) and fit.max_count_error == worst
    # the fit is no worse than the LIF with the VO2 neuron's own decay and threshold (which lacks reset and
    # refractory period)
    assert rms <= I.count_error(EXAMPLE_NEURON, 25, EXAMPLE_NEURON.decay, 1.0)[0]


def _cuba(n, alpha, beta, thr=1.0, dt=I.NIR_DT):
    """snntorch's mapping of Synaptic(alpha, beta, threshold) (its export_nir.py)."""
    tau_syn, tau_mem = dt / (1.0 - alpha), dt / (1.0 - beta)
    return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem), r=np.full(n, tau_mem / dt),
                       v_leak=np.zeros(n), v_threshold=np.full(n, thr), v_reset=np.zeros(n),
                       w_in=np.full(n, tau_syn / dt))


@pytest.mark.parametrize("kind", ["Leaky", "Synaptic"])
def test_hand_built_snntorch_graph_runs_as_snntorch_runs_it(kind):
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(0)
    alpha, beta = 0.6, 0.8
    kw = dict(beta=beta, init_hidden=True, reset_mechanism="zero", reset_delay=False)
    make = (lambda: snn.Leaky(**kw)) if kind == "Leaky" else (lambda: snn.Synaptic(alpha=alpha, **kw))
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), make(), torch.nn.Linear(6, 4), make())
    with torch.no_grad():
        for m in net:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(3.0)
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    nodes = []
    for m in lin:
        n = m.out_features
        nodes += [nir.Affine(weight=m.weight.detach().numpy(), bias=m.bias.detach().numpy()),
                  _lif(n, beta) if kind == "Leaky" else _cuba(n, alpha, beta)]
    g = nir.NIRGraph.from_list(*nodes)
    x = torch.rand(50, 8)
    from snntorch import utils

    utils.reset(net)
    ref = 0
    with torch.no_grad():
        for _ in range(20):
            ref = ref + net(x)
    got = I.simulate(I.network_from_graph(g), x.numpy(), 20)
    assert ref.sum() > 0
    np.testing.assert_array_equal(got, ref.numpy())


def test_unsupported_node_is_named():
    n = 4
    g = nir.NIRGraph.from_list(nir.Affine(np.ones((n, 3), np.float32), np.zeros(n, np.float32)),
                               nir.Threshold(threshold=np.ones(n)))
    with pytest.raises(ParameterError, match=r"node 'threshold' of type Threshold is not supported"):
        I.network_from_graph(g)


def test_chain_needs_synapse_neuron_pairs():
    n = 4
    g = nir.NIRGraph.from_list(nir.Affine(np.ones((n, 3), np.float32), np.zeros(n, np.float32)),
                               nir.Affine(np.ones((n, n), np.float32), np.zeros(n, np.float32)))
    with pytest.raises(ParameterError, match="stands where a neuron"):
        I.network_from_graph(g)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    from vo2neuro.snn.train import train

    out = tmp_path_factory.mktemp("ck")
    return train(dataset="digits", hidden=(24,), epochs=1, out_dir=str(out), progress=False).checkpoint


def test_export_reimports_exactly(small_checkpoint, tmp_path):
    from vo2neuro.snn import checkpoint as C
    from vo2neuro.snn.data import load_digits
    from vo2neuro.snn.train import class_counts

    path = tmp_path / "net.nir"
    summary = I.write_checkpoint_nir(small_checkpoint, path)
    ck = C.load(small_checkpoint)
    assert summary["sizes"] == list(ck.sizes)
    net = I.read_network(path)
    assert net.record is not None and net.sizes == ck.sizes
    # the weights travel bit for bit, the neuron and device description exactly
    for k, L in enumerate(net.layers):
        np.testing.assert_array_equal(L.weight, ck.weights[f"linears.{k}.weight"].numpy())
        np.testing.assert_array_equal(L.bias, ck.weights[f"linears.{k}.bias"].numpy())
        assert L.kind == "LIF"
    assert net.record["neuron"] == ck.neuron.to_dict()
    assert net.record["device"]["params"] == ck.device.params.to_dict()
    # the fit error is stated in the graph's metadata, per LIF node
    g = nir.read(str(path))
    fit = g.metadata["lif_fit"]["lif0"]
    assert fit["rms_count_error"] >= 0 and 0 <= g.metadata["lif_train_agreement"] <= 1
    # identical predictions: the re-imported network in software equals the checkpoint's
    _, te = load_digits()
    x = te.tensors[0][:100]
    from vo2neuro.snn.params import VO2NeuronParams

    p = VO2NeuronParams.from_record(net.record["neuron"])
    lin = [(L.weight, L.bias) for L in net.layers]
    got = I._vo2_counts_net(lin, p, x.numpy(), net.record["steps"], net.record["population"], 10)
    with torch.no_grad():
        ref = class_counts(ck.model(), x, encoding="current", steps=ck.config.steps,
                           population=ck.config.population, n_classes=10).argmax(1).numpy()
    np.testing.assert_array_equal(got, ref)
