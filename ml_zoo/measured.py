r"""Spike counts measured in hardware-level runs of converted zoo networks, for the energy ledger.

Two halves:

* **Measuring** (:func:`layer_rates`, :class:`EventCounter`): run a converted network
  (:class:`vo2neuro.ml_zoo.convert.SpikingNetwork`: IF neurons, VO2 device neurons, or the circuit-level neurons of
  ``vo2neuro hw-eval --zoo``) and count, with forward pre-hooks on every ``nn.Linear``/``nn.Conv{1,2,3}d`` module of
  its graph, the events that reach each synaptic layer.
* **Reading** (:class:`MeasuredRun`, :func:`load_measured`): the JSON record a hardware-level run writes (kind
  :data:`RECORD_KIND`), validated; :func:`vo2neuro.ml_zoo.energy.energy_table` turns it into presynaptic spikes
  (``measured=[run, ...]``).

Counting rule
-------------
An **event** is a nonzero entry of a synaptic layer's input tensor in one time step; the layer's rate is

.. math:: r_l = \frac{\#\{\text{nonzero entries of the input of } l\}}{N_l \, T \, n}
   \quad [\text{events / presynaptic neuron / step}]

with :math:`N_l` its presynaptic neurons per sample, :math:`T` the time steps and :math:`n` the samples (a module
called several times in one step averages over its calls). Hence :math:`0 \le r_l \le 1`.

* For a layer fed by a neuron layer (directly or through flatten/reshape) an event is a **spike**: one per spiking
  presynaptic neuron per step. A VO2 neuron of ``k`` devices whose devices fire together in one step sends one event
  carrying the charge ``n q`` (one routed packet; the per-device spikes are in the neuron's own counter,
  ``SpikingNetwork.spike_counts()``).
* After an average pool, a residual addition, or a linear layer with no neuron in between (the linear bottleneck of
  DPDNet's blocks), a nonzero entry is one **routed event carrying a graded value**; such inputs are dense (a bias
  makes every entry nonzero), so their rate is close to 1: the honest cost of a layer that no spike drives.
* Layers with no neuron upstream (the first synaptic layer, fed by the analog input, and any layer encoding it) are
  **not** reported, like ``skip_first`` of the ledger: they stay MAC layers.

Units: rates in events (spikes) per presynaptic neuron per time step [spikes/neuron/step]; the ledger charges a layer
``rate x T`` presynaptic spikes per neuron per inference with ``T`` the run's steps.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vo2neuro.units import ParameterError, parse_count

__all__ = ["RECORD_KIND", "REQUIRED_KEYS", "EventCounter", "layer_rates", "input_kinds", "MeasuredRun",
           "measured_from_record", "load_measured"]

RECORD_KIND = "vo2neuro.hw_eval.zoo"
"""``kind`` of a hardware-level run record of a zoo network (``vo2neuro hw-eval --zoo NAME --record FILE``, or its
``--json`` output)."""

REQUIRED_KEYS = ("kind", "model", "network_config", "steps", "preset", "n_images", "d2d_sigma", "c2c_sigma", "seed",
                 "layer_rates")
"""Keys every record must have; ``dataset``, ``accuracy``, ``spikes_per_inference``, ``energy_per_inference_j`` and
``layer_inputs`` (:func:`input_kinds`) are read when present (``null`` allowed); any other key is ignored."""

_RATE_UNIT = "spikes/neuron/step"
_INPUT_KINDS = ("spikes", "graded", "input")
_SHAPE_MODULES = ("Flatten", "Unflatten", "Identity", "Dropout")
_SHAPE_FUNCS = ("flatten", "reshape", "view", "contiguous", "squeeze", "unsqueeze", "clone", "dropout")


# ----------------------------------------------------------------------------------------------------- measuring
def _synaptic_types() -> tuple[type, ...]:
    from vo2neuro.ml_zoo.synaptic import _SYNAPTIC

    return _SYNAPTIC


def _kinds(gm: Any, names: set[str]) -> dict[str, str]:
    """What feeds each synaptic module of the fx graph ``gm``: ``"input"`` (no neuron module, one with ``reset``,
    upstream: the analog input and its current-coded layers), ``"spikes"`` (a neuron module, looking through
    shape-only operations: flatten, reshape, view, identity, dropout) or ``"graded"`` (anything else with a neuron
    upstream: pooling, addition, a linear layer). Empty when ``gm`` has no fx graph."""
    graph = getattr(gm, "graph", None)
    if graph is None:
        return {}
    modules = dict(gm.named_modules())
    out: dict[str, str] = {}
    upstream: dict[Any, bool] = {}     # node -> a neuron lies on some path into it (itself included)
    for node in graph.nodes:
        fed = any(upstream[a] for a in node.all_input_nodes)
        upstream[node] = fed or (node.op == "call_module" and hasattr(modules.get(node.target), "reset"))
        if node.op != "call_module" or node.target not in names or not node.args or node.target in out:
            continue
        if not fed:
            out[node.target] = "input"
            continue
        src = node.args[0]
        while hasattr(src, "op"):
            shape_only = ((src.op == "call_module" and type(modules.get(src.target)).__name__ in _SHAPE_MODULES)
                          or (src.op in ("call_function", "call_method")
                              and getattr(src.target, "__name__", src.target) in _SHAPE_FUNCS))
            if not shape_only or not src.args:
                break
            src = src.args[0]
        is_neuron = getattr(src, "op", None) == "call_module" and hasattr(modules.get(src.target), "reset")
        out[node.target] = "spikes" if is_neuron else "graded"
    return out


def input_kinds(snn: Any) -> dict[str, str]:
    """What feeds each synaptic layer of the converted network ``snn`` (from its fx graph): ``"spikes"`` (a neuron
    layer, through flatten/reshape at most: its events are spikes), ``"graded"`` (a pooling, a residual addition or
    a linear layer without a neuron in between: routed graded values) or ``"input"`` (no neuron upstream: the
    analog input and the layers that encode it, left out of :func:`layer_rates`). Empty when the network has no fx
    graph.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vo2neuro.ml_zoo.convert import convert
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Linear(3, 1))
    >>> input_kinds(convert(net, torch.rand(16, 2)).snn)
    {'0': 'input', '2': 'spikes', '3': 'graded'}
    """
    gm = snn.graph_module
    syn = _synaptic_types()
    return _kinds(gm, {n for n, m in gm.named_modules() if n and isinstance(m, syn)})


class EventCounter:
    """Counts the events reaching every synaptic layer of a converted network while it runs (see the module's rule).

    Use it around any code that calls ``snn.graph_module`` once per time step (:func:`layer_rates` is one); a
    hardware-level runner that already loops over steps counts in the same run::

        with EventCounter(snn, output_layer="critic.action_proj") as counter:
            stats = run_the_network(snn, x, T)      # calls snn.graph_module(xb) T times per batch
        rates = counter.rates()

    Parameters
    ----------
    snn : SpikingNetwork
        Anything with a ``graph_module`` (an ``nn.Module``, usually an fx GraphModule).
    output_layer : str, optional
        Name of a synaptic layer outside the converted network that its output spikes drive (the TDDPG-Rec actor's
        action feeds ``critic.action_proj``): the nonzero entries of every ``graph_module`` output count as its
        events.

    Layers with no neuron upstream are left out (:func:`input_kinds`: ``"input"``); without an fx graph, the first
    synaptic module called.
    """

    def __init__(self, snn: Any, *, output_layer: str | None = None) -> None:
        gm = snn.graph_module
        syn = _synaptic_types()
        self._names = {m: n for n, m in gm.named_modules() if n and isinstance(m, syn)}
        if output_layer is not None and (not isinstance(output_layer, str) or not output_layer
                                         or output_layer in self._names.values()):
            raise ParameterError(f"output_layer: {output_layer!r} must name a layer outside the network "
                                 f"(not one of its synaptic layers) [-]")
        self._gm = gm
        self._output = output_layer
        self._kinds = _kinds(gm, set(self._names.values()))
        self._first: str | None = None
        self._events: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._handles: list[Any] = []

    def _hook(self, mod: Any, args: tuple) -> None:
        import torch

        name = self._names[mod]
        if self._first is None:
            self._first = name
        if not args or not isinstance(args[0], torch.Tensor):
            return
        self._add(name, args[0])

    def _add(self, name: str, x: Any) -> None:
        import torch

        self._events[name] = self._events.get(name, 0) + int(torch.count_nonzero(x.detach()))
        self._seen[name] = self._seen.get(name, 0) + x.numel()

    def _output_hook(self, mod: Any, args: tuple, out: Any) -> None:
        import torch

        if isinstance(out, torch.Tensor):
            self._add(self._output, out)

    def __enter__(self) -> "EventCounter":
        for mod in self._names:
            self._handles.append(mod.register_forward_pre_hook(self._hook))
        if self._output is not None:
            self._handles.append(self._gm.register_forward_hook(self._output_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    @property
    def excluded(self) -> tuple[str, ...]:
        """Layers left out as fed by the (analog) network input."""
        if self._kinds:
            return tuple(sorted(n for n, k in self._kinds.items() if k == "input"))
        return (self._first,) if self._first else ()

    def rates(self) -> dict[str, float]:
        """Events per presynaptic neuron per step [spikes/neuron/step] of every layer seen, in call order, without
        the input-fed layers."""
        skip = set(self.excluded)
        return {n: self._events[n] / self._seen[n] for n in self._seen if n not in skip and self._seen[n] > 0}


def layer_rates(snn: Any, x: Any, steps: int, *, batch_size: int = 500, output_layer: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Events per presynaptic neuron per time step of every synaptic layer of ``snn`` on inputs ``x``.

    Each batch: every neuron is reset (``snn.neurons()``), then ``snn.graph_module(xb)`` is called ``steps`` times
    (the input held constant, as :func:`vo2neuro.ml_zoo.convert.predictions_vs_steps` does); an
    :class:`EventCounter` counts the nonzero entries reaching each layer (the rule of this module).

    Parameters
    ----------
    snn : SpikingNetwork
        A converted network (IF, VO2 device or circuit-level neurons).
    x : tensor (n, ...)
        Inputs, n >= 1.
    steps : int
        Time steps per input, >= 1.
    batch_size : int
        Inputs simulated together.
    output_layer : str, optional
        See :class:`EventCounter`.
    progress : callable(done, total), optional
        Called after each batch with the inputs simulated so far.

    Returns
    -------
    dict[str, float]
        Layer name -> rate in [0, 1] [spikes/neuron/step]; the layer(s) fed by the network input are left out.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vo2neuro.ml_zoo.convert import convert
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> snn = convert(net, torch.rand(64, 2), steps=8).snn
    >>> sorted(layer_rates(snn, torch.rand(4, 2), 8))    # "0" is fed by the analog input
    ['2']
    """
    import torch

    steps = parse_count(steps, name="steps", minimum=1)
    batch_size = parse_count(batch_size, name="batch_size", minimum=1)
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] < 1:
        raise ParameterError("x: give a tensor of at least one input (shape (n, ...), n >= 1) [-]")
    neurons = snn.neurons() if hasattr(snn, "neurons") else []
    with torch.no_grad(), EventCounter(snn, output_layer=output_layer) as counter:
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            for _, m in neurons:
                m.reset()
            for _ in range(steps):
                snn.graph_module(xb)
            if progress is not None:
                progress(min(i + batch_size, x.shape[0]), x.shape[0])
    return counter.rates()


# ------------------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class MeasuredRun:
    """The spike rates of one hardware-level run of a zoo network, with the run's configuration.

    Attributes
    ----------
    source : str
        Where the record came from (its file name), used in error messages and flags.
    model : str
        Registry name (``vo2neuro zoo list``).
    network_config : str
        Configuration the run simulated (``"mnist"``, ``"digits"``, ``"small"``, ``"paper"``). The rates apply by
        layer name to the configuration of the ledger, e.g. a rate measured on DPDNet's MNIST configuration charges
        the same-named layer of the paper configuration (per presynaptic neuron; the flag says so).
    dataset : str or None
        Inputs of the run.
    steps : int
        Time steps T per inference of the run [steps].
    preset : str
        Device preset of the VO2 neurons.
    n_images : int
        Inputs simulated.
    d2d_sigma, c2c_sigma : float
        Relative device-to-device and cycle-to-cycle spread of the run [1].
    seed : int
        Random seed of the run.
    layer_rates : tuple of (str, float)
        Layer name and events per presynaptic neuron per step, in [0, 1] [spikes/neuron/step] (:func:`layer_rates`).
    accuracy, spikes_per_inference, energy_per_inference_j : float or None
        Copied from the record when present ([1], [spikes], [J]).
    layer_inputs : tuple of (str, str)
        Optional: layer name and what feeds it, ``"spikes"`` or ``"graded"`` (:func:`input_kinds`); the ledger's
        flag then says how many measured layers are spike-driven.
    """

    source: str
    model: str
    network_config: str
    dataset: str | None
    steps: int
    preset: str
    n_images: int
    d2d_sigma: float
    c2c_sigma: float
    seed: int
    layer_rates: tuple[tuple[str, float], ...]
    accuracy: float | None = None
    spikes_per_inference: float | None = None
    energy_per_inference_j: float | None = None
    layer_inputs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        where = f"measured: {self.source}"
        from vo2neuro.ml_zoo.registry import list_models

        if self.model not in list_models():
            raise ParameterError(f"{where}: model {self.model!r} is not a zoo model; valid: "
                                 f"{', '.join(list_models())} [-]")
        for key, value, minimum in (("steps", self.steps, 1), ("n_images", self.n_images, 1), ("seed", self.seed, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ParameterError(f"{where}: {key} must be a whole number >= {minimum} [-], got {value!r}")
        for key, value in (("d2d_sigma", self.d2d_sigma), ("c2c_sigma", self.c2c_sigma)):
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise ParameterError(f"{where}: {key} must be a finite number >= 0 [1], got {value!r}")
        if not self.layer_rates:
            raise ParameterError(f"{where}: layer_rates is empty (no synaptic layer measured) [{_RATE_UNIT}]")
        for name, rate in self.layer_rates:
            if not isinstance(name, str) or not name:
                raise ParameterError(f"{where}: layer_rates has an empty or non-text layer name {name!r} [-]")
            if not _is_number(rate) or not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
                raise ParameterError(f"{where}: layer_rates[{name!r}] must be a finite number in [0, 1] "
                                     f"[{_RATE_UNIT}], got {rate!r}")
        for name, kind in self.layer_inputs:
            if kind not in _INPUT_KINDS:
                raise ParameterError(f"{where}: layer_inputs[{name!r}] must be one of {', '.join(_INPUT_KINDS)} "
                                     f"[-], got {kind!r}")

    @property
    def inputs(self) -> dict[str, str]:
        """Layer name -> ``"spikes"``/``"graded"``/``"input"``, for the layers the record describes."""
        return dict(self.layer_inputs)

    @property
    def rates(self) -> dict[str, float]:
        """Layer name -> events per presynaptic neuron per step [spikes/neuron/step]."""
        return dict(self.layer_rates)

    def describe(self, applied_to: str | None = None) -> str:
        """The run's configuration in one phrase, e.g. ``circuit-level hw-eval, vo2x, T=64, 200 images, d2d 5 %,
        c2c 0 %, config mnist``; with ``applied_to`` another configuration, ``..., config mnist, rates applied by
        layer name to paper``."""
        text = (f"circuit-level hw-eval, {self.preset}, T={self.steps}, {self.n_images} images, "
                f"d2d {100 * self.d2d_sigma:g} %, c2c {100 * self.c2c_sigma:g} %, config {self.network_config}")
        if applied_to is not None and applied_to != self.network_config:
            text += f", rates applied by layer name to {applied_to}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The record's fields (``layer_rates`` as an object)."""
        return {"kind": RECORD_KIND, "source": self.source, "model": self.model,
                "network_config": self.network_config, "dataset": self.dataset, "steps": self.steps,
                "preset": self.preset, "n_images": self.n_images, "d2d_sigma": self.d2d_sigma,
                "c2c_sigma": self.c2c_sigma, "seed": self.seed, "layer_rates": self.rates,
                "accuracy": self.accuracy, "spikes_per_inference": self.spikes_per_inference,
                "energy_per_inference_j": self.energy_per_inference_j, "layer_inputs": self.inputs}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def measured_from_record(record: Mapping[str, Any], *, source: str = "record") -> MeasuredRun:
    """A :class:`MeasuredRun` from a record object (the parsed JSON of a hardware-level run); ``source`` names it
    in errors. Raises a one-line :class:`ParameterError` naming ``source`` and the bad key."""
    where = f"measured: {source}"
    if not isinstance(record, Mapping):
        raise ParameterError(f"{where}: expected a JSON object (a hw-eval --zoo record), got "
                             f"{type(record).__name__} [-]")
    if record.get("kind") != RECORD_KIND:
        raise ParameterError(f"{where}: kind must be {RECORD_KIND!r} (the record of `vo2neuro hw-eval --zoo NAME "
                             f"--record FILE`), got {record.get('kind')!r} [-]")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ParameterError(f"{where}: missing key(s) {', '.join(missing)} [-]")
    for key in ("model", "network_config", "preset"):
        if not isinstance(record[key], str) or not record[key]:
            raise ParameterError(f"{where}: {key} must be a non-empty text, got {record[key]!r} [-]")
    dataset = record.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        raise ParameterError(f"{where}: dataset must be a text or null, got {dataset!r} [-]")
    rates = record["layer_rates"]
    if not isinstance(rates, Mapping):
        raise ParameterError(f"{where}: layer_rates must be an object {{layer name: rate}} [{_RATE_UNIT}], got "
                             f"{type(rates).__name__}")
    optional = {}
    for key, unit in (("accuracy", "1"), ("spikes_per_inference", "spikes"), ("energy_per_inference_j", "J")):
        v = record.get(key)
        if v is not None and (not _is_number(v) or not math.isfinite(v) or v < 0):
            raise ParameterError(f"{where}: {key} must be a finite number >= 0 or null [{unit}], got {v!r}")
        optional[key] = None if v is None else float(v)
    inputs = record.get("layer_inputs") or {}
    if not isinstance(inputs, Mapping):
        raise ParameterError(f"{where}: layer_inputs must be an object {{layer name: spikes|graded}} or null [-], "
                             f"got {type(inputs).__name__}")
    d2d, c2c = record["d2d_sigma"], record["c2c_sigma"]
    return MeasuredRun(
        source=source, model=record["model"], network_config=record["network_config"], dataset=dataset,
        steps=record["steps"], preset=record["preset"], n_images=record["n_images"],
        d2d_sigma=float(d2d) if _is_number(d2d) else d2d, c2c_sigma=float(c2c) if _is_number(c2c) else c2c,
        seed=record["seed"], layer_rates=tuple((k, float(v) if _is_number(v) else v) for k, v in rates.items()),
        layer_inputs=tuple(inputs.items()), **optional)


def load_measured(path: Any) -> MeasuredRun:
    """Read and validate a hardware-level run record (JSON, kind :data:`RECORD_KIND`).

    Every problem (missing file, not UTF-8, not JSON, wrong kind, missing keys, a rate outside [0, 1] or not finite,
    a model not in the registry) raises a one-line :class:`ParameterError` naming the file and the key.
    """
    from vo2neuro._io import read_input_text

    p, text = read_input_text(path, "measured", "JSON")
    try:
        record = json.loads(text)   # NaN/Infinity are read, then refused by the key they stand for
    except ValueError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError(f"measured: {p} is not JSON ({msg}) [-]") from None
    return measured_from_record(record, source=str(p))
