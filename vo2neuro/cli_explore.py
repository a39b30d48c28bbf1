"""Command line of parameter exploration: ``vo2neuro sweep``, ``vo2neuro plot`` (and ``calibrate``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo2neuro._io import dumps as _dumps
from vo2neuro._cliutil import emit, int_type, si_type
from vo2neuro._units import ParameterError

__all__ = ["register"]


def _sweep(args: argparse.Namespace) -> int:
    from vo2neuro.circuits.sweep import load_config, run_sweep

    cfg = load_config(args.config)
    out = args.out or str(Path(args.config).with_suffix(".zarr"))
    if args.workers is not None and args.workers < 0:
        raise ParameterError(f"workers must be >= 0 [1], got {args.workers}")
    res = run_sweep(cfg, out, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                    progress=not args.no_progress)
    if args.netcdf:
        from vo2neuro.circuits.sweep_plots import open_store

        open_store(out).load().to_netcdf(args.netcdf)
        print(f"wrote {args.netcdf}", file=sys.stderr)
    emit(args, res)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from vo2neuro.circuits.sweep_plots import heatmap, open_store

    ds = open_store(args.store)
    window = None
    if args.window:
        from vo2neuro.circuits.sweep_plots import pwl_window_overlay

        window = pwl_window_overlay(ds, x=args.x, y=args.y)
    path = heatmap(ds, x=args.x, y=args.y, metric=args.metric, path=args.output, reduce=args.reduce,
                   window=window, window_label="analytic PWL window")
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _codesign(args: argparse.Namespace) -> int:
    from vo2neuro.snn.codesign import codesign, plot_codesign

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
    """Add ``sweep``, ``plot`` and ``codesign``."""
    p = sub.add_parser("sweep", help="parameter sweep on Dask into a Zarr store (resumable)")
    p.add_argument("config", help="sweep definition (TOML)")
    p.add_argument("--out", metavar="STORE.zarr", help="Zarr store (default: CONFIG with .zarr)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int_type("workers", minimum=0), default=None,
                   help="local Dask workers (default: one per core; 0 = in-process)")
    p.add_argument("--resume", action="store_true", help="continue an existing store; computes only missing chunks")
    p.add_argument("--netcdf", metavar="FILE.nc", help="also export the finished store as NetCDF")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=_sweep)

    q = sub.add_parser("plot", help="heatmap of a sweep metric over two parameters")
    q.add_argument("store", help="sweep store (.zarr)")
    q.add_argument("--x", required=True, help="parameter on the x axis")
    q.add_argument("--y", required=True, help="parameter on the y axis")
    q.add_argument("--metric", required=True, help="metric to colour")
    q.add_argument("--reduce", default="mean", help="how to collapse other dimensions: mean|max|min|first")
    q.add_argument("--window", action="store_true",
                   help="overlay the analytic oscillation window (preset pwl, axes v_in and r_load)")
    q.add_argument("-o", "--output", required=True, help="PNG file")
    q.set_defaults(func=_plot)

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
