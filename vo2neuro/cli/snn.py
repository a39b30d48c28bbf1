"""``vo2neuro train`` and ``vo2neuro hw-eval``: the BP-SNN trainer and hardware-level inference (``vo2neuro.snn``).

``register(subparsers)`` adds the subcommand; the handler returns an exit code, prints JSON (with ``--json``) or a
one-line summary to stdout and progress to stderr, and raises :class:`~vo2neuro.units.ParameterError` for bad
input (``vo2neuro.cli.main`` prints it on one line and exits 2). torch is imported only when the command runs.
"""
from __future__ import annotations

import argparse

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import si_type
from vo2neuro.units import ParameterError, parse_si

__all__ = ["register", "cmd_train", "cmd_hw_eval"]


def _int(name: str, text: str, minimum: int | None = 1) -> int:
    """Parse an integer option (in the handler, so that errors are ParameterError, not argparse exits)."""
    try:
        v = int(text)
    except ValueError:
        raise ParameterError(f"--{name}: cannot read {text!r} as an integer [-]") from None
    if minimum is not None and v < minimum:
        raise ParameterError(f"--{name} must be >= {minimum} [-], got {v}")
    return v


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "train", help="train a BP-SNN of VO2 oscillator neurons",
        description="Train a fully connected SNN of VO2 relaxation-oscillator neurons with surrogate gradients. "
                    "Writes checkpoint.pt, metrics.json and training_curve.png to --out.")
    p.add_argument("--dataset", default="digits", help="digits (bundled, default) or mnist")
    p.add_argument("--preset", default="vo2x",
                   help="device preset; the neuron is derived from its circuit (vo2neuro.snn.circuit_neuron)")
    p.add_argument("--epochs", default=None)
    p.add_argument("--hidden", action="append", default=None,
                   help="hidden layer width; repeat for more layers")
    p.add_argument("--steps", default=None, help="time steps T per sample")
    p.add_argument("--batch-size", default=None)
    p.add_argument("--lr", default=None, help="peak Adam learning rate")
    p.add_argument("--encoding", default=None, help="current (default), rate or latency")
    p.add_argument("--out", default=None, help="output folder (default output/snn-<dataset>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--seed", default=None)
    p.add_argument("--data-dir", default=None, help="MNIST folder (default $VO2NEURO_DATA, then the cache)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_train)

    h = subparsers.add_parser("hw-eval", help="run a trained network at circuit level (every neuron a VO2 circuit)")
    h.add_argument("--checkpoint", required=True, help="checkpoint.pt written by `vo2neuro train`")
    h.add_argument("--n-images", default="200", help="test images (default 200)")
    h.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05,
                   help="relative device-to-device spread (default 0.05)")
    h.add_argument("--c2c-sigma", type=si_type("c2c_sigma", "1", nonneg=True), default=0.0,
                   help="relative cycle-to-cycle spread (default 0)")
    h.add_argument("--dt", type=si_type("dt", "s", positive=True), default=20e-9, help="circuit time step [s]")
    h.add_argument("--seed", default="0")
    h.add_argument("--data-dir", default=None, help="MNIST folder (default $VO2NEURO_DATA, then the cache)")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=cmd_hw_eval)

    return p


def cmd_hw_eval(args) -> int:
    """Handler of ``vo2neuro hw-eval``."""
    from vo2neuro.snn.hardware import hw_eval

    res = hw_eval(args.checkpoint, n_images=_int("n-images", args.n_images), d2d_sigma=args.d2d_sigma,
                  c2c_sigma=args.c2c_sigma, seed=_int("seed", args.seed, minimum=0), dt_circuit=args.dt,
                  data_dir=args.data_dir, progress=not args.json)
    if args.json:
        print(_dumps(res.to_dict()))
    else:
        for k, v in res.to_dict().items():
            print(f"{k}: {v}")
    return 0


def _config(args):
    from vo2neuro.snn.train import TrainConfig

    kw = {"dataset": args.dataset, "preset": args.preset, "device": args.device,
          "out_dir": args.out or f"output/snn-{args.dataset}", "data_dir": args.data_dir}
    for name, value in (("epochs", args.epochs), ("steps", args.steps), ("batch_size", args.batch_size)):
        if value is not None:
            kw[name] = _int(name.replace("_", "-"), value)
    if args.seed is not None:
        kw["seed"] = _int("seed", args.seed, minimum=0)
    if args.encoding is not None:
        kw["encoding"] = args.encoding
    if args.hidden:
        kw["hidden"] = tuple(_int("hidden", h) for h in args.hidden)
    if args.lr is not None:
        kw["lr"] = parse_si(args.lr, name="--lr")
    return TrainConfig(**kw)


def cmd_train(args) -> int:
    """Handler of ``vo2neuro train``: returns 0; ParameterError on bad input."""
    cfg = _config(args)          # validates every choice before torch work starts
    from vo2neuro.snn.train import train

    result = train(cfg, resume=args.resume)
    if args.json:
        d = result.to_dict()
        out = {"test_accuracy": d["test_accuracy"], "train_accuracy": d["train_accuracy"], "epochs": d["epochs"],
               "train_seconds": d["train_seconds"], "checkpoint": d["checkpoint"], "metrics": d["metrics"],
               "curve": d["curve"], "config": d["config"], "neuron": d["neuron"]}
        print(_dumps(out))
    else:
        print(f"test_accuracy {result.test_accuracy:.4f}  epochs {result.epochs}  "
              f"train_seconds {result.train_seconds:.1f}  checkpoint {result.checkpoint}")
    return 0
