r"""ANN-to-SNN conversion by rate coding (Rueckauer et al. 2017; Diehl et al. 2015).

Steps:

1. **Batch-norm folding** (eval mode): a BatchNorm that follows a Conv/Linear with no other user is folded into
   it, :math:`W' = W \gamma/\sigma`, :math:`b' = (b - \mu)\gamma/\sigma + \beta`, :math:`\sigma = \sqrt{var+\epsilon}`.
2. **Threshold balancing** from data: the activation after each ReLU/ReLU6 is recorded on calibration inputs and
   the layer's firing threshold :math:`\theta_l` is its robust maximum, the ``percentile`` (default 99.9) of the
   positive activations (Rueckauer 2017, sec. 2.3); for ReLU6 it is capped at 6. 99.9 rather than 99.99 because
   it converges faster in T: DPDNet on MNIST keeps 98.30 % at T = 64 with 99.9 against 97.25 % with 99.99
   (ANN 98.70 %; both reach ~98.8 % at T = 128).
3. **Neuron replacement**: every ReLU becomes an integrate-and-fire neuron with reset by subtraction,
   :math:`v_t = v_{t-1} + x_t,\; s_t = [v_t \ge \theta],\; v_t \leftarrow v_t - s_t\theta,\; y_t = s_t \theta`, whose
   mean output over T steps approximates :math:`\min(\mathrm{relu}(x), \theta)`; the membrane starts at
   :math:`\theta/2` (halves the rounding error). Linear operations in between (convolutions, pooling by averaging,
   residual additions, the classifier) act on spike trains unchanged; the input is fed as a constant current
   every step and the output is the mean of the last layer over T.

Only networks whose nonlinearities are ReLU/ReLU6 (and linear operations) are convertible; anything else raises
a :class:`~vo2neuro.units.ParameterError` naming the operation.

**VO2 device neurons** (``neuron="vo2"``, :class:`VO2DeviceNeuron`). The VO2 node of the network neuron
(:mod:`vo2neuro.snn.neuron`, derived from the circuit) is leaky with ``tau`` about one network step and fires at
most every ``n_ref + 1`` steps, so it cannot carry the IF neuron's residual charge: on its own its rate is a
coarse staircase of the drive (1/3, 1/4, 1/5, 1/6 spikes per step for the vo2x neuron), and feeding it the
activation through a rate map (:class:`VO2RateNeuron`, the open-loop path of :func:`prepare_vo2`) loses most of
the accuracy (DPDNet on digits at T = 64: 45.3 % against 98.0 % for IF). The converted neuron instead
puts the integration into the synapse and keeps the device as it is:

* *synaptic filter*: an integrating synapse (a capacitor per neuron) accumulates the weighted input ``u += x``;
* *drive*: while ``u >= 0`` it switches the constant current ``i_on`` into the VO2 node (default the circuit's
  highest-frequency current ``i_peak``, inside the oscillation window and below the latch ``i_max``), else none
  (the node then relaxes to ``v_bias`` below threshold and stays silent);
* *reset*: each spike of a device removes the charge ``q = theta / (k r_on)`` from the synapse (``r_on`` the
  closed-form spikes per step of one device at ``i_on``, :func:`vo2neuro.snn.neuron.rate`; ``k`` devices per
  neuron, below), and the spike carries ``q`` to the next layer; *bias*: ``u`` starts at ``-q/2`` (the IF
  neuron's ``theta/2``).

The loop is a first-order sigma-delta modulator: whatever the device does between spikes (charging through its
leak from ``v_h``, the metallic/refractory phase), ``u`` stays bounded, so over T steps the mean output equals the
mean input clipped to ``[0, theta]`` to within ``q/T``: the IF neuron's rate code. With one device per neuron the
quantum is ``1/r_on`` times the IF neuron's (3x for vo2x, whose fastest period is ``n_ref + 1 = 3`` steps): the
VO2 network at T then matches IF at about T/3. By default each converted neuron therefore has
``k = round(1/r_on)`` devices on its synapse (``devices``; the drive goes to the insulating ones in turn), which
hides each device's refractory time behind the others and gives the IF quantum ``theta`` at ``k`` times the
devices and the same number of spikes. The device's leak, hold voltage and refractory time are those of the
circuit-derived neuron and are simulated step by step (the update of :func:`vo2neuro.snn.neuron.vo2_step`). The
integrating synapse with its spike-driven charge removal, and the ``k`` devices per neuron, are the circuit
assumptions of the conversion.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from vo2neuro.units import ParameterError, parse_count

__all__ = ["fold_batchnorm", "IFNeuron", "VO2Activation", "VO2RateNeuron", "VO2DeviceNeuron", "SpikingNetwork",
           "convert", "drive_current", "default_devices",
           "prepare_vo2", "ConversionResult", "accuracy_vs_steps", "predictions_vs_steps", "NEURONS"]

_RELU_MODULES = (nn.ReLU, nn.ReLU6)
_RELU_FUNCS = (F.relu, torch.relu, F.relu6)
_LINEAR_OPS = (nn.Conv1d, nn.Conv2d, nn.Linear)
# Operations that commute with averaging over time (linear in their input) and are therefore exact on rates.
_SAFE_MODULES = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.AvgPool2d,
                 nn.AdaptiveAvgPool2d, nn.Flatten, nn.Identity, nn.Dropout, nn.Sequential)


def _fold(conv: nn.Module, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> nn.Module:
    out = copy.deepcopy(conv)
    std = torch.sqrt(bn.running_var + bn.eps)
    gamma = bn.weight if bn.weight is not None else torch.ones_like(std)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(std)
    scale = (gamma / std).detach()
    shape = [-1] + [1] * (out.weight.dim() - 1)
    with torch.no_grad():
        out.weight.mul_(scale.reshape(shape))
        b0 = out.bias if out.bias is not None else torch.zeros_like(bn.running_mean)
        new_b = (b0 - bn.running_mean) * scale + beta
        out.bias = nn.Parameter(new_b.detach().clone())
    return out


def fold_batchnorm(model: nn.Module) -> fx.GraphModule:
    """Return a traced copy of ``model`` (eval mode) with Conv/Linear -> BatchNorm pairs folded.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    >>> folded = fold_batchnorm(net)
    >>> x = torch.randn(2, 1, 8, 8)
    >>> bool(torch.allclose(folded(x), net(x), atol=1e-6))
    True
    >>> any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    False
    """
    gm = fx.symbolic_trace(copy.deepcopy(model).eval())
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or not isinstance(modules.get(node.target), (nn.BatchNorm1d, nn.BatchNorm2d)):
            continue
        prev = node.args[0]
        if not (isinstance(prev, fx.Node) and prev.op == "call_module"
                and isinstance(modules.get(prev.target), _LINEAR_OPS) and len(prev.users) == 1):
            continue
        bn = modules[node.target]
        if not bn.track_running_stats or bn.running_mean is None:
            continue
        fused = _fold(modules[prev.target], bn)
        _set_submodule(gm, prev.target, fused)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()
    gm.delete_all_unused_submodules()
    return gm


def _set_submodule(root: nn.Module, target: str, module: nn.Module) -> None:
    *path, name = target.split(".")
    parent = root
    for p in path:
        parent = getattr(parent, p)
    setattr(parent, name, module)


class IFNeuron(nn.Module):
    r"""Integrate-and-fire neuron with reset by subtraction, rate-coded (one per replaced ReLU).

    State (membrane ``v``, spike count) lives only for the duration of one :class:`SpikingNetwork` call and is
    reset at its start, so nothing leaks between batches.

    Parameters
    ----------
    threshold : float
        Firing threshold theta (in the units of the ANN activation it replaces).
    """

    def __init__(self, threshold: float) -> None:
        super().__init__()
        if not threshold > 0:
            raise ParameterError(f"threshold must be > 0 [activation units], got {threshold}")
        self.threshold = float(threshold)
        self.v: torch.Tensor | None = None
        self.spikes = 0.0
        self.neurons = 0

    def reset(self) -> None:
        self.v = None
        self.spikes = 0.0
        self.neurons = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.v is None or self.v.shape != x.shape:
            self.v = torch.full_like(x, 0.5 * self.threshold)
            self.neurons = x[0].numel()
        v = self.v + x
        s = (v >= self.threshold).to(x.dtype)
        self.v = v - s * self.threshold
        self.spikes += float(s.sum())
        return s * self.threshold


def _vo2_rate_steps(i_syn: torch.Tensor, p) -> torch.Tensor:
    r"""Smooth spikes-per-step of the discrete VO2 neuron at synaptic current ``i_syn`` [A] (0 below rheobase).

    The discrete neuron fires every :math:`n_{ref} + \lceil t_c/dt \rceil` steps,
    :math:`t_c = \tau \ln((v_\infty - v_h)/(v_\infty - v_{th}))`; the ceiling is relaxed to
    :math:`t_c/dt + 1/2` (its mean over a uniform phase) so the rate is differentiable for fine-tuning.
    """
    v_inf = p.v_bias + i_syn * p.r_leak
    ok = v_inf > p.v_th
    safe = torch.where(ok, v_inf, torch.full_like(v_inf, p.v_th + 1.0))
    t_c = p.tau * torch.log((safe - p.v_h) / (safe - p.v_th))
    smooth = torch.where(ok, 1.0 / (p.n_ref + t_c / p.dt + 0.5), torch.zeros_like(v_inf))
    # forward: the exact staircase of the discrete neuron; backward: the smooth relaxation (straight-through)
    exact = torch.where(ok, 1.0 / (p.n_ref + torch.ceil(t_c / p.dt).clamp_min(1.0)), torch.zeros_like(v_inf))
    return smooth + (exact - smooth).detach()


class VO2Activation(nn.Module):
    r"""The VO2 neuron's rate as an ANN activation (for fine-tuning before conversion to VO2 neurons).

    .. math:: \phi(x) = \theta\, r(I(x)) / r(I_{top}),\qquad I(x) = I_{top}\, x/\theta

    with :math:`r` the neuron's spikes per step (:func:`_vo2_rate_steps`) and :math:`I_{top}` the synaptic current
    of the circuit's highest frequency (top of the operating range): :math:`\phi(\theta) = \theta`, zero below
    the rheobase, concave above, saturating near :math:`\theta` like the device.
    """

    def __init__(self, threshold: float, p, i_top: float) -> None:
        super().__init__()
        if not threshold > 0:
            raise ParameterError(f"threshold must be > 0 [activation units], got {threshold}")
        self.threshold, self.p, self.i_top = float(threshold), p, float(i_top)
        self.r_top = float(_vo2_rate_steps(torch.tensor(self.i_top, dtype=torch.float64), p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = self.i_top * x.clamp(0.0, self.threshold) / self.threshold
        return self.threshold * _vo2_rate_steps(i, self.p).to(x.dtype) / self.r_top


class VO2RateNeuron(nn.Module):
    """A VO2 oscillator neuron (device-derived, :mod:`vo2neuro.snn`) replacing an activation in a converted net.

    The input ``x`` per step (activation units) drives the synaptic current ``I = I_top x / theta`` (signed); the neuron
    integrates with the exact discrete dynamics of :func:`vo2neuro.snn.neuron.vo2_step` (leak, reset to
    ``v_h``, refractory steps, latch) and each spike carries ``theta / r_top``, so its mean output approximates
    :class:`VO2Activation`. State lives for one :class:`SpikingNetwork` call.
    """

    def __init__(self, threshold: float, p, i_top: float, *, tau_syn_steps: float = 8.0) -> None:
        super().__init__()
        self.act = VO2Activation(threshold, p, i_top)
        self.threshold, self.p = self.act.threshold, p
        self.k_syn = 1.0 - math.exp(-1.0 / tau_syn_steps) if tau_syn_steps > 0 else 1.0
        self.state = None
        self.syn = None
        self.spikes = 0.0

    def reset(self) -> None:
        self.state = None
        self.syn = None
        self.spikes = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from vo2neuro.snn.neuron import initial_state, vo2_step

        # first-order synaptic filter (an RC synapse, tau_syn_steps steps): the leaky VO2 node (tau ~ dt) would
        # otherwise answer each one-step presynaptic pulse on its own instead of integrating the spike train
        xs = x.double()
        self.syn = xs if self.syn is None or self.syn.shape != xs.shape else self.syn + self.k_syn * (xs - self.syn)
        # signed: inhibitory input discharges the node, as a synaptic current does in the circuit
        i = self.act.i_top * self.syn / self.threshold
        if self.state is None or self.state.v.shape != i.shape:
            self.state = initial_state(i, self.p)
        z, self.state = vo2_step(i, self.state, self.p)
        self.spikes += float(z.sum())
        return (z * (self.threshold / self.act.r_top)).to(x.dtype)


def drive_current(vo2, i_on: float | None = None) -> float:
    """The drive current of :class:`VO2DeviceNeuron` [A]: ``i_on`` if given, else the circuit's highest-frequency
    synaptic current ``vo2.i_peak_a`` (:class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron`); ParameterError
    unless it lies inside the oscillation window ``(rheobase, i_max)`` of ``vo2.params``."""
    p = vo2.params
    i = float(vo2.i_peak_a if i_on is None else i_on)
    if not (math.isfinite(i) and p.rheobase < i < p.i_max):
        raise ParameterError(f"i_on must be inside the oscillation window ({p.rheobase:.4g}, {p.i_max:.4g}) [A] "
                             f"(above the rheobase, below the latch current), got {i:.4g}")
    return i


def default_devices(p, i_on: float) -> int:
    """VO2 devices per converted neuron that let it fire up to once per step like an IF neuron:
    ``round(1/r_on)`` with ``r_on`` the closed-form spikes per step of one device at ``i_on``
    (``n_ref + 1`` at the top of the window: 3 for vo2x)."""
    from vo2neuro.snn.neuron import rate

    return max(1, round(1.0 / (float(rate(i_on, p, discrete=True)) * p.dt)))


class VO2DeviceNeuron(nn.Module):
    r"""VO2 device neuron(s) behind an integrating synapse (sigma-delta rate code; see the module docstring).

    One converted neuron is ``k = devices`` VO2 oscillators sharing one integrating synapse. Per step, with ``x``
    the input (activation units, signed) and each device's state of :func:`vo2neuro.snn.neuron.vo2_step`::

        u  <- u + x                                       integrating synapse
        I_j = i_on if device j is insulating and u >= r_j q, else 0
                                                          r_j: rank of j among the insulating devices
        z_j, (v_j, ref_j) <- vo2_step(I_j, (v_j, ref_j))  each device: leak, reset to v_h, refractory n_ref steps
        n   = sum_j z_j,  u <- u - q n,  y = q n,          spike-driven charge removal; each spike's weight q
        q   = theta / (k r_on)

    ``r_on = 1/(n_ref + ceil(t_c(i_on)/dt))`` is the closed-form discrete rate of one device at ``i_on``
    (:func:`vo2neuro.snn.neuron.rate` with ``discrete=True``), so ``k r_on`` is the most spikes per step the
    neuron can give and the output saturates at ``theta`` like the clipped ReLU it replaces. With ``k = 1`` the
    quantum ``q`` is ``1/r_on`` (3 for vo2x) times the IF neuron's; ``k = round(1/r_on)`` devices
    (:func:`default_devices`) give the IF neuron's quantum, at ``k`` times the devices and the same spikes per
    unit of activation. The devices are simulated with the update of ``vo2_step`` (float32, no surrogate graph:
    the converted network runs without gradients; ``i_on < i_max`` so the latch never engages). On the CPU in
    float32 the step is one compiled loop (:func:`_device_step`, Numba; chunks of neurons on torch's number of
    threads) with bitwise the values of the torch operations (:meth:`_forward_torch`, used elsewhere); the state
    tensors take the memory layout of the input (channels-last in a converted CNN).

    Parameters
    ----------
    threshold : float
        theta: the layer's balanced activation maximum (activation units).
    p : VO2NeuronParams
        The network neuron (from the circuit).
    i_on : float
        Drive current [A], inside ``(p.rheobase, p.i_max)``.
    devices : int
        VO2 devices per neuron, >= 1 (default 1).
    """

    def __init__(self, threshold: float, p, i_on: float, devices: int = 1) -> None:
        super().__init__()
        from vo2neuro.snn.neuron import rate

        if not threshold > 0:
            raise ParameterError(f"threshold must be > 0 [activation units], got {threshold}")
        if not (math.isfinite(i_on) and p.rheobase < i_on < p.i_max):
            raise ParameterError(f"i_on must be inside the oscillation window ({p.rheobase:.4g}, {p.i_max:.4g}) [A], "
                                 f"got {i_on!r}")
        self.devices = parse_count(devices, name="devices", minimum=1, maximum=64)
        self.threshold, self.p, self.i_on = float(threshold), p, float(i_on)
        self.r_on = float(rate(self.i_on, p, discrete=True)) * p.dt      # spikes per step of one device
        self.q = self.threshold / (self.devices * self.r_on)
        a = p.decay
        self._a, self._drive_on, self._drive_off = a, (1.0 - a) * (p.v_bias + p.r_leak * self.i_on), (1.0 - a) * p.v_bias
        self.reset()

    def reset(self) -> None:
        self.u = None
        self.v = None
        self.ref = None
        self.spikes = 0.0

    def _start(self, x: torch.Tensor) -> None:
        """Fresh state for input ``x`` unless the state already has its shape; the state tensors are laid out in
        memory like ``x`` (e.g. channels-last), each device's ``v``/``ref`` slice with the strides of ``x``."""
        if self.u is None or self.u.shape != x.shape:
            k, p = self.devices, self.p
            order = _memory_order(x)
            inv = sorted(range(x.dim()), key=order.__getitem__)
            shape = [x.shape[d] for d in order]
            kw = dict(dtype=x.dtype, device=x.device)
            self.u = torch.full(shape, -0.5 * self.q, **kw).permute(inv)
            self.v = torch.full((k, *shape), p.v_bias, **kw).permute(0, *[1 + d for d in inv])
            self.ref = torch.zeros((k, *shape), **kw).permute(0, *[1 + d for d in inv])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._start(x)
        if x.dtype == torch.float32 and x.device.type == "cpu" and not x.requires_grad:
            kernel = _device_step_kernel()
            if kernel is not None:
                y = self._forward_compiled(kernel, x)
                if y is not None:
                    return y
        return self._forward_torch(x)

    def _forward_compiled(self, kernel, x: torch.Tensor) -> torch.Tensor | None:
        """The step of :meth:`_forward_torch` in one compiled loop over the neurons (float32 CPU, same values), or
        None if the input and the state are not dense in the same memory order."""
        p, f32 = self.p, np.float32
        order = _memory_order(x)
        y = torch.empty_like(x)
        flat = [_flat(t, order, lead) for t, lead in ((x, 0), (self.u, 0), (self.v, 1), (self.ref, 1), (y, 0))]
        if any(f is None for f in flat):
            return None
        args = (*(f.numpy() for f in flat), f32(self.q), f32(self._a), f32(self._drive_on), f32(self._drive_off),
                f32(p.v_th), f32(p.v_h), f32(p.n_ref))
        size = flat[0].numel()
        parts = min(torch.get_num_threads(), size // _MIN_CHUNK)
        if parts <= 1:
            n = kernel(*args, 0, size)
        else:  # the kernel releases the GIL: chunks of neurons on torch's number of threads
            edges = [size * i // parts for i in range(parts + 1)]
            n = sum(_pool(parts).map(lambda i: kernel(*args, edges[i], edges[i + 1]), range(parts)))
        self.spikes += float(n)
        return y

    def _forward_torch(self, x: torch.Tensor) -> torch.Tensor:
        """The step in torch operations (any dtype and device; the reference of the compiled kernel)."""
        p, k = self.p, self.devices
        self._start(x)
        self.u = self.u + x
        insulating = self.ref <= 0
        if k == 1:
            on = insulating & (self.u >= 0)
        else:
            rank = insulating.cumsum(0).sub_(1).to(x.dtype)              # order among the insulating devices
            on = insulating & (self.u >= rank * self.q)
        # vo2_step with I in {0, i_on}: c = a v + (1 - a)(v_bias + R_leak I) while insulating, v held while metallic
        c = torch.where(on, self._drive_on, self._drive_off) + self._a * self.v
        c = torch.where(insulating, c, self.v)
        z = c >= p.v_th
        self.v = c.masked_fill(z, p.v_h)
        self.ref = (self.ref - 1.0).clamp_min_(0.0).masked_fill_(z, float(p.n_ref))
        n = z.sum(0).to(x.dtype)
        y = n * self.q
        self.u = self.u - y
        self.spikes += float(n.sum())
        return y


def _memory_order(x: torch.Tensor) -> list[int]:
    """The dimensions of ``x`` from the outermost to the innermost in memory (logical order if not dense)."""
    order = sorted(range(x.dim()), key=lambda d: (-x.stride(d), d))
    return order if x.permute(order).is_contiguous() else list(range(x.dim()))


def _flat(t: torch.Tensor, order: list[int], lead: int) -> torch.Tensor | None:
    """``t`` as ``[*t.shape[:lead], M]`` in memory order (a view), its trailing dimensions read in ``order``;
    None unless that view exists (dense, in that order, float32)."""
    v = t.permute(*range(lead), *[lead + d for d in order])
    if not v.is_contiguous() or v.dtype != torch.float32:
        return None
    return v.reshape(*t.shape[:lead], -1)


_KERNEL: list = []
#: Neurons below which one thread runs the whole compiled step.
_MIN_CHUNK = 1 << 15
_POOLS: dict = {}


def _pool(workers: int):
    """A thread pool of ``workers`` threads, made once per size (the compiled step runs without the GIL)."""
    if workers not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor

        _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="vo2neuro-convert")
    return _POOLS[workers]


def _device_step_kernel():
    """The compiled step of :class:`VO2DeviceNeuron` (Numba, built and cached at first use), or None if Numba
    cannot build it (then the torch path runs; same values). ``VO2NEURO_NUMBA_CONVERT=0`` disables it."""
    if not _KERNEL:
        import os

        kernel = None
        if os.environ.get("VO2NEURO_NUMBA_CONVERT", "1") != "0":
            try:
                kernel = _build_device_step()
                one, f = np.zeros(1, np.float32), np.float32(1.0)   # compile (or load from the cache) now
                kernel(one, one.copy(), np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32), one.copy(),
                       f, f, f, f, f, f, f, 0, 1)
            except Exception as exc:  # noqa: BLE001 - any build failure falls back to the torch path
                import sys

                print(f"vo2neuro: compiled VO2 conversion step unavailable ({type(exc).__name__}: {exc}); "
                      "using torch", file=sys.stderr)
        _KERNEL.append(kernel)
    return _KERNEL[0]


def _build_device_step():
    """:func:`_device_step` compiled by Numba (cached on disk next to this module)."""
    from numba import njit

    return njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(_device_step)


def _device_step(x, u, v, ref, y, q, a, d_on, d_off, v_th, v_h, n_ref, lo, hi):
    r"""One :class:`VO2DeviceNeuron` step of neurons ``lo:hi`` (of ``k`` devices each), in place (compiled by Numba).

    ``x, u, y`` are float32 ``[N]``, ``v, ref`` float32 ``[k, N]`` (the module's state, flat in memory order); the
    constants are float32 scalars. Every operation is the float32 operation of
    :meth:`VO2DeviceNeuron._forward_torch` in the same order (``c = drive + a v`` as a separate multiply and add,
    comparisons in float32), so outputs and states are bitwise those of the torch step. The devices are visited one
    after the other, each in a branch-free loop over the neurons (vectorised by LLVM), with the rank of a device
    among the insulating ones as a running count instead of a ``cumsum`` over ``[k, N]``; ``y`` holds the spike
    count until the last loop. Returns the number of spikes (all devices of neurons ``lo:hi``).
    """
    k = v.shape[0]
    zero, one = np.float32(0.0), np.float32(1.0)
    rank = np.zeros(hi - lo, dtype=np.float32)          # insulating devices before device j
    for m in range(lo, hi):
        u[m] = u[m] + x[m]
        y[m] = zero
    for j in range(k):
        vj = v[j]
        rj = ref[j]
        for m in range(lo, hi):
            r = rj[m]
            vm = vj[m]
            insulating = r <= zero
            c = (d_on if u[m] >= rank[m - lo] * q else d_off) + a * vm
            c = c if insulating else vm                 # metallic: v held
            fired = c >= v_th
            vj[m] = v_h if fired else c                 # reset to v_h, refractory for n_ref steps
            r = r - one
            r = r if r > zero else zero
            rj[m] = n_ref if fired else r
            rank[m - lo] += one if insulating else zero
            y[m] += one if fired else zero
    total = 0.0
    for m in range(lo, hi):
        n = y[m]
        total += n
        ym = n * q
        y[m] = ym
        u[m] = u[m] - ym
    return int(total)


#: Neuron models a ReLU can be replaced with (name -> factory(threshold)).
NEURONS: dict[str, Callable[[float], nn.Module]] = {"if": IFNeuron}


class SpikingNetwork(nn.Module):
    """A converted network run for ``steps`` time steps on a constant input; returns the mean output.

    ``forward(x)`` resets every neuron first; after the call ``spike_counts()`` gives spikes per layer per sample.
    The part of the graph that depends on the input alone (the first convolution up to the first neuron layer) is
    computed once per call instead of once per step (:meth:`stepper`); the values are the same.
    """

    def __init__(self, graph: fx.GraphModule, steps: int, *, channels_last: bool = True) -> None:
        super().__init__()
        self.graph_module = graph
        self.steps = int(steps)
        self.channels_last = bool(channels_last)

    def neurons(self) -> list[tuple[str, nn.Module]]:
        return [(n, m) for n, m in self.graph_module.named_modules() if hasattr(m, "reset") and n]

    def stepper(self, x: torch.Tensor) -> Callable[[], torch.Tensor]:
        """A function that advances the network by one step on the constant input ``x`` and returns its output,
        ``graph_module(x)``: the nodes that depend on no neuron are evaluated here, once. With ``channels_last``
        (the default) 4-d inputs on the CPU run through copies of the 2-d convolutions with channels-last weights
        (same values; oneDNN's faster layout for depthwise convolutions), so every activation is channels-last;
        results then agree with the plain graph to float32 rounding. While a forward hook watches the graph or one
        of its modules, the graph itself runs every step."""
        gm = self.graph_module
        if _has_hooks(gm):  # hooks see the graph's own modules, called once per step: run the graph as it is
            return lambda: gm(x)
        cl = self.channels_last and x.dim() == 4 and x.device.type == "cpu"
        key = (id(gm), gm.code, cl, tuple((t.data_ptr(), t._version) for t in gm.parameters()))
        cached = getattr(self, "_split_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, _split_constant(gm, channels_last=cl))
            self._split_cache = cached
        if cached[1] is None:
            return lambda: gm(x)
        head, body = cached[1]
        consts = head(x.contiguous(memory_format=torch.channels_last) if cl else x)
        return lambda: body(*consts)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        T = int(steps or self.steps)
        if T < 1:
            raise ParameterError(f"steps must be >= 1 [1], got {T}")
        for _, m in self.neurons():
            m.reset()
        step = self.stepper(x)
        acc = None
        for _ in range(T):
            y = step()
            acc = y if acc is None else acc + y
        self._batch = x.shape[0]
        return acc / T

    def spike_counts(self) -> dict[str, float]:
        """Mean spikes per sample of each neuron layer in the last call."""
        b = max(getattr(self, "_batch", 1), 1)
        return {n: m.spikes / b for n, m in self.neurons()}


def _has_hooks(gm: nn.Module) -> bool:
    """Whether a forward (pre-)hook watches ``gm`` or one of its modules (e.g. an event counter)."""
    from torch.nn.modules import module as _m

    return bool(_m._global_forward_hooks or _m._global_forward_pre_hooks) or any(
        m._forward_hooks or m._forward_pre_hooks for m in gm.modules())


def _split_constant(gm: fx.GraphModule, *, channels_last: bool = False
                    ) -> tuple[fx.GraphModule, fx.GraphModule] | None:
    """``(head, body)`` with ``body(*head(x)) == gm(x)``: ``head`` holds the nodes that depend on the input only
    (no neuron module, i.e. no module with ``reset``, upstream), ``body`` the rest, with the head's values that it
    uses as inputs; both share ``gm``'s modules, except that with ``channels_last`` its 2-d convolutions are
    replaced by copies with channels-last weights. None if ``gm`` has not exactly one input or nothing can be
    hoisted and no layout changes."""
    neurons = {n for n, m in gm.named_modules() if n and hasattr(m, "reset")}
    nodes = list(gm.graph.nodes)
    if sum(n.op == "placeholder" for n in nodes) != 1:
        return None
    root: dict[str, object] = {}
    for n in nodes:
        if n.op == "call_module":
            m = gm.get_submodule(n.target)
            if channels_last and isinstance(m, nn.Conv2d):
                m = copy.deepcopy(m).to(memory_format=torch.channels_last)
            root[n.target] = m
        elif n.op == "get_attr":
            root[n.target] = _get_attr(gm, n.target)
    const: set[fx.Node] = set()
    for n in nodes:
        if n.op in ("placeholder", "get_attr") or (
                n.op in ("call_module", "call_function", "call_method")
                and not (n.op == "call_module" and n.target in neurons)
                and all(a in const for a in n.all_input_nodes)):
            const.add(n)
    frontier = [n for n in nodes if n in const and n.op != "get_attr"
                and any(u not in const for u in n.users)]
    if all(n.op == "placeholder" for n in frontier) and not channels_last:
        return None
    head, env = fx.Graph(), {}
    for n in nodes:
        if n in const:
            env[n] = head.node_copy(n, lambda a: env[a])
    head.output(tuple(env[n] for n in frontier))
    body, env = fx.Graph(), {}
    for n in frontier:
        env[n] = body.placeholder(f"{n.name}_const")
    for n in nodes:
        if n not in const or (n.op == "get_attr" and n not in env):
            env[n] = body.node_copy(n, lambda a: env[a])
    return fx.GraphModule(root, head), fx.GraphModule(root, body)


def _get_attr(root: nn.Module, target: str):
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class ConversionResult:
    """A converted network and its layer thresholds.

    Attributes
    ----------
    snn : SpikingNetwork
    thresholds : dict layer-name -> theta (activation units)
    percentile : float
        Percentile used for threshold balancing [%].
    neuron : str
    """

    snn: SpikingNetwork = field(repr=False)
    thresholds: dict[str, float]
    percentile: float
    neuron: str

    def to_dict(self) -> dict[str, object]:
        return {"thresholds": self.thresholds, "percentile": self.percentile, "neuron": self.neuron,
                "steps": self.snn.steps}


def _check_percentile(percentile: float) -> float:
    """``percentile`` if it is in (0, 100] [%] (the robust maximum used as threshold), else ParameterError."""
    try:
        p = float(percentile)
    except (TypeError, ValueError):
        raise ParameterError(f"percentile must be a number in (0, 100] [%], got {percentile!r}") from None
    if not 0.0 < p <= 100.0:  # also refuses NaN
        raise ParameterError(f"percentile must be in (0, 100] [%], got {percentile!r}")
    return p


def _check_steps(steps: int, name: str = "steps") -> int:
    """``steps`` as an int if it is a whole number of time steps >= 1 [1], else ParameterError."""
    if isinstance(steps, str):
        raise ParameterError(f"{name} must be a whole number >= 1 [1], got {steps!r}")
    return parse_count(steps, name=name, minimum=1)


def _check_convertible(gm: fx.GraphModule) -> None:
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op == "call_module":
            m = modules[node.target]
            if not isinstance(m, (*_SAFE_MODULES, *_RELU_MODULES, VO2Activation)):
                raise ParameterError(f"model: layer {node.target!r} ({type(m).__name__}) is not rate-convertible "
                                     "(only ReLU/ReLU6 nonlinearities and linear layers) [-]")
        elif node.op == "call_function":
            ok = node.target in _RELU_FUNCS or getattr(node.target, "__name__", "") in (
                "add", "iadd", "flatten", "getitem", "mean", "cat", "reshape", "view", "adaptive_avg_pool2d",
                "avg_pool2d", "mul", "truediv")
            if not ok:
                raise ParameterError(f"model: operation {node.target!r} is not rate-convertible [-]")


def _relu_sites(gm: fx.GraphModule) -> list[fx.Node]:
    modules = dict(gm.named_modules())
    return [n for n in gm.graph.nodes
            if (n.op == "call_module" and isinstance(modules[n.target], (*_RELU_MODULES, VO2Activation)))
            or (n.op == "call_function" and n.target in _RELU_FUNCS)]


def _balance(gm: fx.GraphModule, sites: list[fx.Node], calibration, percentile: float) -> dict[str, float]:
    """Robust-maximum thresholds of the activations at ``sites`` (ReLU6 capped at 6)."""
    batches = [calibration] if isinstance(calibration, torch.Tensor) else list(calibration)
    modules = dict(gm.named_modules())
    names = {n: f"neuron_{i}" for i, n in enumerate(sites)}
    records: dict[str, list[torch.Tensor]] = {}
    interp = _Recorder(gm, {n.name: names[n] for n in sites}, records)
    with torch.no_grad():
        for xb in batches:
            interp.run(xb)
    out: dict[str, float] = {}
    for n in sites:
        key = names[n]
        a = torch.cat([v.flatten() for v in records[key]])
        pos = a[a > 0]
        theta = float(torch.quantile(pos[: 2**24], percentile / 100.0)) if pos.numel() else 1.0
        is6 = (n.op == "call_module" and isinstance(modules[n.target], nn.ReLU6)) or n.target is F.relu6
        out[key] = min(max(theta, 1e-6), 6.0 if is6 else math.inf)
    return out


def _replace(gm: fx.GraphModule, sites: list[fx.Node], make: Callable[[str, fx.Node], nn.Module]) -> fx.GraphModule:
    for i, n in enumerate(sites):
        key = f"neuron_{i}"
        gm.add_submodule(key, make(key, n))
        with gm.graph.inserting_after(n):
            new = gm.graph.call_module(key, args=(n.args[0],))
        n.replace_all_uses_with(new)
        gm.graph.erase_node(n)
    gm.graph.lint()
    gm.recompile()
    gm.delete_all_unused_submodules()
    return gm


def prepare_vo2(model: nn.Module, calibration, vo2, *, percentile: float = 99.9) -> fx.GraphModule:
    """The ANN with every ReLU replaced by the VO2 neuron's rate (:class:`VO2Activation`), for fine-tuning.

    Thresholds come from the same percentile balancing as :func:`convert`; ``vo2`` is a
    :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` (the neuron and its operating range). Batch norm is folded
    first. Train the returned module briefly (its parameters are the ANN's), then ``convert(..., neuron="vo2")``.
    """
    percentile = _check_percentile(percentile)
    gm = fold_batchnorm(model)
    _check_convertible(gm)
    sites = _relu_sites(gm)
    if not sites:
        raise ParameterError("model: no ReLU to replace; nothing to convert [-]")
    thetas = _balance(gm, sites, calibration, percentile)
    return _replace(gm, sites, lambda key, n: VO2Activation(thetas[key], vo2.params, vo2.i_peak_a))


def convert(model: nn.Module, calibration: torch.Tensor | Iterable[torch.Tensor], *, steps: int = 64,
            percentile: float = 99.9, neuron: str = "if", vo2=None, i_on: float | None = None,
            devices: int | None = None) -> ConversionResult:
    """Convert a ReLU network to a rate-coded spiking network.

    Parameters
    ----------
    model : nn.Module
        Trained ANN (put into eval mode on a copy; the original is untouched); for ``neuron="vo2"`` the output of
        :func:`prepare_vo2` after fine-tuning (its VO2 activations keep their thresholds).
    calibration : tensor (N, ...) or iterable of tensors
        Inputs for threshold balancing (a few hundred training samples suffice).
    steps : int
        Default number of time steps T.
    percentile : float
        Robust maximum of the activations used as threshold [%] (Rueckauer et al. 2017).
    neuron : {"if", "vo2"}
        Integrate-and-fire, or the VO2 device-derived neuron behind an integrating synapse
        (:class:`VO2DeviceNeuron`; a :class:`VO2Activation` left by :func:`prepare_vo2` becomes the open-loop
        :class:`VO2RateNeuron` that matches it).
    vo2 : CircuitNeuron, optional
        The VO2 neuron and its operating range (required for ``neuron="vo2"``).
    i_on : float, optional
        Drive current of the VO2 device neurons [A] (default ``vo2.i_peak_a``; :func:`drive_current`).
    devices : int, optional
        VO2 devices per converted neuron (default :func:`default_devices`: as many as make the neuron's quantum
        the IF neuron's, 3 for vo2x; 1 gives one oscillator per neuron and a 3x coarser code).
    """
    if neuron not in ("if", "vo2"):
        raise ParameterError(f"neuron: {neuron!r} is not valid; valid: if, vo2")
    if neuron == "vo2" and vo2 is None:
        raise ParameterError("vo2: the VO2 neuron (vo2neuro.snn.circuit_neuron.CircuitNeuron) is required [-]")
    percentile = _check_percentile(percentile)
    steps = _check_steps(steps)
    if neuron == "vo2":
        i_on = drive_current(vo2, i_on)
        devices = (default_devices(vo2.params, i_on) if devices is None
                   else parse_count(devices, name="devices", minimum=1, maximum=64))
    gm = model if isinstance(model, fx.GraphModule) and neuron == "vo2" else fold_batchnorm(model)
    gm = copy.deepcopy(gm).eval()
    _check_convertible(gm)
    sites = _relu_sites(gm)
    if not sites:
        raise ParameterError("model: no ReLU to replace; nothing to convert [-]")
    modules = dict(gm.named_modules())
    fixed = {f"neuron_{i}": modules[n.target].threshold for i, n in enumerate(sites)
             if n.op == "call_module" and isinstance(modules[n.target], VO2Activation)}
    thresholds = {**_balance(gm, sites, calibration, percentile), **fixed}
    if neuron == "if":
        make = lambda key, n: IFNeuron(thresholds[key])  # noqa: E731
    else:
        def make(key: str, n: fx.Node) -> nn.Module:
            if key in fixed:  # fine-tuned with the open-loop rate activation: the neuron that matches it
                return VO2RateNeuron(thresholds[key], vo2.params, vo2.i_peak_a)
            return VO2DeviceNeuron(thresholds[key], vo2.params, i_on, devices)
    gm = _replace(gm, sites, make)
    return ConversionResult(snn=SpikingNetwork(gm, steps), thresholds=thresholds, percentile=percentile,
                            neuron=neuron)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, watch: dict[str, str], out: dict[str, list[torch.Tensor]]) -> None:
        super().__init__(gm)
        self.watch = watch
        self.out = out

    def run_node(self, n: fx.Node):
        result = super().run_node(n)
        if n.name in self.watch:
            self.out.setdefault(self.watch[n.name], []).append(result.detach())
        return result


@torch.no_grad()
def predictions_vs_steps(snn: SpikingNetwork, x: torch.Tensor, steps: Iterable[int], *,
                         batch_size: int = 500, progress: Callable[[int, int], None] | None = None
                         ) -> dict[int, torch.Tensor]:
    """Predicted class (argmax of the output accumulated over the first T steps), shape (n,), for each T in
    ``steps`` (one run to max T, read out cumulatively, so the sweep costs one simulation).

    ``progress(done, total)`` is called after each batch with the number of images simulated so far."""
    steps = sorted({_check_steps(s) for s in steps})
    if not steps:
        raise ParameterError("steps: give at least one number of time steps >= 1 [1]")
    batch_size = parse_count(batch_size, name="batch_size", minimum=1)
    preds: dict[int, list[torch.Tensor]] = {T: [] for T in steps}
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size]
        for _, m in snn.neurons():
            m.reset()
        step = snn.stepper(xb)
        acc = None
        for t in range(1, steps[-1] + 1):
            out = step()
            acc = out if acc is None else acc + out
            if t in preds:
                preds[t].append(acc.argmax(1))
        if progress is not None:
            progress(min(i + batch_size, x.shape[0]), x.shape[0])
    return {T: torch.cat(p) for T, p in preds.items()}


def accuracy_vs_steps(snn: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, steps: Iterable[int], *,
                      batch_size: int = 500, progress: Callable[[int, int], None] | None = None) -> dict[int, float]:
    """Top-1 accuracy [0, 1] of the converted network for each T in ``steps`` (:func:`predictions_vs_steps`)."""
    preds = predictions_vs_steps(snn, x, steps, batch_size=batch_size, progress=progress)
    return {T: float((p == y).sum()) / x.shape[0] for T, p in preds.items()}
