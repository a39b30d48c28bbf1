"""``vo2neuro train`` and ``vo2neuro hw-eval``: the BP-SNN trainer and hardware-level inference (``vo2neuro.snn``).

``register(subparsers)`` adds the subcommands; every option is typed through :mod:`vo2neuro.cli._util` (or a
registry whose error lists the valid names), so bad input is refused at parse time, before any work. The handlers
resolve the device (:func:`vo2neuro.cli._util.select_device`), print JSON (``--json``) or a summary to stdout and
progress to stderr, and raise :class:`~vo2neuro.units.ParameterError` for input that only the library can judge
(``vo2neuro.cli.main`` prints it on one line and exits 2). torch is imported only when a command runs.
"""
from __future__ import annotations

import argparse
import sys

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import (add_device_args, check_output_dir, choice_type, in_dir, in_file, int_type,
                                integration_type, out_dir, select_device, si_type, value_type)
from vo2neuro.cli.interop import add_nir_args, check_nir_args, cmd_hw_eval_nir
from vo2neuro.cli.zoo_hw import add_zoo_args, cmd_hw_eval_zoo, zoo_mode
from vo2neuro.cli.learn import LEARN_OPTIONS, add_learn_args, cmd_learn
from vo2neuro.units import ParameterError

__all__ = ["register", "cmd_train", "cmd_hw_eval", "device_selection", "DEFAULT_PRESET", "add_size_args",
           "check_size_args"]

#: Device of ``train`` when neither --preset nor --params is given.
DEFAULT_PRESET = "vo2x"
# The registries' names, spelled out so that building the parser does not import torch (vo2neuro.snn does);
# tests/unit/snn/test_cli_snn.py checks them against vo2neuro.snn.data.DATASETS and vo2neuro.snn.train.
_DATASETS = ("digits", "mnist")
_ENCODINGS = ("current", "rate", "latency")
_DEVICES = ("cpu", "cuda")


def _help(p: argparse.ArgumentParser, option: str, text: str) -> None:
    """Replace the help of an option added by a shared helper (to state this command's default)."""
    for action in p._actions:
        if option in action.option_strings:
            action.help = text
            return
    raise KeyError(option)


def device_selection(args: argparse.Namespace, default_preset: str | None = DEFAULT_PRESET):
    """``--preset/--delta/--params`` resolved (``default_preset`` when neither --preset nor --params is given)."""
    if args.preset is None and args.params is None and default_preset is not None:
        args = argparse.Namespace(**{**vars(args), "preset": default_preset})
    return select_device(args)


def add_size_args(p: argparse.ArgumentParser) -> None:
    """Add ``--device-size L`` and ``--integration NAME`` (a preset's film built at channel length L)."""
    p.add_argument("--device-size", type=si_type("device-size", "m", positive=True), default=None, metavar="L",
                   help="build the preset's film at channel length L [m] (e.g. 100n; square channel, thickness "
                        "min(100 nm, L)) with the scale study's load and node capacitance (default: the preset's "
                        "own device in the 12 kOhm / 145.35 pF network circuit)")
    p.add_argument("--integration", type=integration_type(), default=None,
                   help="parasitic scenario of the sized device, with --device-size: on-chip (a few fF, default) "
                        "or probe-station (145 pF)")


def check_size_args(args: argparse.Namespace, *, preset_option: str = "--preset") -> None:
    """ParameterError for ``--integration`` without ``--device-size`` or ``--device-size`` with ``--params``."""
    if args.integration is not None and args.device_size is None:
        raise ParameterError("integration: only used with --device-size (the default circuit has no scenario) [-]")
    if args.device_size is not None and getattr(args, "params", None):
        raise ParameterError(f"device-size: a sized device is built from a preset's film; give {preset_option}, "
                             "not --params [-]")


def arch_type(option: str = "arch"):
    """argparse ``type=`` for ``--arch``: ``mlp``, a named architecture or a convolutional spec, returned in
    canonical form (:func:`vo2neuro.snn.network.check_arch`; torch is imported only when the option is given)."""

    def check(text: str) -> str:
        from vo2neuro.snn.network import check_arch

        return check_arch(text)

    return value_type(option, check)


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` and ``hw-eval`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "train", help="train a BP-SNN of VO2 oscillator neurons",
        description="Train an SNN of VO2 relaxation-oscillator neurons (fully connected, or convolutional with "
                    "--arch) with surrogate gradients. "
                    "The neuron is derived from the circuit of a device (--preset or --params). Writes "
                    "checkpoint.pt, metrics.json and training_curve.png to --out.")
    p.add_argument("--dataset", type=choice_type("dataset", _DATASETS), default="digits",
                   help="digits (bundled 8x8, default) or mnist")
    add_device_args(p)
    _help(p, "--preset", f"device preset the neuron is derived from (default {DEFAULT_PRESET}; see `vo2neuro "
                         "presets`)")
    _help(p, "--delta", "oxygen-vacancy level x of VO2-x [-] replacing the device's (default: the device's own)")
    _help(p, "--params", "JSON device parameter file (e.g. from `vo2neuro calibrate -o`) instead of --preset; its "
                         "fields and bath temperature are stored in the checkpoint (default: none)")
    add_size_args(p)
    p.add_argument("--epochs", type=int_type("epochs", minimum=1), default=None, help="training epochs [-] "
                   "(default 20)")
    p.add_argument("--arch", type=arch_type(), default="mlp",
                   help="network: mlp (fully connected, default), conv (12C5-MP2-64C5-MP2 + output layer, for "
                        "mnist), conv-small (12C5-MP2-32C5-MP2) or a spec of <c>C<k> convolutions and MP<k>/AP<k> "
                        "spike pooling joined by '-', e.g. 8C3-MP2-16C3 (digits); the images enter as [B, 1, H, W]")
    p.add_argument("--hidden", type=int_type("hidden", minimum=1), action="append", default=None,
                   help="fully connected hidden layer width [neurons], after the convolutions with --arch conv; "
                        "repeat for more layers (default one layer of 256 for mlp, none for a conv arch)")
    p.add_argument("--steps", type=int_type("steps", minimum=1), default=None,
                   help="time steps T per sample [-] (default 25; the sample lasts T x the neuron's dt)")
    p.add_argument("--batch-size", type=int_type("batch_size", minimum=1), default=None,
                   help="samples per optimiser step [-] (default 64)")
    p.add_argument("--lr", type=si_type("lr", "1", positive=True), default=None,
                   help="peak Adam learning rate [-] (weights in rheobase units; default 10m = 0.01, cosine schedule)")
    p.add_argument("--encoding", type=choice_type("encoding", _ENCODINGS), default=None,
                   help="input coding: current (constant current, default), rate or latency")
    p.add_argument("--out", type=out_dir("out"), default=None, help="output folder (default output/snn-<dataset>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>/checkpoint.pt (default: start afresh, overwriting it)")
    p.add_argument("--seed", type=int_type("seed", minimum=0), default=None,
                   help="seed of initialisation, shuffling and coding [-] (default 0)")
    p.add_argument("--data-dir", type=in_dir("data-dir"), default=None,
                   help="MNIST folder (default $VO2NEURO_DATA, then the download cache)")
    p.add_argument("--device", type=choice_type("device", _DEVICES), default="cpu",
                   help="torch device: cpu (default) or cuda")
    p.add_argument("--json", action="store_true", help="print the result as JSON (default: one summary line)")
    add_learn_args(p)
    p.set_defaults(func=cmd_train)

    h = subparsers.add_parser(
        "hw-eval", help="run a trained network at circuit level (every neuron a VO2 circuit)",
        description="Run the test images through a trained checkpoint (fully connected or convolutional), a NIR "
                    "graph (--nir) or a converted zoo network (--zoo) with every neuron a simulated VO2 circuit. "
                    "Reads exactly the file given. By default the network runs on the device it was trained on; "
                    "--preset/--params run it on another device (its neuron re-derived). Progress goes to stderr "
                    "(also with --json) unless --quiet.")
    src = h.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=in_file("checkpoint"),
                     help="checkpoint written by `vo2neuro train` (any file name, e.g. a copy best.pt; this or --nir)")
    add_nir_args(h, src)
    add_zoo_args(h, src)
    add_device_args(h)
    _help(h, "--preset", "run on this device preset instead of the checkpoint's own (default: the checkpoint's "
                         "device)")
    _help(h, "--delta", "oxygen-vacancy level x of VO2-x [-] of the device given by --preset/--params "
                        "(default: that device's own)")
    _help(h, "--params", "run on the device of this JSON parameter file instead of the checkpoint's own "
                         "(default: the checkpoint's device)")
    add_size_args(h)
    _help(h, "--device-size", "run on the film of --preset (default: the checkpoint's preset) built at channel "
                              "length L [m] (e.g. 100n) with the scale study's load and node capacitance, the "
                              "neuron re-derived there (default: the checkpoint's device and circuit)")
    h.add_argument("--n-images", type=int_type("n_images", minimum=1), default=200,
                   help="first test images to run [-] (default 200; at most the test set)")
    h.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05,
                   help="relative device-to-device spread [-] (default 0.05)")
    h.add_argument("--c2c-sigma", type=si_type("c2c_sigma", "1", nonneg=True), default=0.0,
                   help="relative cycle-to-cycle spread [-] (default 0)")
    h.add_argument("--dt", type=si_type("dt", "s", positive=True), default=None,
                   help="circuit time step [s] (default 20n, or a quarter of the fastest time scale of a sized "
                        "device's circuit; at most a quarter of the neuron's fastest time scale)")
    h.add_argument("--seed", type=int_type("seed", minimum=0), default=0,
                   help="seed of the device draws [-] (default 0)")
    h.add_argument("--data-dir", type=in_dir("data-dir"), default=None,
                   help="MNIST folder (default: the checkpoint's, then $VO2NEURO_DATA)")
    h.add_argument("--json", action="store_true", help="print the result as JSON (default: key: value lines)")
    h.add_argument("--quiet", action="store_true",
                   help="no progress bar or notes on stderr (default: shown, also with --json)")
    h.set_defaults(func=cmd_hw_eval)

    return p


def cmd_hw_eval(args) -> int:
    """Handler of ``vo2neuro hw-eval``."""
    from vo2neuro.snn.hardware import hw_eval

    if zoo_mode(args):
        return cmd_hw_eval_zoo(args)
    if check_nir_args(args):
        return cmd_hw_eval_nir(args)
    check_size_args(args)
    override = None if args.preset is None and args.params is None else device_selection(args, None)
    if override is None and args.delta is not None:
        raise ParameterError("delta: give --preset or --params with --delta (the checkpoint's own device keeps its "
                             "vacancy level)")
    res = hw_eval(args.checkpoint, n_images=args.n_images, d2d_sigma=args.d2d_sigma, c2c_sigma=args.c2c_sigma,
                  seed=args.seed, dt_circuit=args.dt, data_dir=args.data_dir, progress=not args.quiet,
                  device=override, device_size=args.device_size, integration=args.integration)
    if not args.quiet:
        if res.device_override:
            print(f"hw-eval: network trained on {res.trained_device_source} run on {res.device_source} "
                  f"(neuron re-derived there)", file=sys.stderr)
        if res.n_images < args.n_images:
            print(f"hw-eval: the test set has {res.n_images} images; evaluated all of them", file=sys.stderr)
        if res.diagnosis:
            print(f"hw-eval: {res.diagnosis}", file=sys.stderr)
    if args.json:
        print(_dumps(res.to_dict()))
    else:
        for k, v in res.to_dict().items():
            print(f"{k}: {v}")
    return 0


def _config(args):
    from vo2neuro.snn.train import TrainConfig

    check_size_args(args)
    sel = device_selection(args)
    out = args.out or f"output/snn-{args.dataset}"
    check_output_dir(out, "out")
    kw = {"dataset": args.dataset, "arch": args.arch, "device": args.device, "out_dir": out,
          "data_dir": args.data_dir}
    if args.params is not None:
        kw.update(preset=None, device_params=sel.params.to_dict(), ambient_k=sel.ambient_k, device_source=sel.source)
    else:
        kw.update(preset=args.preset or DEFAULT_PRESET, delta=args.delta)
    if args.device_size is not None:
        kw.update(device_size_m=args.device_size, integration=args.integration)
    for name in ("epochs", "steps", "batch_size", "seed", "encoding", "lr"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if args.hidden:
        kw["hidden"] = tuple(args.hidden)
    cfg = TrainConfig(**kw)
    if cfg.device_size_m is not None:
        from vo2neuro.snn.presets import circuit_neuron_for_sized
        from vo2neuro.snn.train import sized_for

        # a size whose film cannot oscillate, or whose neuron cannot be derived, is refused before any work
        # (the derivation is cached: training reuses it)
        circuit_neuron_for_sized(sized_for(cfg))
    return cfg


def cmd_train(args) -> int:
    """Handler of ``vo2neuro train``: returns 0; ParameterError on bad input."""
    if args.learn:
        return cmd_learn(args)
    given = [opt for opt, dest in LEARN_OPTIONS if getattr(args, dest, None) is not None]
    if given:
        raise ParameterError(f"{given[0]} needs --learn [-]")
    cfg = _config(args)          # validates every choice and the device before torch work starts
    from vo2neuro.snn.train import train

    result = train(cfg, resume=args.resume)
    if args.json:
        d = result.to_dict()
        out = {"test_accuracy": d["test_accuracy"], "train_accuracy": d["train_accuracy"], "epochs": d["epochs"],
               "train_s": d["train_s"], "train_seconds": d["train_s"],  # deprecated alias (one release)
               "checkpoint": d["checkpoint"], "metrics": d["metrics"],
               "curve": d["curve"], "config": d["config"], "neuron": d["neuron"], "device": d["device"]}
        print(_dumps(out))
    else:
        print(f"test_accuracy {result.test_accuracy:.4f}  epochs {result.epochs}  "
              f"train_s {result.train_s:.1f}  checkpoint {result.checkpoint}")
    return 0
