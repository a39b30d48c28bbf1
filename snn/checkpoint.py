"""Checkpoint files of ``vo2neuro train``: one path from a file to a network.

:func:`load` reads exactly the file it is given and checks it before anything uses it: the format version, the
keys (none missing, none unknown), the run configuration, the neuron parameters, the device description and the
architecture (every layer's weight and bias shape against the configured architecture: the widths of a fully
connected network; the channels, kernels and feature-map sizes on the dataset's images of a convolutional one).
Every problem is a one-line :class:`~vo2neuro.units.ParameterError` naming the file. ``vo2neuro hw-eval``,
``vo2neuro compare`` and the resume of ``vo2neuro train`` all read checkpoints through it.

File layout (a ``torch.save`` dict, read with ``weights_only=True``)::

    format          FORMAT_VERSION (1: before the device description; 2: current)
    config          TrainConfig.to_dict(); its ``arch`` names the architecture (absent in older files: ``mlp``)
    neuron          VO2NeuronParams.to_dict() of the trained network [SI]
    model           VO2MLP state dict: linears.<k>.weight [n_k+1, n_k], linears.<k>.bias [n_k+1]; for a
                    convolutional arch (VO2ConvNet) also convs.<j>.weight [c_j+1, c_j, k, k], convs.<j>.bias
                    [c_j+1], and linears.0 takes the flattened last feature map
    sizes           neurons per layer: n_in, hidden..., n_out (format 2); a convolutional network lists the
                    c h w neurons of each convolution before its fully connected layers
    device          {"params": VO2DeviceParams fields, "source": str, "ambient_k": K} the neuron was derived
                    from, or None for a hand-set neuron (format 2): a checkpoint trained on a parameter file is
                    self-contained
    epoch, history, train_seconds, optimizer, scheduler, rng    the training state of an exact resume
"""
from __future__ import annotations

import difflib
import math
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from vo2neuro.units import ParameterError

__all__ = ["Checkpoint", "load", "device_record", "device_from_record", "FORMAT_VERSION", "SUPPORTED_FORMATS", "stale_temp_files"]

#: Format version written by this vo2neuro.
FORMAT_VERSION = 2
#: Versions :func:`load` reads.
SUPPORTED_FORMATS = (1, 2)

_COMMON = ("format", "epoch", "model", "optimizer", "scheduler", "history", "train_seconds", "config", "neuron", "rng")
_KEYS = {1: frozenset(_COMMON), 2: frozenset((*_COMMON, "sizes", "device"))}
#: TrainConfig fields that format 1 did not have yet (their defaults apply when absent).
_CONFIG_ADDED_IN_2 = frozenset({"device_params", "ambient_k", "device_source"})
_DEVICE_KEYS = frozenset({"params", "source", "ambient_k"})
#: Optional key of the ``device`` entry: the circuit of a sized device (``--device-size``).
_CIRCUIT_KEY = "circuit"
#: TrainConfig fields that may be absent: those written only for a sized device, and ``arch`` (files written
#: before convolutional networks; the default ``mlp`` applies).
_CONFIG_OPTIONAL = frozenset({"device_size_m", "integration", "arch"})


def _names(unknown, valid) -> str:
    """``'colour' (did you mean 'count_scale'?), 'x'``: unknown keys with the closest valid one, if any."""
    out = []
    for k in unknown:
        close = difflib.get_close_matches(str(k), [str(v) for v in valid], n=1)
        out.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(out)


@dataclass(frozen=True)
class Checkpoint:
    """A checked checkpoint file.

    Attributes
    ----------
    path : Path
        The file read.
    format_version : int
    config : TrainConfig
        Run configuration (``out_dir`` as written).
    neuron : VO2NeuronParams
        Neuron of the trained network [SI].
    sizes : tuple of int
        Layer widths ``(n_in, hidden..., n_out)`` [-]; ``n_out = classes x population``.
    weights : mapping
        The network's state dict (read-only view): ``linears.<k>.weight`` and ``linears.<k>.bias`` in rheobase
        units [-].
    device : DeviceSelection or None
        Device parameters, bath temperature and provenance the neuron was derived from (None: a hand-set neuron;
        format 1 files name only a preset, resolved again here).
    circuit : dict or None
        For a sized device (``--device-size``): its description (size, integration scenario, load ``r_load_ohm``
        and the node capacitance split ``node_capacitance``); None: the network circuit (``NETWORK_CIRCUIT``).
    epoch, history, train_seconds : training progress (epochs done, per-epoch metrics, seconds)
    state : mapping
        The whole file (optimiser, scheduler and RNG states for an exact resume).
    """

    path: Path
    format_version: int
    config: Any
    neuron: Any
    sizes: tuple[int, ...]
    weights: Mapping[str, Any] = field(repr=False)
    device: Any
    epoch: int
    history: tuple[dict, ...] = field(repr=False)
    train_seconds: float
    state: Mapping[str, Any] = field(repr=False)
    circuit: Any = None

    @property
    def arch(self) -> str:
        """Architecture: ``"mlp"`` (:class:`~vo2neuro.snn.network.VO2MLP`) or a convolutional name or spec
        (:class:`~vo2neuro.snn.network.VO2ConvNet`, e.g. ``"conv"``)."""
        return self.config.arch

    @property
    def n_classes(self) -> int:
        """Classes of the output layer (``n_out / population``) [-]."""
        return self.sizes[-1] // self.config.population

    def model(self, neuron=None):
        """The trained network (:class:`~vo2neuro.snn.network.VO2MLP`, or
        :class:`~vo2neuro.snn.network.VO2ConvNet` for a convolutional ``arch``) in eval mode (``neuron`` replaces
        the trained one).

        The caller's torch random state is left as it was (building the network draws initial weights that the
        checkpoint's then replace).
        """
        import torch

        from vo2neuro.snn.train import build_model

        with torch.random.fork_rng(devices=[]):
            net = build_model(self.config, self.sizes[0], self.sizes[-1],
                              neuron if neuron is not None else self.neuron)
        net.load_state_dict(dict(self.weights))
        return net.eval()


def device_record(selection, sized=None) -> dict[str, Any] | None:
    """The ``device`` entry of a checkpoint for a :class:`~vo2neuro.device.select.DeviceSelection` (or None); a
    :class:`~vo2neuro.snn.presets.SizedDevice` ``sized`` adds its circuit (``circuit``: size, scenario, load and
    node capacitance split)."""
    if selection is None:
        return None
    rec = {"params": selection.params.to_dict(), "source": str(selection.source),
           "ambient_k": float(selection.ambient_k)}
    if sized is not None:
        rec[_CIRCUIT_KEY] = sized.to_dict()
    return rec


def load(path, *, map_location: Any = "cpu") -> Checkpoint:
    """Read and check the checkpoint ``path`` (exactly that file).

    Parameters
    ----------
    path : path
        A file written by ``vo2neuro train`` (``checkpoint.pt``, or a copy under any name).
    map_location : str or torch.device
        Where the tensors go (``torch.load``).

    Returns
    -------
    Checkpoint

    Raises
    ------
    ParameterError
        One line naming the file: not found, unreadable, not a training checkpoint, unsupported format version,
        missing or unknown keys, invalid configuration, neuron or device, or layer shapes that do not match the
        configured architecture.
    """
    import torch

    p = Path(path)
    where = f"checkpoint: {p}"
    if not p.is_file():
        raise ParameterError(f"{where}: {'is a folder, expected a file' if p.is_dir() else 'file not found'} [path]")
    try:
        data = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises assorted types for a damaged or foreign file
        raise ParameterError(f"{where}: cannot be read as a torch checkpoint ({type(exc).__name__}); expected a "
                             "file written by `vo2neuro train`") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: holds a {type(data).__name__}, not a `vo2neuro train` checkpoint dict")
    version = data.get("format")
    if version is None:
        raise ParameterError(f"{where}: lacks the key 'format'; not a `vo2neuro train` checkpoint")
    if isinstance(version, bool) or version not in SUPPORTED_FORMATS:
        raise ParameterError(f"{where}: format version {version!r} is not supported; this vo2neuro reads "
                             f"{', '.join(map(str, SUPPORTED_FORMATS))}")
    keys = set(data)
    missing, extra = sorted(_KEYS[version] - keys), sorted(keys - _KEYS[version])
    if missing:
        raise ParameterError(f"{where}: lacks key(s) {', '.join(map(repr, missing))} of format {version}")
    if extra:
        raise ParameterError(f"{where}: has unknown key(s) {_names(extra, _KEYS[version])} for format {version}")
    config = _config(data["config"], version, where)
    neuron = _neuron(data["neuron"], where)
    sizes = _architecture(data["model"], config, where)
    if version >= 2:
        stored = data["sizes"]
        if not isinstance(stored, (list, tuple)) or tuple(stored) != sizes:
            raise ParameterError(f"{where}: 'sizes' {stored!r} does not match the layer shapes {list(sizes)}")
        device = device_from_record(data["device"], where)
        circuit = _circuit(data["device"], where)
    else:
        device = circuit = None
        if config.neuron is None:
            from vo2neuro.device.select import select

            try:
                device = select(config.preset, delta=config.delta)
            except ParameterError as exc:
                raise ParameterError(f"{where}: config: {exc}") from None
    if device is None and config.neuron is None:
        raise ParameterError(f"{where}: 'device' is None although the neuron was derived from a device (config "
                             "neuron is None)")
    epoch = data["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ParameterError(f"{where}: 'epoch' must be a whole number >= 0, got {epoch!r}")
    history = data["history"]
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise ParameterError(f"{where}: 'history' must be a list of per-epoch records")
    seconds = data["train_seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise ParameterError(f"{where}: 'train_seconds' must be a finite number [s], got {seconds!r}")
    return Checkpoint(path=p, format_version=int(version), config=config, neuron=neuron, sizes=sizes,
                      weights=types.MappingProxyType(dict(data["model"])), device=device, epoch=epoch,
                      history=tuple(history), train_seconds=float(seconds), state=types.MappingProxyType(data),
                      circuit=circuit)


def _config(d: Any, version: int, where: str):
    import dataclasses

    from vo2neuro.snn.train import TrainConfig

    if not isinstance(d, dict):
        raise ParameterError(f"{where}: 'config' must be a dict of TrainConfig fields, got {type(d).__name__}")
    valid = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(d) - valid)
    if unknown:
        raise ParameterError(f"{where}: config has unknown key(s) {_names(unknown, valid)}")
    needed = valid - (_CONFIG_ADDED_IN_2 if version < 2 else frozenset()) - _CONFIG_OPTIONAL
    missing = sorted(needed - set(d))
    if missing:
        raise ParameterError(f"{where}: config lacks key(s) {', '.join(map(repr, missing))}")
    try:
        return TrainConfig.from_dict(d)
    except ParameterError as exc:
        raise ParameterError(f"{where}: config: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: config: {exc}") from None


def _neuron(d: Any, where: str):
    from vo2neuro.snn.params import VO2NeuronParams

    if not isinstance(d, dict):
        raise ParameterError(f"{where}: 'neuron' must be a dict of VO2NeuronParams fields, got {type(d).__name__}")
    units = VO2NeuronParams.units()
    unknown, missing = sorted(set(d) - set(units)), sorted(set(units) - set(d))
    if unknown:
        raise ParameterError(f"{where}: neuron has unknown key(s) {_names(unknown, units)}")
    if missing:
        raise ParameterError(f"{where}: neuron lacks " + ", ".join(f"{k} [{units[k]}]" for k in missing))
    try:
        return VO2NeuronParams.from_record(d)
    except (ParameterError, TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: neuron: {exc}") from None


def _architecture(model: Any, config, where: str) -> tuple[int, ...]:
    """Layer widths from the state dict, checked against the configured hidden widths and population."""
    import torch

    if not isinstance(model, dict):
        raise ParameterError(f"{where}: 'model' must be a state dict, got {type(model).__name__}")
    if config.arch != "mlp":
        return _conv_architecture(model, config, where)
    n_layers = len(config.hidden) + 1
    expected = {f"linears.{k}.{w}" for k in range(n_layers) for w in ("weight", "bias")}
    missing, extra = sorted(expected - set(model)), sorted(set(model) - expected)
    arch = f"{n_layers} layers (hidden {list(config.hidden)})"
    if missing:
        raise ParameterError(f"{where}: model lacks {', '.join(missing)} of the configured {arch}")
    if extra:
        raise ParameterError(f"{where}: model has {_names(extra, expected)}, not part of the configured {arch}")
    sizes: list[int] = []
    for k in range(n_layers):
        w, b = model[f"linears.{k}.weight"], model[f"linears.{k}.bias"]
        if not (isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)) or w.dim() != 2 or b.dim() != 1:
            raise ParameterError(f"{where}: linears.{k} must hold a 2-D weight and a 1-D bias tensor")
        n_out, n_in = (int(s) for s in w.shape)
        if k == 0:
            sizes.append(n_in)
        elif n_in != sizes[-1]:
            raise ParameterError(f"{where}: linears.{k}.weight takes {n_in} inputs but layer {k - 1} has "
                                 f"{sizes[-1]} neurons")
        if int(b.shape[0]) != n_out:
            raise ParameterError(f"{where}: linears.{k}.bias has {int(b.shape[0])} entries, the weight {n_out} rows")
        if not bool(torch.isfinite(w).all()) or not bool(torch.isfinite(b).all()):
            raise ParameterError(f"{where}: linears.{k} holds non-finite weights")
        sizes.append(n_out)
    if tuple(sizes[1:-1]) != tuple(config.hidden):
        raise ParameterError(f"{where}: hidden layer widths {sizes[1:-1]} do not match the config's "
                             f"{list(config.hidden)} (a checkpoint of another architecture)")
    if sizes[-1] % config.population:
        raise ParameterError(f"{where}: output width {sizes[-1]} is not a multiple of the config's population "
                             f"{config.population}")
    return tuple(sizes)


def _conv_architecture(model: dict, config, where: str) -> tuple[int, ...]:
    """Neurons per layer of a convolutional network's state dict; every tensor's shape checked against the shape
    the configured spec, hidden widths and the dataset's images give it (the output width only has to be a
    multiple of the population)."""
    import torch

    from vo2neuro.snn.network import conv_feature_shapes, parse_conv_spec
    from vo2neuro.snn.train import IMAGE_SHAPES

    shape = IMAGE_SHAPES[config.dataset]
    layers = parse_conv_spec(config.arch)
    maps = conv_feature_shapes(layers, shape, config.arch)
    expected: dict[str, tuple[int, ...] | None] = {}
    c_in, j = shape[0], 0
    for layer in layers:
        if layer.kind == "conv":
            expected[f"convs.{j}.weight"] = (layer.channels, c_in, layer.kernel, layer.kernel)
            expected[f"convs.{j}.bias"] = (layer.channels,)
            c_in, j = layer.channels, j + 1
    fc = [math.prod(maps[-1]), *config.hidden]
    for k, (a, b) in enumerate(zip(fc[:-1], fc[1:])):
        expected[f"linears.{k}.weight"], expected[f"linears.{k}.bias"] = (b, a), (b,)
    out = len(fc) - 1
    expected[f"linears.{out}.weight"] = expected[f"linears.{out}.bias"] = None  # n_out: read from the file
    arch = f"architecture {config.arch} (hidden {list(config.hidden)}) on {'x'.join(map(str, shape))} images"
    missing, extra = sorted(set(expected) - set(model)), sorted(set(model) - set(expected))
    if missing:
        raise ParameterError(f"{where}: model lacks {', '.join(missing)} of the configured {arch}")
    if extra:
        raise ParameterError(f"{where}: model has {_names(extra, expected)}, not part of the configured {arch}")
    w_out = model[f"linears.{out}.weight"]
    if not isinstance(w_out, torch.Tensor) or w_out.dim() != 2:
        raise ParameterError(f"{where}: linears.{out} must hold a 2-D weight tensor")
    n_out = int(w_out.shape[0])
    expected[f"linears.{out}.weight"], expected[f"linears.{out}.bias"] = (n_out, fc[-1]), (n_out,)
    for name, want in expected.items():
        t = model[name]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != want:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ParameterError(f"{where}: {name} has shape {got}, the configured {arch} needs {want} (a "
                                 "checkpoint of another architecture)")
        if not bool(torch.isfinite(t).all()):
            raise ParameterError(f"{where}: {name} holds non-finite weights")
    if n_out % config.population:
        raise ParameterError(f"{where}: output width {n_out} is not a multiple of the config's population "
                             f"{config.population}")
    convs = [math.prod(m) for layer, m in zip(layers, maps) if layer.kind == "conv"]
    return (math.prod(shape), *convs, *config.hidden, n_out)


def device_from_record(d: Any, where: str):
    """The :class:`~vo2neuro.device.select.DeviceSelection` of a checkpoint's ``device`` record (None for a
    hand-set neuron); a malformed record is a one-line ParameterError naming ``where``."""
    from vo2neuro.device.params import params_from_dict
    from vo2neuro.device.select import DeviceSelection

    if d is None:
        return None
    if not isinstance(d, dict):
        raise ParameterError(f"{where}: 'device' must be a dict or None, got {type(d).__name__}")
    missing, extra = sorted(_DEVICE_KEYS - set(d)), sorted(set(d) - _DEVICE_KEYS - {_CIRCUIT_KEY})
    if missing or extra:
        raise ParameterError(f"{where}: 'device' must have exactly the keys params, source, ambient_k (and "
                             f"optionally circuit)"
                             f"{'; lacks ' + ', '.join(missing) if missing else ''}"
                             f"{'; unknown ' + ', '.join(extra) if extra else ''}")
    if not isinstance(d["params"], dict):
        raise ParameterError(f"{where}: device params must be a dict of VO2DeviceParams fields")
    try:
        params = params_from_dict(d["params"])
    except (ParameterError, TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: device: {' '.join(str(exc).split())}") from None
    amb = d["ambient_k"]
    if isinstance(amb, bool) or not isinstance(amb, (int, float)) or not math.isfinite(amb) or amb <= 0:
        raise ParameterError(f"{where}: device ambient_k must be a finite temperature > 0 [K], got {amb!r}")
    return DeviceSelection(params, float(amb), str(d["source"]))


def _circuit(d: Any, where: str) -> dict[str, Any] | None:
    """The ``circuit`` record of a sized device's ``device`` entry (None when absent), its numbers checked."""
    if not isinstance(d, dict) or d.get(_CIRCUIT_KEY) is None:
        return None
    c = d[_CIRCUIT_KEY]
    node = c.get("node_capacitance") if isinstance(c, dict) else None
    if not isinstance(node, dict):
        raise ParameterError(f"{where}: device circuit must be a dict with r_load_ohm [Ohm] and node_capacitance")
    for name, v, unit in (("r_load_ohm", c.get("r_load_ohm"), "Ohm"), ("node_capacitance total_f",
                                                                       node.get("total_f"), "F")):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ParameterError(f"{where}: device circuit {name} must be a finite number > 0 [{unit}], got {v!r}")
    return dict(c)


#: Names of the files a training run writes; their atomic-write temporaries are ``.<name>.<8 chars>.tmp``.
_TEMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")


def stale_temp_files(folder, names) -> list[Path]:
    """Temporary files that :func:`vo2neuro._io.atomic_write` left in ``folder`` for the files ``names`` (a run
    killed hard, SIGKILL or power loss, during a write): ``.<name>.<8 random characters>.tmp``, nothing else."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = set(names)
    out = []
    for f in sorted(folder.iterdir()):
        m = _TEMP.match(f.name)
        if m and m.group("name") in names and f.is_file() and not f.is_symlink():
            out.append(f)
    return out
