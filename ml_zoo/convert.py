r"""ANN-to-SNN conversion by rate coding (Rueckauer et al. 2017; Diehl et al. 2015).

Steps:

1. **Batch-norm folding** (eval mode): a BatchNorm that follows a Conv/Linear with no other user is folded into
   it, :math:`W' = W \gamma/\sigma`, :math:`b' = (b - \mu)\gamma/\sigma + \beta`, :math:`\sigma = \sqrt{var+\epsilon}`.
2. **Threshold balancing** from data: the activation after each ReLU/ReLU6 is recorded on calibration inputs and
   the layer's firing threshold :math:`\theta_l` is its robust maximum, the ``percentile`` (default 99.99) of the
   positive activations (Rueckauer 2017, sec. 2.3); for ReLU6 it is capped at 6.
3. **Neuron replacement**: every ReLU becomes an integrate-and-fire neuron with reset by subtraction,
   :math:`v_t = v_{t-1} + x_t,\; s_t = [v_t \ge \theta],\; v_t \leftarrow v_t - s_t\theta,\; y_t = s_t \theta`, whose
   mean output over T steps approximates :math:`\min(\mathrm{relu}(x), \theta)`; the membrane starts at
   :math:`\theta/2` (halves the rounding error). Linear operations in between (convolutions, pooling by averaging,
   residual additions, the classifier) act on spike trains unchanged; the input is fed as a constant current
   every step and the output is the mean of the last layer over T.

Only networks whose nonlinearities are ReLU/ReLU6 (and linear operations) are convertible; anything else raises
a :class:`~vo2neuro._units.ParameterError` naming the operation.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from vo2neuro._units import ParameterError

__all__ = ["fold_batchnorm", "IFNeuron", "SpikingNetwork", "convert", "ConversionResult", "accuracy_vs_steps",
           "NEURONS"]

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


#: Neuron models a ReLU can be replaced with (name -> factory(threshold)).
NEURONS: dict[str, Callable[[float], nn.Module]] = {"if": IFNeuron}


class SpikingNetwork(nn.Module):
    """A converted network run for ``steps`` time steps on a constant input; returns the mean output.

    ``forward(x)`` resets every neuron first; after the call ``spike_counts()`` gives spikes per layer per sample.
    """

    def __init__(self, graph: fx.GraphModule, steps: int) -> None:
        super().__init__()
        self.graph_module = graph
        self.steps = int(steps)

    def neurons(self) -> list[tuple[str, nn.Module]]:
        return [(n, m) for n, m in self.graph_module.named_modules() if hasattr(m, "reset") and n]

    @torch.no_grad()
    def forward(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        T = int(steps or self.steps)
        if T < 1:
            raise ParameterError(f"steps must be >= 1 [1], got {T}")
        for _, m in self.neurons():
            m.reset()
        acc = None
        for _ in range(T):
            y = self.graph_module(x)
            acc = y if acc is None else acc + y
        self._batch = x.shape[0]
        return acc / T

    def spike_counts(self) -> dict[str, float]:
        """Mean spikes per sample of each neuron layer in the last call."""
        b = max(getattr(self, "_batch", 1), 1)
        return {n: m.spikes / b for n, m in self.neurons()}


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


def _check_convertible(gm: fx.GraphModule) -> None:
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op == "call_module":
            m = modules[node.target]
            if not isinstance(m, (*_SAFE_MODULES, *_RELU_MODULES)):
                raise ParameterError(f"model: layer {node.target!r} ({type(m).__name__}) is not rate-convertible "
                                     "(only ReLU/ReLU6 nonlinearities and linear layers) [-]")
        elif node.op == "call_function":
            ok = node.target in _RELU_FUNCS or getattr(node.target, "__name__", "") in (
                "add", "iadd", "flatten", "getitem", "mean", "cat", "reshape", "view", "adaptive_avg_pool2d",
                "avg_pool2d", "mul", "truediv")
            if not ok:
                raise ParameterError(f"model: operation {node.target!r} is not rate-convertible [-]")


def convert(model: nn.Module, calibration: torch.Tensor | Iterable[torch.Tensor], *, steps: int = 64,
            percentile: float = 99.99, neuron: str = "if") -> ConversionResult:
    """Convert a ReLU network to a rate-coded spiking network.

    Parameters
    ----------
    model : nn.Module
        Trained ANN (put into eval mode on a copy; the original is untouched).
    calibration : tensor (N, ...) or iterable of tensors
        Inputs for threshold balancing (a few hundred training samples suffice).
    steps : int
        Default number of time steps T.
    percentile : float
        Robust maximum of the activations used as threshold [%] (Rueckauer et al. 2017).
    neuron : {"if"}
        Neuron model replacing each ReLU (registry ``NEURONS``).
    """
    if neuron not in NEURONS:
        raise ParameterError(f"neuron: {neuron!r} is not valid; valid: {', '.join(sorted(NEURONS))}")
    if not 0.0 < percentile <= 100.0:
        raise ParameterError(f"percentile must be in (0, 100] [%], got {percentile}")
    gm = fold_batchnorm(model)
    _check_convertible(gm)
    batches = [calibration] if isinstance(calibration, torch.Tensor) else list(calibration)
    # Record activations at every ReLU output.
    records: dict[str, list[torch.Tensor]] = {}
    relu_nodes = [n for n in gm.graph.nodes if (n.op == "call_module" and isinstance(
        dict(gm.named_modules())[n.target], _RELU_MODULES)) or (n.op == "call_function" and n.target in _RELU_FUNCS)]
    if not relu_nodes:
        raise ParameterError("model: no ReLU to replace; nothing to convert [-]")
    names = {n: f"neuron_{i}" for i, n in enumerate(relu_nodes)}
    caps: dict[str, float] = {}
    modules = dict(gm.named_modules())
    for n in relu_nodes:
        is6 = (n.op == "call_module" and isinstance(modules[n.target], nn.ReLU6)) or n.target is F.relu6
        caps[names[n]] = 6.0 if is6 else float("inf")
    interp = _Recorder(gm, {n.name: names[n] for n in relu_nodes}, records)
    with torch.no_grad():
        for xb in batches:
            interp.run(xb)
    thresholds: dict[str, float] = {}
    for key, vals in records.items():
        a = torch.cat([v.flatten() for v in vals])
        pos = a[a > 0]
        theta = float(torch.quantile(pos[: 2**24], percentile / 100.0)) if pos.numel() else 1.0
        thresholds[key] = min(max(theta, 1e-6), caps[key])
    # Replace every ReLU node by a neuron module.
    for n in relu_nodes:
        key = names[n]
        gm.add_submodule(key, NEURONS[neuron](thresholds[key]))
        with gm.graph.inserting_after(n):
            new = gm.graph.call_module(key, args=(n.args[0],))
        n.replace_all_uses_with(new)
        gm.graph.erase_node(n)
    gm.graph.lint()
    gm.recompile()
    gm.delete_all_unused_submodules()
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
def accuracy_vs_steps(snn: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, steps: Iterable[int], *,
                      batch_size: int = 500) -> dict[int, float]:
    """Top-1 accuracy [0, 1] of the converted network for each T in ``steps`` (one run to max T, read out
    cumulatively, so the sweep costs one simulation)."""
    steps = sorted({int(s) for s in steps})
    if not steps or steps[0] < 1:
        raise ParameterError(f"steps must be >= 1 [1], got {steps}")
    correct = {T: 0 for T in steps}
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        for _, m in snn.neurons():
            m.reset()
        acc = None
        for t in range(1, steps[-1] + 1):
            out = snn.graph_module(xb)
            acc = out if acc is None else acc + out
            if t in correct:
                correct[t] += int((acc.argmax(1) == yb).sum())
    return {T: c / x.shape[0] for T, c in correct.items()}
