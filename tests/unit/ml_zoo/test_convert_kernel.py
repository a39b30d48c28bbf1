"""The fast paths of the converted networks (issue 13, the 10-minute conversion): the compiled VO2 device-neuron step
equals the neuron's definition written out as a plain loop, and a spiking network that evaluates its input-only
part once per run (and runs channels-last) gives what the plain graph gives step by step."""
from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from vo2neuro.ml_zoo import convert as C  # noqa: E402


@pytest.fixture(scope="module")
def cn():
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    return circuit_neuron_for_preset("vo2x")


def _reference(xs: np.ndarray, theta: float, k: int, p, i_on: float):
    """The neuron of the module docstring, one device after the other, in float32 numpy: integrating synapse ``u``,
    drive ``i_on`` to the insulating devices while ``u`` covers their rank times the quantum, exact device step."""
    from vo2neuro.snn.neuron import rate

    f = np.float32
    r_on = float(rate(i_on, p, discrete=True)) * p.dt
    q = f(theta / (k * r_on))
    a = f(p.decay)
    level_on = f((1.0 - p.decay) * (p.v_bias + p.r_leak * i_on))
    level_off = f((1.0 - p.decay) * p.v_bias)
    shape = xs.shape[1:]
    u = np.full(shape, -0.5 * q, dtype=np.float32)
    v = [np.full(shape, p.v_bias, dtype=np.float32) for _ in range(k)]
    ref = [np.zeros(shape, dtype=np.float32) for _ in range(k)]
    ys, total = [], 0
    for x in xs:
        u = u + x
        rank = np.zeros(shape, dtype=np.float32)        # insulating devices seen so far
        n = np.zeros(shape, dtype=np.float32)
        for j in range(k):
            insulating = ref[j] <= 0
            drive = np.where(insulating & (u >= rank * q), level_on, level_off)
            c = np.where(insulating, drive + a * v[j], v[j])
            fired = c >= f(p.v_th)
            v[j] = np.where(fired, f(p.v_h), c)
            ref[j] = np.where(fired, f(p.n_ref), np.maximum(ref[j] - f(1.0), f(0.0)))
            rank = rank + insulating.astype(np.float32)
            n = n + fired.astype(np.float32)
        y = n * q
        u = u - y
        total += int(n.sum())
        ys.append(y)
    return np.stack(ys), u, np.stack(v), np.stack(ref), total


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_compiled_step_equals_the_reference_loop(cn, k, layout):
    assert C._device_step_kernel() is not None          # Numba is a dependency: the compiled path must build
    p, i_on = cn.params, C.drive_current(cn)
    gen = torch.Generator().manual_seed(k)
    # signed input, above theta too (saturation, several devices on), over many steps
    xs = torch.rand(300, 3, 4, 5, 6, generator=gen) * 3.0 - 0.9
    theta = 1.7
    neuron = C.VO2DeviceNeuron(theta, p, i_on, devices=k)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    got = torch.stack([neuron(x.contiguous(memory_format=fmt)) for x in xs])
    y, u, v, ref, total = _reference(xs.numpy(), theta, k, p, i_on)
    assert np.array_equal(got.numpy(), y)                # bitwise: the same float32 operations
    assert np.array_equal(neuron.u.numpy(), u)
    assert np.array_equal(neuron.v.numpy(), v) and np.array_equal(neuron.ref.numpy(), ref)
    assert neuron.spikes == total > 1000
    if layout == "channels_last":                        # the state follows the input's layout
        assert neuron.u.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("threads", [1, 3])
def test_compiled_and_torch_steps_agree_bitwise(cn, k, threads, monkeypatch):
    # threads: the compiled step split into chunks of neurons on a thread pool (small chunks here to exercise it)
    monkeypatch.setattr(C, "_MIN_CHUNK", 16)
    monkeypatch.setattr(C.torch, "get_num_threads", lambda: threads)
    p, i_on = cn.params, C.drive_current(cn)
    gen = torch.Generator().manual_seed(10 + k)
    fast, slow = C.VO2DeviceNeuron(0.8, p, i_on, k), C.VO2DeviceNeuron(0.8, p, i_on, k)
    for _ in range(200):
        x = torch.randn(7, 33, generator=gen)
        assert torch.equal(fast(x), slow._forward_torch(x))
    assert torch.equal(fast.u, slow.u) and torch.equal(fast.v, slow.v) and torch.equal(fast.ref, slow.ref)
    assert fast.spikes == slow.spikes > 0


class _Res(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.pw = nn.Conv2d(6, 6, 1)
        self.head = nn.Sequential(nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))

    def forward(self, x):
        h = self.stem(x)
        return self.head(h + self.pw(torch.relu(self.dw(h))))


def _plain(snn: C.SpikingNetwork, x: torch.Tensor, T: int) -> tuple[torch.Tensor, float]:
    """The network stepped by calling its whole graph on the input every step (the definition)."""
    for _, m in snn.neurons():
        m.reset()
    acc = None
    with torch.no_grad():
        for _ in range(T):
            y = snn.graph_module(x)
            acc = y if acc is None else acc + y
    return acc / T, sum(m.spikes for _, m in snn.neurons())


@pytest.mark.parametrize("neuron", ["if", "vo2"])
def test_network_hoists_the_input_part_and_matches_the_plain_graph(cn, neuron):
    torch.manual_seed(0)
    net = _Res().eval()
    x = torch.rand(16, 1, 9, 9)
    res = C.convert(net, x, steps=24, neuron=neuron, vo2=cn if neuron == "vo2" else None)
    head, body = C._split_constant(res.snn.graph_module)
    assert sum(isinstance(m, nn.Conv2d) for m in head.modules()) == 1     # the stem runs once per call
    assert not any(hasattr(m, "reset") for m in head.modules())
    ref, ref_spikes = _plain(copy.deepcopy(res.snn), x, 24)
    res.snn.channels_last = False                       # hoisting alone: the same operations, bitwise
    assert torch.equal(res.snn(x), ref)
    assert sum(m.spikes for _, m in res.snn.neurons()) == ref_spikes > 0
    res.snn.channels_last = True                        # channels-last convolutions: float32 rounding at most
    out = res.snn(x)
    assert res.snn._split_cache[1][1].get_submodule("dw").weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out, ref, atol=1e-4, rtol=1e-4)
    preds = C.predictions_vs_steps(res.snn, x, [24], batch_size=5)[24]
    assert torch.equal(preds, ref.argmax(1))


def test_stepper_sees_weights_changed_after_a_run():
    torch.manual_seed(1)
    net = _Res().eval()
    x = torch.rand(4, 1, 9, 9)
    res = C.convert(net, x, steps=8)
    before = res.snn(x)                                 # builds the channels-last copies of the convolutions
    with torch.no_grad():
        res.snn.graph_module.get_submodule("pw").weight.mul_(-3.0)
    after = res.snn(x)
    ref, _ = _plain(copy.deepcopy(res.snn), x, 8)
    assert not torch.allclose(after, before, atol=1e-3)
    assert torch.allclose(after, ref, atol=1e-4, rtol=1e-4)


def test_mnist_study_defaults_to_the_first_2000_test_images():
    from vo2neuro.explore.conversion_study import DEFAULT_N_TEST, classifier_work

    assert DEFAULT_N_TEST == {"digits": None, "mnist": 2000}
    work = classifier_work("dpdnet", dataset="mnist", epochs=3, steps=[8, 128])
    assert "2000 test images x 128 steps" in work.detail
    assert work.sim_passes == 128 * (2000 + 200) + 1000
    every = classifier_work("dpdnet", dataset="mnist", epochs=3, steps=[128], n_test=10_000)
    assert every.sim_passes == 128 * (10_000 + 200) + 1000
    assert "450 test images" in classifier_work("dpdnet", dataset="digits", epochs=1, steps=[8]).detail


def test_hooked_modules_see_every_step():
    # an event counter (ml_zoo.measured) hooks the graph's own modules: they must run, once per step
    torch.manual_seed(2)
    net = _Res().eval()
    x = torch.rand(3, 1, 9, 9)
    res = C.convert(net, x, steps=5)
    res.snn(x)                                          # builds the cached split first
    calls = {"stem": 0, "dw": 0, "out": 0}
    gm = res.snn.graph_module

    def count(key):
        return lambda *args: calls.__setitem__(key, calls[key] + 1)

    hooks = [gm.get_submodule("stem.0").register_forward_pre_hook(count("stem")),
             gm.get_submodule("dw").register_forward_pre_hook(count("dw")), gm.register_forward_hook(count("out"))]
    C.predictions_vs_steps(res.snn, x, [5])
    for h in hooks:
        h.remove()
    assert calls == {"stem": 5, "dw": 5, "out": 5}
