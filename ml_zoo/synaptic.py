r"""Synaptic operations (synops) of a spiking network from its measured or assumed spike counts.

:func:`synops` = :math:`\sum_l \sum_{i \in \text{pre}(l)} s_i\, f_i`, with :math:`s_i` the spikes of presynaptic neuron
:math:`i` per inference and :math:`f_i` its exact fan-out (number of weights it drives; padding taps excluded), taken from
:func:`fan_out_table`. See :func:`synops` for the interface offered to ``vo2neuro.snn``.

The MAC counts of the same layers (the ANN side of the energy ledger) are in :mod:`vo2neuro.ml_zoo.ops`.

References
----------
* ``ml_zoo_papers.md`` §14 (SNN energy recipe: SOP = fr x T x MAC).
* Sinabs ``SNNAnalyzer`` / NeuroBench synaptic operations (exact convolution connection counts).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from vo2neuro.ml_zoo.ops import _prod

__all__ = ["FanOut", "fan_out_table", "SynopsReport", "synops", "uniform_spikes"]


@dataclass(frozen=True)
class FanOut:
    """Connectivity of one synaptic layer (``nn.Linear`` or ``nn.Conv{1,2,3}d``) for one sample.

    Attributes
    ----------
    name : str
        Qualified module name, the key used by :func:`synops`.
    type : str
        Module class name.
    input_shape : tuple[int, ...]
        Shape of the layer input for one sample (no batch dimension).
    n_presynaptic : int
        Presynaptic neurons per sample (``prod(input_shape)``).
    connections : int
        Synapses actually used per sample: pairs (presynaptic neuron, weight) that reach an output. For a linear
        layer ``n_presynaptic x out_features``; for a convolution the exact count without the zero-padding taps.
    order : int
        Execution order of the layer in the forward pass (0 = first synaptic layer, fed by the analog input).
    tap_counts : tuple[tuple[int, ...], ...]
        For convolutions, per spatial dimension, the number of (output, tap) pairs each input position feeds;
        the fan-out of input element ``(c, i, j)`` is ``(C_out / groups) * tap_counts[0][i] * tap_counts[1][j]``.
        Empty for linear layers.
    fan_out_per_channel : int
        ``out_features`` for linear layers, ``C_out / groups`` for convolutions.
    """

    name: str
    type: str
    input_shape: tuple[int, ...]
    n_presynaptic: int
    connections: int
    order: int
    tap_counts: tuple[tuple[int, ...], ...] = ()
    fan_out_per_channel: int = 0

    @property
    def mean_fan_out(self) -> float:
        """Mean number of synapses driven by one presynaptic spike, ``connections / n_presynaptic``."""
        return self.connections / self.n_presynaptic

    def fan_out_map(self) -> torch.Tensor:
        """Fan-out of every presynaptic neuron, a float64 tensor of shape :attr:`input_shape`."""
        if not self.tap_counts:
            return torch.full(self.input_shape, float(self.fan_out_per_channel), dtype=torch.float64)
        m = torch.tensor(float(self.fan_out_per_channel), dtype=torch.float64)
        for taps in self.tap_counts:
            m = m.unsqueeze(-1) * torch.tensor(taps, dtype=torch.float64)
        return m.expand(self.input_shape).clone()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("tap_counts")
        d["mean_fan_out"] = self.mean_fan_out
        return d


def _tap_counts_1d(n_in: int, n_out: int, kernel: int, stride: int, padding: int, dilation: int) -> tuple[int, ...]:
    counts = [0] * n_in
    for o in range(n_out):
        start = o * stride - padding
        for k in range(kernel):
            i = start + k * dilation
            if 0 <= i < n_in:
                counts[i] += 1
    return tuple(counts)


def _fan_out_of(name: str, mod: nn.Module, x_shape: tuple[int, ...], out_shape: tuple[int, ...], order: int) -> FanOut:
    n_pre = _prod(x_shape)
    if isinstance(mod, nn.Linear):
        return FanOut(name=name, type=type(mod).__name__, input_shape=x_shape, n_presynaptic=n_pre,
                      connections=n_pre * mod.out_features, order=order, fan_out_per_channel=mod.out_features)
    if isinstance(mod.padding, str):
        raise NotImplementedError(f"{name}: string padding {mod.padding!r} is not supported by fan_out_table")
    nd = len(mod.kernel_size)
    spatial_in, spatial_out = x_shape[-nd:], out_shape[-nd:]
    taps = tuple(
        _tap_counts_1d(spatial_in[d], spatial_out[d], mod.kernel_size[d], mod.stride[d], mod.padding[d], mod.dilation[d])
        for d in range(nd)
    )
    per_channel = mod.out_channels // mod.groups
    channels = x_shape[0] if len(x_shape) == nd + 1 else 1
    connections = channels * per_channel * _prod(sum(t) for t in taps)
    return FanOut(name=name, type=type(mod).__name__, input_shape=x_shape, n_presynaptic=n_pre,
                  connections=connections, order=order, tap_counts=taps, fan_out_per_channel=per_channel)


_SYNAPTIC = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def fan_out_table(model: nn.Module, inputs: Any, *, kwargs: Mapping[str, Any] | None = None) -> dict[str, FanOut]:
    """Connectivity of every synaptic layer of ``model`` (``nn.Linear``, ``nn.Conv{1,2,3}d``), from one forward pass.

    Layers called several times in one pass (weight sharing) keep the first call. Transposed convolutions are not
    synaptic layers of a rate-coded SNN here and are skipped. Works on the ``meta`` device.

    Returns
    -------
    dict[str, FanOut]
        Keyed by qualified module name, in execution order.
    """
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    table: dict[str, FanOut] = {}
    names = {m: n for n, m in model.named_modules() if isinstance(m, _SYNAPTIC)}
    handles = []

    def hook(mod, a, out):
        name = names[mod]
        if name not in table:
            x = a[0]
            batched = x.dim() >= 2 if isinstance(mod, nn.Linear) else x.dim() == len(mod.kernel_size) + 2
            x_shape = tuple(x.shape[1:] if batched else x.shape)
            o_shape = tuple(out.shape[1:] if batched else out.shape)
            table[name] = _fan_out_of(name, mod, x_shape, o_shape, len(table))

    try:
        for mod in names:
            handles.append(mod.register_forward_hook(hook))
        with torch.no_grad():
            model(*args, **dict(kwargs or {}))
    finally:
        for h in handles:
            h.remove()
    return table


@dataclass(frozen=True)
class SynopsReport:
    """Result of :func:`synops`.

    Attributes
    ----------
    synops : float
        Synaptic operations per inference, summed over the layers given spikes.
    spikes : float
        Presynaptic spikes per inference over the same layers.
    by_layer : dict[str, float]
        Synops per layer name.
    silent_layers : tuple[str, ...]
        Synaptic layers of the table without a spike entry (e.g. the first layer, driven by analog input).
    """

    synops: float
    spikes: float
    by_layer: dict[str, float]
    silent_layers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def synops(
    model_or_layers: nn.Module | Mapping[str, FanOut],
    spikes: Mapping[str, float | torch.Tensor],
    *,
    inputs: Any = None,
) -> SynopsReport:
    r"""Synaptic operations of a spiking network from its spike counts.

    .. math:: \text{SynOps} = \sum_{l} \sum_{i \in \text{pre}(l)} s_i\, f_i

    where :math:`s_i` is the number of spikes of presynaptic neuron :math:`i` of layer :math:`l` per inference (all time
    steps) and :math:`f_i` its fan-out (:class:`FanOut`).

    Interface for ``vo2neuro.snn``
    ------------------------------
    The spiking network records, per synaptic layer, the spikes arriving at its input during one inference, averaged
    over the samples, and passes them keyed by the layer's qualified module name (``model.named_modules()``), e.g. from a
    forward pre-hook that sums the binary input tensor over time and batch and divides by the batch size. Either

    * a ``float``: total presynaptic spikes of the layer per inference; the synops are ``spikes x mean_fan_out``
      (exact for linear layers; for convolutions it assumes the spikes are spread evenly over positions), or
    * a tensor of the layer's per-sample input shape (:attr:`FanOut.input_shape`): mean spike count of every presynaptic
      neuron; the synops are exactly :math:`\sum_i s_i f_i`.

    Rates are converted to counts by the caller: ``count = rate [spikes / step] x timesteps``; for a firing rate in Hz,
    ``count = rate_hz x inference_time_s``.

    Parameters
    ----------
    model_or_layers : nn.Module or mapping of name -> FanOut
        The (ANN-equivalent) network, with ``inputs`` to trace its shapes, or a table from :func:`fan_out_table`.
    spikes : mapping of layer name -> float or tensor
        Presynaptic spikes per inference, as above.
    inputs : tuple, optional
        Forward inputs, needed when ``model_or_layers`` is a module (defaults to ``model.example_inputs(1)`` if the model
        has that method).

    Returns
    -------
    SynopsReport

    Raises
    ------
    ValueError
        If a name in ``spikes`` is not a synaptic layer (the message lists the valid names), a count is negative or not
        finite, or a tensor has the wrong shape.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> synops(net, {"2": 1.5}, inputs=(torch.zeros(1, 4),)).synops   # 1.5 spikes x fan-out 2
    3.0
    """
    if isinstance(model_or_layers, nn.Module):
        if inputs is None:
            if not hasattr(model_or_layers, "example_inputs"):
                raise ValueError("synops: inputs are required for a model without example_inputs()")
            inputs = model_or_layers.example_inputs(1)
        table = fan_out_table(model_or_layers, inputs)
    else:
        table = dict(model_or_layers)
    unknown = sorted(set(spikes) - set(table))
    if unknown:
        raise ValueError(f"synops: unknown layer(s) {unknown}; valid synaptic layers: {list(table)}")
    by_layer: dict[str, float] = {}
    total_spikes = 0.0
    for name, s in spikes.items():
        fo = table[name]
        if isinstance(s, torch.Tensor) and s.dim() > 0:
            if tuple(s.shape) != fo.input_shape:
                raise ValueError(f"synops: spikes[{name!r}] has shape {tuple(s.shape)}, expected {fo.input_shape}")
            s64 = s.detach().to("cpu", torch.float64)
            if not torch.isfinite(s64).all() or (s64 < 0).any():
                raise ValueError(f"synops: spikes[{name!r}] must be finite and >= 0 [spikes]")
            by_layer[name] = float((s64 * fo.fan_out_map()).sum())
            total_spikes += float(s64.sum())
        else:
            v = float(s)
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"synops: spikes[{name!r}] = {v} must be finite and >= 0 [spikes]")
            by_layer[name] = v * fo.mean_fan_out
            total_spikes += v
    silent = tuple(n for n in table if n not in spikes)
    return SynopsReport(synops=sum(by_layer.values()), spikes=total_spikes, by_layer=by_layer, silent_layers=silent)


def uniform_spikes(table: Mapping[str, FanOut], spikes_per_neuron: float, *, skip_first: bool = True) -> dict[str, float]:
    """Spike counts for :func:`synops` assuming every presynaptic neuron fires ``spikes_per_neuron`` times per inference.

    ``spikes_per_neuron`` = firing rate [spikes / time step] x time steps. With ``skip_first`` the first synaptic layer
    (fed by the analog input, counted as MACs in the SNN recipe) is left out.
    """
    if not math.isfinite(spikes_per_neuron) or spikes_per_neuron < 0:
        raise ValueError(f"spikes_per_neuron must be finite and >= 0 [spikes], got {spikes_per_neuron}")
    return {
        name: spikes_per_neuron * fo.n_presynaptic
        for name, fo in table.items()
        if not (skip_first and fo.order == 0)
    }
