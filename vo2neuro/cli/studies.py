"""Command line of the network studies: ``vo2neuro compare`` (vo2 against vo2x) and ``vo2neuro codesign``.

Both train networks and run them at circuit level (:mod:`vo2neuro.explore.compare`,
:mod:`vo2neuro.explore.codesign`); torch is imported only when a command runs.
"""
from __future__ import annotations

import argparse
import sys

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import int_type, si_type
from vo2neuro.cli.snn import _int
from vo2neuro.units import ParameterError

__all__ = ["register"]


def _compare(args) -> int:
    """Handler of ``vo2neuro compare``."""
    from vo2neuro.explore.compare import compare_presets

    kw = {}
    if args.epochs is not None:
        kw["epochs"] = _int("epochs", args.epochs)
    if args.hidden:
        kw["hidden"] = tuple(_int("hidden", h) for h in args.hidden)
    if args.data_dir:
        kw["data_dir"] = args.data_dir
    res = compare_presets(args.presets, dataset=args.dataset, out=args.out, n_images=_int("n-images", args.n_images),
                          d2d_sigma=args.d2d_sigma, **kw)
    print(_dumps(res.to_dict()) if args.json else res.table_md())
    return 0


def _codesign(args: argparse.Namespace) -> int:
    from vo2neuro.explore.codesign import codesign, plot_codesign

    for d in args.deltas:
        if not 0.0 <= d:
            raise ParameterError(f"deltas must be >= 0 [1], got {d}")
    res = codesign(tuple(args.deltas), preset=args.preset, dataset=args.dataset, epochs=args.epochs,
                   hidden=tuple(args.hidden), n_images=args.n_images, d2d_sigma=args.d2d_sigma, seed=args.seed,
                   out=args.out, progress=not args.json)
    if args.plot:
        print(f"wrote {plot_codesign(res, args.plot)}", file=sys.stderr)
    print(_dumps(res.to_dict()) if args.json else res.table_md())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare`` and ``codesign``."""
    c = sub.add_parser("compare", help="vo2 against vo2x: same training, hardware-level inference, table")
    c.add_argument("--dataset", default="digits", help="digits (default) or mnist")
    c.add_argument("--presets", nargs="+", default=["vo2", "vo2x"])
    c.add_argument("--epochs", default=None)
    c.add_argument("--hidden", action="append", default=None)
    c.add_argument("--n-images", default="200")
    c.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05)
    c.add_argument("--out", default="output/compare")
    c.add_argument("--data-dir", default=None)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_compare)
    c = sub.add_parser("codesign", help="vacancy level against device figures, accuracy, energy, latency")
    c.add_argument("--deltas", type=si_type("deltas", "1", nonneg=True), nargs="+",
                   default=[0.0, 0.005, 0.01, 0.015, 0.02], help="vacancy levels (default 0 .. 0.02)")
    c.add_argument("--preset", default="vo2", help="pristine film the deltas apply to (default vo2)")
    c.add_argument("--dataset", default="digits", help="digits (default) or mnist")
    c.add_argument("--epochs", type=int_type("epochs", minimum=1), default=10)
    c.add_argument("--hidden", type=int_type("hidden", minimum=1), nargs="+", default=[128])
    c.add_argument("--n-images", type=int_type("n_images", minimum=1), default=150)
    c.add_argument("--d2d-sigma", type=si_type("d2d_sigma", "1", nonneg=True), default=0.05)
    c.add_argument("--seed", type=int_type("seed", minimum=0), default=0)
    c.add_argument("--out", default="output/codesign")
    c.add_argument("--plot", metavar="FILE", help="write the figure (PNG)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_codesign)
