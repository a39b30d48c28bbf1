r"""Surrogate-gradient (BPTT) training of a VO2-neuron SNN, with atomic, exactly resumable checkpoints.

Network (``arch``): ``mlp``, ``Linear -> VO2Neuron`` per layer (:class:`vo2neuro.snn.network.VO2MLP`), or a
convolutional network (:class:`vo2neuro.snn.network.VO2ConvNet`: ``conv`` = ``12C5-MP2-64C5-MP2`` + output
layer, or any spec of :func:`~vo2neuro.snn.network.parse_conv_spec`), which sees the images as ``[B, 1, H, W]``
(:data:`IMAGE_SHAPES`); weights in rheobase units.
Output: ``population`` VO2 neurons per class. Loss: cross-entropy on spike counts,

.. math:: \ell_c = \beta \sum_{t=1}^{T} \sum_{j \in \mathrm{pop}(c)} z_{t j}, \qquad
          L = -\log \operatorname{softmax}(\ell)_y ,

with ``beta = count_scale`` (per spike); the prediction is the class with most output spikes. Counting spikes of
the output oscillators is what the hardware can read out; the population (Pan et al. 2019 style; snntorch's
``ce_count_loss(population_code=True)`` for ``beta = 1``) gives the count enough resolution although a VO2 neuron
fires at most once per ``n_ref + 1`` steps.

Encodings (registry :data:`ENCODINGS`): ``current`` feeds each pixel as a constant input current (direct
encoding; the natural drive of an oscillator, whose rate codes the current through its f-I curve, and the
default); ``rate`` draws Bernoulli spike trains (``snntorch.spikegen.rate``); ``latency`` emits one spike per
pixel, earlier for brighter pixels (``snntorch.spikegen.latency``, linear, clipped).

Determinism and resume. All randomness (initialisation, shuffling, rate encoding) comes from generators seeded
by ``seed``; the checkpoint written atomically after every epoch holds model, optimiser, scheduler, epoch,
history, the RNG states (torch, numpy, python, shuffle generator), the config and the device the neuron was
derived from (:mod:`vo2neuro.snn.checkpoint`), so a run stopped after epoch ``k`` and resumed ends with the same
weights and metrics as an uninterrupted run on the same machine. A run that starts or resumes removes the
temporary files that a hard kill during an atomic write may have left in its folder.

Device. The neuron is derived from a device circuit (:func:`vo2neuro.snn.presets.circuit_neuron_for_device`): a
preset (``preset``, ``delta``) or the full parameter fields of a ``--params`` file (``device_params``,
``ambient_k``), which the checkpoint stores so that it is self-contained.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import tempfile  # noqa: F401  (used by the doctest of Trainer)
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from vo2neuro._io import atomic_write as _atomic_write
from vo2neuro.units import ParameterError
from vo2neuro.snn import checkpoint as _ckpt
from vo2neuro.snn.data import DATASETS, load_dataset
from vo2neuro.snn.network import VO2ConvNet, VO2MLP, check_arch, conv_feature_shapes, parse_conv_spec
from vo2neuro.snn.neuron import SURROGATES
from vo2neuro.snn.params import VO2NeuronParams
from vo2neuro.snn.presets import neuron_params_for_preset

__all__ = ["ENCODINGS", "SCHEDULES", "DEVICES", "IMAGE_SHAPES", "TrainConfig", "TrainResult", "Trainer", "train",
           "class_counts", "build_model", "resolve_device", "sized_for", "memory_estimate_bytes"]

ENCODINGS = ("current", "rate", "latency")
SCHEDULES = ("cosine", "step", "constant")
DEVICES = ("cpu", "cuda")
#: Image shape ``(channels, height, width)`` of each dataset, as a convolutional network sees it.
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28)}
CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.json"
CURVE_NAME = "training_curve.png"
# Config fields that may differ between a run and its resumption (they do not change the computation).
_RESUME_FREE = ("out_dir", "data_dir", "progress", "device_source")
#: Files a run writes into ``out_dir`` (their stale atomic-write temporaries are removed when a run starts).
OUTPUT_NAMES = (CHECKPOINT_NAME, METRICS_NAME, CURVE_NAME)


def _choice(name: str, value: str, valid) -> str:
    if value not in valid:
        raise ParameterError(f"{name}: unknown value {value!r}; valid: {', '.join(valid)}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """Everything that defines a training run (mirrored by ``vo2neuro train``).

    The defaults are the embedded target: ``train(dataset="digits")`` reaches >= 95 % test accuracy on the
    8x8 digits in well under a minute on 2 CPU cores.

    Parameters
    ----------
    dataset : {"digits", "mnist"}
    arch : str
        ``"mlp"`` (fully connected, default), a named convolutional architecture (``"conv"`` =
        ``12C5-MP2-64C5-MP2``, ``"conv-small"`` = ``12C5-MP2-32C5-MP2``, for MNIST) or a spec such as ``"8C3-MP2-16C3"``
        (:func:`vo2neuro.snn.network.parse_conv_spec`; checked against the dataset's image size).
    hidden : tuple of int or None
        Fully connected hidden layer widths (after the convolutions for a convolutional ``arch``); None: (256,)
        for ``mlp``, none for a convolutional network.
    steps : int
        Time steps T per sample (the sample lasts ``T dt`` of circuit time).
    batch_size, epochs : int
    lr : float
        Peak Adam learning rate [weights in rheobase units per step].
    schedule : {"cosine", "step", "constant"}
        Learning-rate schedule over all optimiser steps (cosine to 0; step: x0.1 at 50 % and 75 %).
    weight_decay : float
        Adam L2 penalty.
    encoding : {"current", "rate", "latency"}
    population : int
        Output neurons per class.
    count_scale : float
        Logit per output spike ``beta`` [-].
    surrogate, slope : str, float
        Surrogate derivative and slope on the normalised voltage.
    init_gain_input, init_gain_spiking : float
        Initial weight scales (see :mod:`vo2neuro.snn.network`); ``init_gain_spiking`` None: 12 for ``mlp``, 4 for a
        convolutional network (16C3-MP2 on digits, 8 epochs of T = 10, seeds 0-1: 93 % at 4, 79-80 % at 12).
    preset : str or None
        Device preset the neuron is derived from (``neuron_params_for_preset``), used when ``neuron`` and
        ``device_params`` are None.
    delta : float or None
        Oxygen-vacancy level replacing the preset's [-] (the neuron is re-derived from that film's circuit).
    device_params : dict or None
        Full :class:`~vo2neuro.device.VO2DeviceParams` fields (e.g. of a ``--params`` file, any ``delta``
        already applied); override ``preset`` and ``delta``.
    ambient_k : float or None
        Bath temperature of the neuron's circuit [K] (None: the preset's, or
        :func:`vo2neuro.device.default_ambient` of ``device_params``).
    device_source : str or None
        Provenance of ``device_params`` (``"file:PATH"``); not part of the computation.
    device_size_m : float or None
        Build the film of ``preset`` at this channel length [m] with the scale study's circuit
        (:func:`vo2neuro.snn.presets.sized_device`); None: the preset's own device in the network circuit.
    integration : str or None
        Integration scenario of ``device_size_m`` (:data:`vo2neuro.circuits.scaling.INTEGRATION`; None: on-chip).
    neuron : VO2NeuronParams or None
        Explicit neuron parameters (SI); override ``preset`` and ``device_params``.
    seed : int
    device : {"cpu", "cuda"}
    threads : int or None
        torch intra-op CPU threads during the run (None: leave torch's setting). The default 1 is fastest for
        these small GEMMs on a shared 2-core machine, where OpenMP spin-waiting made 2 threads up to 50x slower.
    out_dir : str
        Folder for checkpoint, metrics and plot.
    data_dir : str or None
        MNIST folder (see :func:`vo2neuro.snn.data.load_mnist`).
    progress : bool
        tqdm progress bars on stderr.
    """

    dataset: str = "digits"
    arch: str = "mlp"
    hidden: tuple[int, ...] | None = None
    steps: int = 25
    batch_size: int = 64
    epochs: int = 20
    lr: float = 1e-2
    schedule: str = "cosine"
    weight_decay: float = 0.0
    encoding: str = "current"
    population: int = 4
    count_scale: float = 0.5
    surrogate: str = "fast_sigmoid"
    slope: float = 2.0
    init_gain_input: float = 2.0
    init_gain_spiking: float | None = None
    preset: str | None = "vo2x"
    delta: float | None = None
    device_params: Mapping[str, Any] | None = None
    ambient_k: float | None = None
    device_source: str | None = None
    neuron: VO2NeuronParams | None = None
    device_size_m: float | None = None
    integration: str | None = None
    seed: int = 0
    device: str = "cpu"
    threads: int | None = 1
    out_dir: str = "output/snn"
    data_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        _choice("dataset", self.dataset, tuple(sorted(DATASETS)))
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("encoding", self.encoding, ENCODINGS)
        _choice("surrogate", self.surrogate, tuple(sorted(SURROGATES)))
        _choice("device", self.device, DEVICES)
        object.__setattr__(self, "arch", check_arch(self.arch))
        if self.hidden is None:
            object.__setattr__(self, "hidden", (256,) if self.arch == "mlp" else ())
        if self.init_gain_spiking is None:
            object.__setattr__(self, "init_gain_spiking", 12.0 if self.arch == "mlp" else 4.0)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("steps", "batch_size", "epochs", "population"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ParameterError(f"{name} must be an integer >= 1 [-], got {getattr(self, name)!r}")
        if any(h < 1 for h in self.hidden):
            raise ParameterError(f"hidden sizes must be >= 1 [-], got {self.hidden!r}")
        if self.arch != "mlp":
            conv_feature_shapes(parse_conv_spec(self.arch), IMAGE_SHAPES[self.dataset],
                                f"{self.arch} ({self.dataset})")
        for name in ("lr", "count_scale", "slope", "init_gain_input", "init_gain_spiking"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ParameterError(f"{name} must be a finite number > 0 [-], got {v!r}")
        if self.threads is not None and (int(self.threads) != self.threads or self.threads < 1):
            raise ParameterError(f"threads must be an integer >= 1 or None [-], got {self.threads!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ParameterError(f"weight_decay must be >= 0 [-], got {self.weight_decay!r}")
        if self.neuron is not None and not isinstance(self.neuron, VO2NeuronParams):
            object.__setattr__(self, "neuron", VO2NeuronParams.from_record(self.neuron))
        if self.device_params is not None:
            if not isinstance(self.device_params, Mapping):
                raise ParameterError(f"device_params must be a dict of device fields, got "
                                     f"{type(self.device_params).__name__}")
            object.__setattr__(self, "device_params", dict(self.device_params))
            _device_params(self.device_params)  # validated now, not when training starts
            if self.delta is not None:
                raise ParameterError("delta: device_params carry their own vacancy level; apply delta to the "
                                     "parameters first (vo2neuro.device.select(params_file=..., delta=...))")
        if self.ambient_k is not None and not (isinstance(self.ambient_k, (int, float)) and
                                               math.isfinite(self.ambient_k) and self.ambient_k > 0):
            raise ParameterError(f"ambient_k must be a finite temperature > 0 [K], got {self.ambient_k!r}")
        if self.neuron is None and self.device_params is None and not self.preset:
            raise ParameterError("preset: give a device preset, device parameters or a neuron")
        if self.integration is not None and self.device_size_m is None:
            raise ParameterError("integration: give device_size_m with integration (the default circuit has no "
                                 "scenario) [-]")
        if self.device_size_m is not None:
            v = self.device_size_m
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ParameterError(f"device_size_m must be a finite length > 0 [m], got {v!r}")
            if self.neuron is not None or self.device_params is not None or not self.preset:
                raise ParameterError("device_size_m: a sized device is built from a preset's film; give preset "
                                     "(not device_params or neuron) [-]")
            if self.integration is not None:
                from vo2neuro.circuits.scaling import check_integration

                check_integration(self.integration)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``neuron`` as its SI dict; ``arch`` always written, a record without it is ``mlp``)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["hidden"] = list(self.hidden)
        d["neuron"] = None if self.neuron is None else self.neuron.to_dict()
        d["device_params"] = None if self.device_params is None else dict(self.device_params)
        for name in _SIZE_FIELDS:  # written only for a sized device (records of other runs stay as they were)
            if d[name] is None:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["hidden"] = tuple(d.get("hidden", ()))
        if d.get("neuron") is not None:
            d["neuron"] = VO2NeuronParams.from_record(d["neuron"])
        return cls(**d)


#: TrainConfig fields of a sized device (``--device-size``); absent from the records of other runs.
_SIZE_FIELDS = ("device_size_m", "integration")


def sized_for(config: TrainConfig):
    """The :class:`~vo2neuro.snn.presets.SizedDevice` of ``config`` (None without ``device_size_m``)."""
    if config.device_size_m is None:
        return None
    from vo2neuro.snn.presets import DEFAULT_INTEGRATION, sized_device

    return sized_device(config.preset, float(config.device_size_m), config.integration or DEFAULT_INTEGRATION,
                        delta=config.delta, ambient=config.ambient_k)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """Outcome of :func:`train` (accuracies in [0, 1], times in seconds, paths as strings).

    ``train_s`` is the wall time of all epochs [s]; ``train_seconds`` (attribute and JSON key) is its deprecated
    alias, kept for one release.
    """

    test_accuracy: float
    train_accuracy: float
    epochs: int
    train_s: float
    checkpoint: str
    metrics: str
    curve: str
    history: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    neuron: dict = field(default_factory=dict)
    device: dict | None = None

    @property
    def train_seconds(self) -> float:
        """Deprecated alias of ``train_s`` [s] (one release)."""
        return self.train_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with the deprecated ``train_seconds`` alias of ``train_s``)."""
        return {**dataclasses.asdict(self), "train_seconds": self.train_s}


def _device_params(fields: Mapping[str, Any]):
    """:class:`VO2DeviceParams` of a field dict; every error a one-line ParameterError."""
    from vo2neuro.device.params import params_from_dict

    try:
        return params_from_dict(dict(fields))
    except ParameterError as exc:
        raise ParameterError(f"device_params: {' '.join(str(exc).split())}") from None
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"device_params: {exc}") from None


def resolve_device(config: TrainConfig):
    """The :class:`~vo2neuro.device.select.DeviceSelection` the neuron of ``config`` is derived from (None for an
    explicit ``config.neuron``)."""
    from vo2neuro.device.select import DeviceSelection, default_ambient, select

    if config.neuron is not None:
        return None
    if config.device_size_m is not None:
        return sized_for(config).selection
    if config.device_params is not None:
        params = _device_params(config.device_params)
        amb = config.ambient_k if config.ambient_k is not None else default_ambient(params)
        return DeviceSelection(params, float(amb), config.device_source or f"params:{params.name}")
    sel = select(config.preset, delta=config.delta)
    return sel if config.ambient_k is None else sel._replace(ambient_k=float(config.ambient_k))


def neuron_for(config: TrainConfig, selection=None) -> VO2NeuronParams:
    """The network neuron of ``config``: explicit, or derived from the circuit of its device."""
    from vo2neuro.snn.presets import circuit_neuron_for_device

    if config.neuron is not None:
        return config.neuron
    if config.device_size_m is not None:
        from vo2neuro.snn.presets import circuit_neuron_for_sized

        return circuit_neuron_for_sized(sized_for(config)).params
    if config.device_params is None and config.ambient_k is None:
        return neuron_params_for_preset(config.preset, delta=config.delta)
    sel = selection if selection is not None else resolve_device(config)
    return circuit_neuron_for_device(sel.params, sel.ambient_k).params


def build_model(config: TrainConfig, n_in: int, n_out: int, neuron: VO2NeuronParams) -> VO2MLP | VO2ConvNet:
    """The untrained network of ``config`` (``arch``) for ``n_in`` input pixels and ``n_out`` output neurons."""
    kw = dict(surrogate=config.surrogate, slope=config.slope, init_gain_input=config.init_gain_input,
              init_gain_spiking=config.init_gain_spiking)
    if config.arch == "mlp":
        return VO2MLP(n_in, config.hidden, n_out, neuron, **kw)
    shape = IMAGE_SHAPES[config.dataset]
    if math.prod(shape) != n_in:
        raise ParameterError(f"arch: the {config.dataset} images have {n_in} pixels, not the "
                             f"{'x'.join(map(str, shape))} a convolutional network expects [-]")
    return VO2ConvNet(shape, config.arch, config.hidden, n_out, neuron, **kw)


def class_counts(model: VO2MLP | VO2ConvNet, x: torch.Tensor, *, encoding: str, steps: int, population: int,
                 n_classes: int) -> torch.Tensor:
    """Output spike counts summed over each class population, ``[B, classes]`` [-] (the prediction is the argmax;
    ties go to the lower class index). ``x`` holds flattened images ``[B, pixels]``; a convolutional ``model``
    gets them as ``[B, *model.input_shape]`` (``[B, 1, 28, 28]`` for MNIST)."""
    if isinstance(model, VO2ConvNet):
        x = x.reshape(x.shape[0], *model.input_shape)
    if encoding == "current":
        out = model(x, steps=steps)
    elif encoding == "rate":
        from snntorch import spikegen
        out = model(spikegen.rate(x, num_steps=steps))
    else:
        from snntorch import spikegen
        out = model(spikegen.latency(x, num_steps=steps, normalize=True, linear=True, clip=True))
    return out.sum(0).view(x.shape[0], n_classes, population).sum(-1)


#: Bytes the training of one batch keeps per neuron and step (float32 currents, spikes, voltages and their
#: gradients): an upper estimate, about twice the 18 B measured on CPU (hidden 20000, 25 steps, batch 64).
_BYTES_PER_NEURON_STEP = 40


def memory_estimate_bytes(config: TrainConfig, n_in: int, n_out: int) -> int:
    """Memory a training run needs, estimated up front [bytes]: float32 weights with their gradient and the two
    Adam moments, and the activations of one batch over all steps (``_BYTES_PER_NEURON_STEP`` per neuron)."""
    if config.arch == "mlp":
        sizes = [int(n_in), *config.hidden, int(n_out)]
        n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        acts = config.batch_size * config.steps * (sum(sizes[1:]) + sizes[0])
    else:  # every feature map (convolution outputs and pooled spikes) counts as a layer of neurons
        shape = IMAGE_SHAPES[config.dataset]
        layers = parse_conv_spec(config.arch)
        maps = conv_feature_shapes(layers, shape, config.arch)
        c_in, n_params = shape[0], 0
        for layer in layers:
            if layer.kind == "conv":
                n_params += (c_in * layer.kernel ** 2 + 1) * layer.channels
                c_in = layer.channels
        fc = [math.prod(maps[-1]), *config.hidden, int(n_out)]
        n_params += sum((a + 1) * b for a, b in zip(fc[:-1], fc[1:]))
        acts = config.batch_size * config.steps * (math.prod(shape) + sum(math.prod(m) for m in maps) + sum(fc[1:]))
    return 4 * 4 * n_params + _BYTES_PER_NEURON_STEP * acts


def _memory_limit_bytes() -> int:
    """Physical memory of this machine [bytes] (a generous 64 GiB when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 * 2**30


def check_memory(config: TrainConfig, n_in: int, n_out: int) -> None:
    """ParameterError naming the estimate when a run cannot fit in this machine's memory."""
    need, have = memory_estimate_bytes(config, n_in, n_out), _memory_limit_bytes()
    if need > have:
        layers = ([n_in, *config.hidden, n_out] if config.arch == "mlp"
                  else f"{config.arch} + {[*config.hidden, n_out]}")
        raise ParameterError(f"hidden/steps/batch_size: the run needs about {need / 2**30:.3g} GiB "
                             f"(layers {layers}, {config.steps} steps, batch "
                             f"{config.batch_size}), more than this machine's {have / 2**30:.3g} GiB [bytes]")


@contextlib.contextmanager
def _torch_threads_kept():
    """Keep the calling thread's torch intra-op thread count across device and circuit code.

    The first parallel Numba kernel of a process (the circuit simulation that derives a device neuron, or
    ``numba.get_num_threads()``) starts Numba's OpenMP pool, which calls ``omp_set_num_threads(NUMBA_NUM_THREADS)``
    in the libgomp that torch shares: a ``torch.set_num_threads(n)`` made before is silently replaced by the core
    count. Left so, :meth:`Trainer.fit` would restore that count at its end, and work outside ``fit`` (or with
    ``threads=None``) would run with another thread count, hence another float summation order (oneDNN splits
    the convolution weight-gradient reduction across threads), than the caller chose.
    """
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _np_state_to_torch(state) -> dict:
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _np_state_from_torch(d) -> tuple:
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])


class Trainer:
    """Stateful driver of one run; :meth:`fit` trains (or resumes) to ``config.epochs``.

    Examples
    --------
    >>> from vo2neuro.snn.presets import EXAMPLE_NEURON
    >>> cfg = TrainConfig(dataset="digits", epochs=1, hidden=(16,), steps=5, out_dir=tempfile.mkdtemp(),
    ...                   progress=False, neuron=EXAMPLE_NEURON)
    >>> 0.0 <= Trainer(cfg).fit().test_accuracy <= 1.0
    True
    """

    def __init__(self, config: TrainConfig | None = None, **overrides: Any) -> None:
        # without a config the overrides build one, so that defaults depending on ``arch`` (hidden,
        # init_gain_spiking) follow it; replace() on a given config keeps its resolved values
        if config is None:
            cfg = TrainConfig(**overrides)
        else:
            cfg = dataclasses.replace(config, **overrides) if overrides else config
        self.config = cfg
        if cfg.device == "cuda" and not torch.cuda.is_available():
            raise ParameterError("device: 'cuda' requested but torch.cuda.is_available() is False; use cpu [-]")
        self.device = torch.device(cfg.device)
        with _torch_threads_kept():  # the circuit simulation of a device neuron may start Numba's OpenMP pool
            self.device_selection = resolve_device(cfg)
            self.neuron = neuron_for(cfg, self.device_selection)
        self.out_dir = Path(cfg.out_dir)
        self.checkpoint_path = self.out_dir / CHECKPOINT_NAME
        self.metrics_path = self.out_dir / METRICS_NAME
        self.curve_path = self.out_dir / CURVE_NAME

        self._seed_everything(cfg.seed)
        train_ds, test_ds = load_dataset(cfg.dataset, cfg.data_dir)
        self.x_train, self.y_train = (t.to(self.device) for t in train_ds.tensors)
        self.x_test, self.y_test = (t.to(self.device) for t in test_ds.tensors)
        self.n_classes = int(torch.max(self.y_train).item()) + 1
        check_memory(cfg, self.x_train.shape[1], self.n_classes * cfg.population)
        self.model = build_model(cfg, self.x_train.shape[1], self.n_classes * cfg.population,
                                 self.neuron).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.batches_per_epoch = math.ceil(len(self.y_train) / cfg.batch_size)
        total = cfg.epochs * self.batches_per_epoch
        if cfg.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total)
        elif cfg.schedule == "step":
            self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
                self.optimizer, milestones=[total // 2, (3 * total) // 4], gamma=0.1)
        else:
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self.train_seconds = 0.0

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _seed_everything(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, classes]`` = ``count_scale`` x output spike counts summed over each population."""
        cfg = self.config
        counts = class_counts(self.model, x, encoding=cfg.encoding, steps=cfg.steps, population=cfg.population,
                              n_classes=self.n_classes)
        return counts * cfg.count_scale

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
        """Accuracy in [0, 1] (class with most output spikes; ties go to the lower class index)."""
        self.model.eval()
        correct = 0
        for i in range(0, len(y), batch):
            correct += int((self._forward(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
        return correct / len(y)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": _ckpt.FORMAT_VERSION,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": self.history,
            "train_seconds": self.train_seconds,
            "config": self.config.to_dict(),
            "neuron": self.neuron.to_dict(),
            "sizes": list(self.model.sizes),
            "device": _ckpt.device_record(self.device_selection, sized_for(self.config)),
            "rng": {"torch": torch.get_rng_state(), "numpy": _np_state_to_torch(np.random.get_state()),
                    "python": random.getstate(), "shuffle": self.shuffle.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def save_checkpoint(self) -> Path:
        """Write the checkpoint atomically (temp file in the same folder, fsync, ``os.replace``)."""
        state = self.state_dict()
        _atomic_write(self.checkpoint_path, lambda f: torch.save(state, f))
        return self.checkpoint_path

    def load_checkpoint(self) -> bool:
        """Restore from ``checkpoint.pt`` if present (read and checked by :func:`vo2neuro.snn.checkpoint.load`);
        ParameterError if it is damaged or belongs to a different run."""
        if not self.checkpoint_path.exists():
            return False
        try:
            loaded = _ckpt.load(self.checkpoint_path, map_location=self.device)
        except ParameterError as exc:
            raise ParameterError(f"{exc}; delete it or choose another --out") from None
        ck = loaded.state
        mine, theirs = self.config.to_dict(), loaded.config.to_dict()
        diff = [k for k in mine if k not in _RESUME_FREE and mine[k] != theirs.get(k)]
        if not self.neuron.matches(loaded.neuron):
            diff.append("neuron parameters")
        if diff:
            raise ParameterError(f"checkpoint {self.checkpoint_path} was written with different settings "
                                 f"({', '.join(diff)}); use the same settings or another --out")
        self.model.load_state_dict(dict(loaded.weights))
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        self.epoch, self.history, self.train_seconds = ck["epoch"], ck["history"], ck["train_seconds"]
        rng = ck["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(_np_state_from_torch(rng["numpy"]))
        random.setstate(rng["python"])
        self.shuffle.set_state(rng["shuffle"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return True

    # ------------------------------------------------------------------ training
    def train_epoch(self) -> dict[str, float]:
        """One pass over the shuffled training set; returns the epoch's metrics."""
        from tqdm import tqdm

        cfg = self.config
        self.model.train()
        perm = torch.randperm(len(self.y_train), generator=self.shuffle).to(self.device)
        loss_sum, correct, seen = 0.0, 0, 0
        t0 = time.perf_counter()
        with tqdm(total=self.batches_per_epoch, file=sys.stderr, disable=not cfg.progress, leave=False,
                  desc=f"epoch {self.epoch + 1}/{cfg.epochs}", dynamic_ncols=True) as bar:
            for b in range(self.batches_per_epoch):
                idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                x, y = self.x_train[idx], self.y_train[idx]
                logits = self._forward(x)
                loss = F.cross_entropy(logits, y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.scheduler.step()
                loss_sum += loss.detach().item() * len(y)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(y)
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
                bar.update()
        seconds = time.perf_counter() - t0
        self.epoch += 1
        test_acc = self.evaluate(self.x_test, self.y_test)
        self.train_seconds += seconds
        row = {"epoch": self.epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
               "test_accuracy": test_acc, "lr": self.optimizer.param_groups[0]["lr"], "epoch_s": seconds,
                   "epoch_seconds": seconds}  # deprecated alias of epoch_s (one release)
        self.history.append(row)
        return row

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train to ``config.epochs`` (continuing from the checkpoint if ``resume``); checkpoint every epoch."""
        cfg = self.config
        threads = torch.get_num_threads()
        try:
            if cfg.threads is not None:
                torch.set_num_threads(cfg.threads)
            return self._fit(resume)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, resume: bool) -> TrainResult:
        cfg = self.config
        if resume and not self.load_checkpoint() and cfg.progress:
            print(f"vo2neuro: no checkpoint at {self.checkpoint_path}; starting from epoch 0", file=sys.stderr)
        self.remove_stale_temp_files()
        while self.epoch < cfg.epochs:
            row = self.train_epoch()
            self.save_checkpoint()
            _atomic_write(self.metrics_path, lambda f: f.write(json.dumps(self.history, indent=1).encode()))
            if cfg.progress:
                print(f"epoch {row['epoch']}/{cfg.epochs}: loss {row['train_loss']:.4f}, "
                      f"train {row['train_accuracy']:.4f}, test {row['test_accuracy']:.4f}, "
                      f"{row['epoch_s']:.1f} s", file=sys.stderr)
        if not self.history:
            raise ParameterError("epochs must be >= 1 [-]")
        plot_training_curve(self.history, self.curve_path)
        last = self.history[-1]
        return TrainResult(test_accuracy=last["test_accuracy"], train_accuracy=last["train_accuracy"],
                           epochs=self.epoch, train_s=self.train_seconds,
                           checkpoint=str(self.checkpoint_path), metrics=str(self.metrics_path),
                           curve=str(self.curve_path), history=list(self.history), config=cfg.to_dict(),
                           neuron=self.neuron.to_dict(), device=_ckpt.device_record(self.device_selection,
                                                                                     sized_for(cfg)))

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete the temporaries of this run's outputs that a hard kill during an atomic write left in
        ``out_dir`` (``.checkpoint.pt.<8 chars>.tmp`` and the like; nothing else is touched); returns them."""
        stale = _ckpt.stale_temp_files(self.out_dir, OUTPUT_NAMES)
        for f in stale:
            try:
                f.unlink()
            except FileNotFoundError:
                pass
        return stale


def plot_training_curve(history: list[dict[str, float]], path: str | os.PathLike) -> Path:
    """Loss and accuracies per epoch to a PNG (matplotlib, Agg backend, imported here only)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss [-]")
    ax2.plot(epochs, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    ax2.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="s", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy [%]")
    ax2.legend()
    fig.tight_layout()
    path = Path(path)
    try:
        _atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)
    return path


def train(config: TrainConfig | None = None, *, resume: bool = False, **overrides: Any) -> TrainResult:
    """Train a VO2-neuron SNN; ``train(dataset="digits")`` is the embedded default.

    Parameters
    ----------
    config : TrainConfig or None
        Run definition; fields can also be given as keyword ``overrides``.
    resume : bool
        Continue from ``<out_dir>/checkpoint.pt`` if it exists.

    Returns
    -------
    TrainResult
    """
    return Trainer(config, **overrides).fit(resume=resume)
