"""VO2 neuron: closed forms (Pearson-Anson rate, RC charging), latch, fused kernel vs autograd, modules."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vo2neuro.units import ParameterError
from vo2neuro.snn import _fused
from vo2neuro.snn.neuron import (_sequence, SURROGATES, VO2Cell, VO2Neuron, VO2NeuronState, get_surrogate, initial_state,
                                 rate, vo2_sequence, vo2_step)


def _simulate(p, currents_a, steps):
    """Spike raster [steps, n] of neurons under constant currents, by the single-step functional core."""
    i = torch.tensor(currents_a, dtype=torch.float64)
    st = initial_state(i, p)
    out = []
    for _ in range(steps):
        z, st = vo2_step(i, st, p)
        out.append(z)
    return torch.stack(out).numpy(), st


# Currents inside the window (0.4167 mA, 2 mA) away from the ceil() boundaries of the discrete period.
WINDOW_CURRENTS = [0.5e-3, 0.8e-3, 1.2e-3, 1.9e-3]


def test_rate_matches_pearson_anson_closed_form(p):
    z, _ = _simulate(p, WINDOW_CURRENTS, 600)
    for j, i in enumerate(WINDOW_CURRENTS):
        t = np.flatnonzero(z[:, j])
        assert len(t) >= 5
        isi = np.diff(t)
        assert np.all(isi == isi[0]), "a constant current gives a strictly periodic discrete neuron"
        period_sim = isi[0] * p.dt
        # Independent closed form, continuous time: f = 1/(t_ref + tau ln((v_inf - v_h)/(v_inf - v_th))).
        v_inf = i * p.r_leak
        period_cont = p.t_ref + p.capacitance * p.r_leak * math.log((v_inf - p.v_h) / (v_inf - p.v_th))
        # Discretisation error: the crossing is detected at the first step end after it and t_ref = n_ref dt,
        # so the discrete period exceeds the continuous one by [0, dt).
        assert 0.0 <= period_sim - period_cont < p.dt
        assert float(rate(i, p)) == pytest.approx(1.0 / period_cont, rel=1e-12)
        assert float(rate(i, p, discrete=True)) == pytest.approx(1.0 / period_sim, rel=1e-12)


def test_first_spike_from_rest_and_subthreshold_charging(p):
    i_fire, i_sub = 1.0e-3, 0.3e-3
    z, st = _simulate(p, [i_fire, i_sub], 40)
    # RC charging from rest (v = 0) towards v_inf = I R: first crossing of v_th at t = tau ln(v_inf/(v_inf - v_th)).
    t1 = p.tau * math.log(i_fire * p.r_leak / (i_fire * p.r_leak - p.v_th))
    assert np.flatnonzero(z[:, 0])[0] == math.ceil(t1 / p.dt) - 1
    assert z[:, 1].sum() == 0  # below the rheobase 0.4167 mA
    v_exact = i_sub * p.r_leak * (1.0 - math.exp(-40 * p.dt / (p.capacitance * p.r_leak)))
    assert float(st.v[1]) == pytest.approx(v_exact, rel=1e-12)  # exact exponential integration


def test_reset_is_to_hold_voltage_and_refractory_holds(p):
    i = torch.tensor([1.5e-3], dtype=torch.float64)
    st = initial_state(i, p)
    while True:
        z, st = vo2_step(i, st, p)
        if z.item():
            break
    assert float(st.v) == p.v_h and float(st.ref) == p.n_ref
    for k in range(p.n_ref):  # metallic phase: no integration, voltage held at v_h
        z, st = vo2_step(i, st, p)
        assert z.item() == 0 and float(st.v) == p.v_h
    z, st = vo2_step(i, st, p)
    assert float(st.v) > p.v_h


def test_above_i_max_switches_once_then_latches_and_recovers(p):
    i_over = 2.5e-3
    z, st = _simulate(p, [i_over], 200)
    assert z.sum() == 1  # the switching event, then the device stays metallic
    assert float(rate(i_over, p)) == 0.0 and float(rate(p.i_max, p)) == 0.0
    # back inside the window: charging restarts from v_h and the neuron oscillates again
    i = torch.tensor([1.2e-3], dtype=torch.float64)
    zs = []
    for _ in range(100):
        zz, st = vo2_step(i, st, p)
        zs.append(zz.item())
    assert sum(zs) >= 5


def test_latched_neuron_gets_a_gradient_towards_the_window(p):
    i = torch.full((30, 1), 2.5e-3, dtype=torch.float64, requires_grad=True)
    z, _ = vo2_sequence(i, None, p)
    z.sum().backward()
    assert i.grad[10:].sum() < 0  # fewer amperes -> more spikes


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
def test_fused_sequence_equals_autograd_through_step(p, surrogate):
    g = torch.Generator().manual_seed(1)
    T, B, N = 40, 3, 6
    # currents from below the rheobase to beyond i_max, plus random initial states (some refractory)
    x = (torch.rand(T, B, N, generator=g, dtype=torch.float64) * 3e-3).requires_grad_()
    v0 = (torch.rand(B, N, generator=g, dtype=torch.float64) * 5.0).requires_grad_()
    ref0 = torch.randint(0, 3, (B, N), generator=g).double()
    w = torch.randn(T, B, N, generator=g, dtype=torch.float64)
    st = VO2NeuronState(v0, ref0)
    zs = []
    for t in range(T):
        z, st = vo2_step(x[t], st, p, surrogate=surrogate)
        zs.append(z)
    z1, st1 = torch.stack(zs), st
    g1 = torch.autograd.grad((z1 * w).sum() + (st1.v ** 2).sum(), [x, v0])
    z2, st2 = vo2_sequence(x, VO2NeuronState(v0, ref0), p, surrogate=surrogate)
    g2 = torch.autograd.grad((z2 * w).sum() + (st2.v ** 2).sum(), [x, v0])
    assert z1.sum() > 10
    assert torch.equal(z1, z2) and torch.equal(st1.ref, st2.ref)
    assert torch.allclose(st1.v, st2.v, rtol=0, atol=1e-12)
    for a, b in zip(g1, g2):  # same algebra, different operation order: float64 rounding only
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12 * a.abs().max().item())


def _random_case(p, dtype, seed, T=50, B=4, N=37):
    """Inputs from below the rheobase to beyond i_max (latch), random initial voltages and refractory counts."""
    g = torch.Generator().manual_seed(seed)
    scale = p.rheobase
    x = torch.rand(T, B, N, generator=g, dtype=dtype) * (1.4 * p.i_max / scale)
    x[: T // 2, 0] = 1.2 * p.i_max / scale          # held above i_max, then back into the window: latch and release
    v0 = torch.rand(B, N, generator=g, dtype=dtype) * 1.1 * p.v_th
    ref0 = torch.randint(0, p.n_ref + 1, (B, N), generator=g).to(dtype)
    w = torch.randn(T, B, N, generator=g, dtype=dtype)
    return x, v0, ref0, w, scale


def _run(p, x, v0, ref0, w, scale, surrogate, compiled, loss):
    x, v0 = x.clone().requires_grad_(), v0.clone().requires_grad_()
    z, v, ref = _sequence(x, VO2NeuronState(v0, ref0), p, surrogate, 5.0, scale, compiled=compiled)
    total = {"both": (z * w).sum() + (v ** 2).sum(), "spikes": (z * w).sum(), "state": (v ** 2).sum()}[loss]
    return (z, v, ref, *torch.autograd.grad(total, [x, v0], allow_unused=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
@pytest.mark.parametrize("loss", ["both", "spikes", "state"])
def test_compiled_kernel_equals_pure_torch_kernel(p, dtype, surrogate, loss):
    if _fused.ops() is None:
        pytest.skip(f"compiled kernel unavailable: {_fused.status()['error']}")
    for seed in range(3):
        x, v0, ref0, w, scale = _random_case(p, dtype, seed)
        ref = _run(p, x, v0, ref0, w, scale, surrogate, False, loss)
        new = _run(p, x, v0, ref0, w, scale, surrogate, True, loss)
        z = ref[0]
        assert z.sum() > 50 and ((x * scale >= p.i_max) & (z == 0)).any()   # spikes and latched steps occur
        assert ref[2].max() == p.n_ref
        assert torch.equal(ref[0], new[0]) and torch.equal(ref[2], new[2])   # spikes, refractory counts
        tol = 1e-6 if dtype == torch.float32 else 1e-12
        for a, b in zip(ref[1:2] + ref[3:], new[1:2] + new[3:]):             # v, dL/dx, dL/dv0
            assert b.dtype == dtype and b.shape == a.shape
            assert torch.allclose(a, b, rtol=0, atol=tol * a.abs().max().item())


def test_compiled_kernel_latch_gradient_and_threads(p):
    if _fused.ops() is None:
        pytest.skip(f"compiled kernel unavailable: {_fused.status()['error']}")
    # a state wide enough to be split across threads gives the same result as one thread
    x, v0, ref0, w, scale = _random_case(p, torch.float64, 7, T=30, B=64, N=97)
    one = _run(p, x, v0, ref0, w, scale, "fast_sigmoid", True, "both")
    torch.set_num_threads(2)
    two = _run(p, x, v0, ref0, w, scale, "fast_sigmoid", True, "both")
    for a, b in zip(one, two):
        assert torch.equal(a, b)
    # the straight-through latch term: an over-driven neuron learns to lower its current
    i = torch.full((30, 1), 2.5e-3, dtype=torch.float64, requires_grad=True)
    z, _ = vo2_sequence(i, None, p)
    (g,) = torch.autograd.grad(z.sum(), [i])
    assert g[10:].sum() < 0 and torch.all(g[10:] < 0)


def test_kernel_falls_back_to_pure_torch_when_the_build_fails(p, monkeypatch, capsys):
    x, v0, ref0, w, scale = _random_case(p, torch.float64, 3)
    monkeypatch.setattr(_fused, "_state", {})

    def broken():
        raise RuntimeError("g++: command not found\nsecond line")

    monkeypatch.setattr(_fused, "_build", broken)
    assert _fused.ops() is None and _fused.ops() is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pure-torch" in err and "command not found second line" in err
    assert _fused.status() == {"available": False, "load_s": None, "error": "RuntimeError: g++: command not found "
                                                                         "second line"}
    fallback = _run(p, x, v0, ref0, w, scale, "arctan", None, "both")   # compiled=None: automatic choice
    forced = _run(p, x, v0, ref0, w, scale, "arctan", False, "both")
    for a, b in zip(fallback, forced):
        assert torch.equal(a, b)
    monkeypatch.setattr(_fused, "_state", {})
    monkeypatch.setenv("VO2NEURO_FUSED", "0")
    assert _fused.ops() is None and "VO2NEURO_FUSED" in _fused.status()["error"]
    assert capsys.readouterr().err == ""


def test_surrogate_registry_errors_list_names():
    with pytest.raises(ParameterError, match="arctan, fast_sigmoid"):
        get_surrogate("sigmoid")
    x = torch.linspace(-1, 1, 5)
    assert float(SURROGATES["fast_sigmoid"].derivative(torch.zeros(1), 5.0)) == 1.0
    assert torch.all(SURROGATES["arctan"].derivative(x, 5.0) > 0)


def test_modules_build_state_only_when_none_and_do_not_leak(p):
    neuron = VO2Neuron(p)
    x = torch.full((30, 2, 3), 2.0)  # 2 rheobase
    z1, st = neuron(x)
    z2, _ = neuron(x)
    assert torch.equal(z1, z2)  # no hidden state carried between calls
    z3, _ = neuron(x, st)  # an explicit state is continued
    assert not torch.equal(z1, z3)
    cell = VO2Cell(p)
    state = None
    zs = []
    for t in range(30):
        z, state = cell(x[t], state)
        zs.append(z)
    assert torch.equal(torch.stack(zs), z1)
    with pytest.raises(ParameterError, match="current_scale"):
        VO2Neuron(p, current_scale=-1.0)


def test_input_is_in_rheobase_units(p):
    """x = 1 is the rheobase: x slightly above fires, slightly below never does, for any R_leak."""
    for r_leak in (12e3, 50e3):
        q = p.__class__(**{**p.to_dict(), "r_leak": r_leak, "i_max": 10 * p.v_th / r_leak})
        z, _ = VO2Neuron(q)(torch.tensor([[0.98], [1.05]]).T.expand(2000, 2).clone().double())
        assert z[:, 0].sum() == 0 and z[:, 1].sum() > 0


def test_usable_in_snntorch_style_network_with_spikegen_and_functional_losses(p):
    snntorch = pytest.importorskip("snntorch")
    from snntorch import functional as SF
    from snntorch import spikegen

    class Net(torch.nn.Module):  # the snntorch tutorial pattern, with VO2 cells instead of snn.Leaky
        def __init__(self):
            super().__init__()
            self.fc1, self.lif1 = torch.nn.Linear(20, 16), VO2Cell(p)
            self.fc2, self.lif2 = torch.nn.Linear(16, 4), VO2Cell(p)
            for fc in (self.fc1, self.fc2):
                torch.nn.init.uniform_(fc.weight, 0.0, 1.5)

        def forward(self, x):
            s1 = s2 = None
            rec = []
            for step in range(x.shape[0]):
                spk1, s1 = self.lif1(self.fc1(x[step]), s1)
                spk2, s2 = self.lif2(self.fc2(spk1), s2)
                rec.append(spk2)
            return torch.stack(rec)

    data = torch.rand(8, 20)
    targets = torch.arange(8) % 4
    spk = spikegen.rate(data, num_steps=40)
    net = Net()
    out = net(spk)
    assert out.shape == (40, 8, 4) and out.sum() > 0
    loss = SF.ce_rate_loss()(out, targets)
    loss.backward()
    assert torch.isfinite(net.fc1.weight.grad).all() and net.fc1.weight.grad.abs().sum() > 0
    # our count loss with beta = 1 is snntorch's population-coded ce_count_loss
    counts = out.detach().sum(0).view(8, 2, 2).sum(-1)
    ours = torch.nn.functional.cross_entropy(counts, targets % 2)
    theirs = SF.ce_count_loss(population_code=True, num_classes=2)(out.detach(), targets % 2)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-6)
