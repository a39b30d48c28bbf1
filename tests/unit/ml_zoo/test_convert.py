"""ANN-to-SNN conversion: BN folding is exact, IF rates approximate clipped ReLU, and a small CNN converts with
at most 1 point lost at T = 64 (issue target; Rueckauer et al. 2017 report near-lossless conversion)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from vo2neuro.units import ParameterError  # noqa: E402
from vo2neuro.ml_zoo.convert import (IFNeuron, accuracy_vs_steps, convert, fold_batchnorm,  # noqa: E402
                                     predictions_vs_steps)


def _bn_net():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(2, 5, 3), nn.BatchNorm2d(5), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 36, 7),
                        nn.BatchNorm1d(7))
    for m in net.modules():  # non-trivial running statistics
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return net.eval()


def test_batchnorm_folding_is_exact():
    net = _bn_net()
    folded = fold_batchnorm(net)
    x = torch.randn(4, 2, 8, 8)
    assert torch.allclose(folded(x), net(x), atol=1e-5)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in folded.modules())


def test_if_rate_is_clipped_relu():
    # closed form: with reset by subtraction and v0 = theta/2 the mean output over T steps is
    # theta * floor(T x / theta + 1/2) / T, i.e. min(relu(x), theta) to within theta / (2T)
    n = IFNeuron(threshold=2.0)
    x = torch.linspace(-1, 3, 41)
    T = 200
    out = sum(n(x) for _ in range(T)) / T
    assert torch.allclose(out, x.clamp(0, 2.0), atol=2.0 / (2 * T) + 1e-6)


def test_unconvertible_operation_is_rejected():
    net = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    with pytest.raises(ParameterError, match="Tanh"):
        convert(net, torch.randn(8, 4))


def test_small_cnn_on_digits_converts_within_one_point(digits_split, cnn_kit):
    build, fit = cnn_kit
    X, Y, tr, te = digits_split
    net = build()
    fit(net, X, Y, tr, 30, 1e-2)
    with torch.no_grad():
        ann_pred = net(X[te]).argmax(1)
    ann = float((ann_pred == Y[te]).float().mean())
    # sanity only (the CNN learned): measured 0.972 / 0.977 on 1 / 2 torch threads, 397 test images
    assert ann > 0.9
    res = convert(net, X[tr[:500]], steps=64)
    assert res.thresholds["neuron_1"] <= 6.0  # ReLU6 cap
    preds = predictions_vs_steps(res.snn, X[te], [8, 64])
    acc = {T: float((p == Y[te]).float().mean()) for T, p in preds.items()}
    # The claim: within one point of the ANN. The two classifiers are compared on the same images, so the noise of
    # the difference comes only from the images where they disagree (paired, McNemar-style): with d disagreements
    # out of n the difference has a standard deviation <= sqrt(d)/n, and the bound allows two of those on top of
    # the point (measured: 0.5 and 0.8 points below the ANN on two thread counts, d ~ 10).
    n, d = len(te), int((preds[64] != ann_pred).sum())
    assert acc[64] >= ann - 0.01 - 2.0 * d**0.5 / n, (acc, ann, d)
    assert acc[64] >= acc[8] - 0.005  # more time steps do not hurt (measured gap 2-2.5 points the other way)
    res.snn(X[te[:10]])
    assert all(v > 0 for v in res.snn.spike_counts().values())


def test_vo2_rate_neuron_fires_at_the_closed_form_discrete_rate():
    # the discrete VO2 neuron at constant current fires every n_ref + ceil(t_c/dt) steps, t_c = tau ln(...)
    import math

    from vo2neuro.ml_zoo.convert import VO2RateNeuron
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    cn = circuit_neuron_for_preset("vo2x")
    p = cn.params
    n = VO2RateNeuron(2.0, p, cn.i_peak_a, tau_syn_steps=0.0)
    x = torch.linspace(0.0, 2.0, 21, dtype=torch.float64)
    T = 3000
    out = sum(n(x) for _ in range(T)) / T
    for xi, oi in zip(x.tolist(), out.tolist()):
        i = cn.i_peak_a * xi / 2.0
        v_inf = p.v_bias + i * p.r_leak
        if v_inf <= p.v_th:
            assert oi == 0.0
            continue
        period = p.n_ref + math.ceil(p.tau * math.log((v_inf - p.v_h) / (v_inf - p.v_th)) / p.dt)
        expected = (2.0 / n.act.r_top) / period
        assert oi == pytest.approx(expected, abs=(2.0 / n.act.r_top) / T * 2)


@pytest.mark.slow  # ~40 s: the open-loop path (fine-tune with the VO2 rate activation), kept for comparison
def test_vo2_neuron_conversion_end_to_end_on_digits(digits_split, cnn_kit):
    from vo2neuro.ml_zoo.convert import prepare_vo2
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    build, fit = cnn_kit
    X, Y, tr, te = digits_split
    net = build()
    fit(net, X, Y, tr, 20, 1e-2)
    cn = circuit_neuron_for_preset("vo2x")
    gm = prepare_vo2(net, X[tr[:500]], cn)
    fit(gm, X, Y, tr, 6, 2e-3)
    with torch.no_grad():
        ann_vo2 = float((gm(X[te]).argmax(1) == Y[te]).float().mean())
    res = convert(gm, X[tr[:500]], neuron="vo2", vo2=cn)
    acc = accuracy_vs_steps(res.snn, X[te], Y[te], [128])
    # measured: ANN with the VO2 rate activation ~91 %, VO2-neuron SNN ~75 % at T = 128 (IF: lossless): the
    # leaky node answers spike-train fluctuations, which the mean-rate activation cannot see
    assert ann_vo2 > 0.8 and acc[128] > 0.55
