"""Command line of the network studies: ``vo2neuro compare`` (films side by side) and ``vo2neuro codesign``.

Both train networks and run them at circuit level (:mod:`vo2neuro.explore.compare`,
:mod:`vo2neuro.explore.codesign`). Every option is typed at parse time and every device is resolved, and its
circuit neuron derived, before the first training starts. torch is imported only when a command runs.
"""
from __future__ import annotations

import argparse
import sys

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import choice_type, in_dir, in_file, int_type, out_dir, out_file, preset_type, si_type
from vo2neuro.cli.snn import _DATASETS, add_size_args, check_size_args
from vo2neuro.device.select import select as select_film
from vo2neuro.units import ParameterError

__all__ = ["register"]


def _compare(args) -> int:
    """Handler of ``vo2neuro compare``."""
    from vo2neuro.explore.compare import compare_presets

    films: list = list(args.presets or [])
    films += [select_film(params_file=f, delta=args.delta) for f in args.params or []]
    if not films:
        raise ParameterError("presets: give at least one --presets NAME or --params FILE")
    check_size_args(args, preset_option="--presets")
    kw = {}
    if args.epochs is not None:
        kw["epochs"] = args.epochs
    if args.hidden:
        kw["hidden"] = tuple(args.hidden)
    if args.data_dir:
        kw["data_dir"] = args.data_dir
    res = compare_presets(films, dataset=args.dataset, out=args.out, n_images=args.n_images,
                          d2d_sigma=args.d2d_sigma, c2c_sigma=args.c2c_sigma, seed=args.seed, delta=args.delta,
                          progress=not args.quiet, device_size=args.device_size, integration=args.integration,
                          **kw)
    print(_dumps(res.to_dict()) if args.json else res.table_md())
    return 0


def _codesign(args: argparse.Namespace) -> int:
    """Handler of ``vo2neuro codesign``: exit 0, or 1 when a row failed while running (its reason on stderr)."""
    from vo2neuro.explore.codesign import codesign, plot_codesign

    if args.preset is not None and args.params is not None:
        raise ParameterError("preset: give --preset NAME or --params FILE, not both")
    check_size_args(args)
    if args.params is not None:
        select_film(params_file=args.params)  # the pristine film's file, read before any work
    res = codesign(tuple(args.deltas), preset=args.preset or "vo2", params_file=args.params, dataset=args.dataset,
                   epochs=args.epochs, hidden=tuple(args.hidden), n_images=args.n_images, d2d_sigma=args.d2d_sigma,
                   seed=args.seed, out=args.out, progress=not args.quiet, device_size=args.device_size,
                   integration=args.integration)
    if args.plot:
        print(f"wrote {plot_codesign(res, args.plot)}", file=sys.stderr)
    print(_dumps(res.to_dict()) if args.json else res.table_md())
    failed = res.failures()
    for line in failed:
        print(f"vo2neuro: codesign: {line}", file=sys.stderr)
    return 1 if failed else 0


def _delta(text: str) -> float:
    """argparse ``type=`` for a vacancy level in ``[0, DELTA_MAX]``."""
    from vo2neuro.device import DELTA_MAX

    v = si_type("deltas", "1", nonneg=True)(text)
    if v > DELTA_MAX:
        raise argparse.ArgumentTypeError(f"deltas must be within [0, {DELTA_MAX}] [1] (the model's vacancy range), "
                                         f"got {text!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare`` and ``codesign``."""
    c = sub.add_parser(
        "compare", help="films side by side (default vo2 against vo2x): same training, hardware-level inference",
        description="Train the same BP-SNN for each film (presets and/or parameter files), run each at circuit "
                    "level on its own device and print one table. Every film is checked before training starts; "
                    "finished runs in --out/<film> are reused.")
    c.add_argument("--dataset", type=choice_type("dataset", _DATASETS), default="digits",
                   help="digits (bundled 8x8, default) or mnist")
    c.add_argument("--presets", nargs="+", type=preset_type("presets"), default=None, metavar="NAME",
                   help="device presets to compare (default vo2 vo2x, or none when --params is given)")
    c.add_argument("--params", nargs="+", type=in_file("params"), default=None, metavar="FILE",
                   help="JSON device parameter files to compare beside the presets (e.g. `vo2neuro calibrate -o`; "
                        "default: none)")
    c.add_argument("--delta", type=si_type("delta", "1", nonneg=True), default=None,
                   help="oxygen-vacancy level x of VO2-x [-] applied to every film (default: each film's own)")
    add_size_args(c)
    c.add_argument("--epochs", type=int_type("epochs", minimum=1), default=None,
                   help="training epochs per film [-] (default 20)")
    c.add_argument("--hidden", type=int_type("hidden", minimum=1), action="append", default=None,
                   help="hidden layer width [neurons]; repeat for more layers (default one layer of 256)")
    c.add_argument("--n-images", type=int_type("n_images", minimum=1), default=200,
                   help="test images run at circuit level per film [-] (default 200)")
    c.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05,
                   help="relative device-to-device spread [-] (default 0.05)")
    c.add_argument("--c2c-sigma", type=si_type("c2c_sigma", "1", nonneg=True), default=0.0,
                   help="relative cycle-to-cycle spread [-] (default 0)")
    c.add_argument("--seed", type=int_type("seed", minimum=0), default=0,
                   help="seed of training and device draws [-] (default 0)")
    c.add_argument("--out", type=out_dir("out"), default="output/compare",
                   help="output folder, one subfolder per film (default output/compare)")
    c.add_argument("--data-dir", type=in_dir("data-dir"), default=None,
                   help="MNIST folder (default $VO2NEURO_DATA, then the download cache)")
    c.add_argument("--json", action="store_true", help="print the result as JSON (default: a markdown table)")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr (default: progress shown)")
    c.set_defaults(func=_compare_defaults)

    c = sub.add_parser(
        "codesign", help="vacancy level against device figures, accuracy, energy, latency",
        description="For each vacancy level delta of a pristine film: device figures, the circuit neuron, a short "
                    "training and hardware-level inference; the Pareto front over energy, latency and accuracy. "
                    "Every delta is checked before training starts. Exit 1 when a row fails while running.")
    c.add_argument("--deltas", type=_delta, nargs="+", default=[0.0, 0.005, 0.01, 0.015, 0.02],
                   help="vacancy levels x of VO2-x [-] (default 0 0.005 0.01 0.015 0.02; each within [0, 0.03])")
    c.add_argument("--preset", type=preset_type(), default=None, help="pristine film the deltas apply to (default vo2)")
    c.add_argument("--params", type=in_file("params"), default=None, metavar="FILE",
                   help="JSON device parameter file of the pristine film (delta 0) instead of --preset (default: none)")
    add_size_args(c)
    c.add_argument("--dataset", type=choice_type("dataset", _DATASETS), default="digits",
                   help="digits (bundled 8x8, default) or mnist")
    c.add_argument("--epochs", type=int_type("epochs", minimum=1), default=10,
                   help="training epochs per delta [-] (default 10)")
    c.add_argument("--hidden", type=int_type("hidden", minimum=1), nargs="+", default=[128],
                   help="hidden layer widths [neurons] (default 128)")
    c.add_argument("--n-images", type=int_type("n_images", minimum=1), default=150,
                   help="test images run at circuit level per delta [-] (default 150)")
    c.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05,
                   help="relative device-to-device spread [-] (default 0.05)")
    c.add_argument("--seed", type=int_type("seed", minimum=0), default=0,
                   help="seed of training and device draws [-] (default 0)")
    c.add_argument("--out", type=out_dir("out"), default="output/codesign",
                   help="output folder, one subfolder per delta (default output/codesign)")
    c.add_argument("--plot", metavar="FILE", type=out_file("plot", suffixes=(".png",)), default=None,
                   help="write the figure to this PNG (default: none)")
    c.add_argument("--json", action="store_true", help="print the result as JSON (default: a markdown table)")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr (default: progress shown)")
    c.set_defaults(func=_codesign)


def _compare_defaults(args) -> int:
    if args.presets is None and not args.params:
        args.presets = ["vo2", "vo2x"]
    return _compare(args)
