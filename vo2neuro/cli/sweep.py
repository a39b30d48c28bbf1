"""Command line of parameter sweeps: ``vo2neuro sweep CONFIG.toml``, ``vo2neuro plot STORE``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo2neuro.cli._util import emit, int_type
from vo2neuro.units import ParameterError

__all__ = ["register"]


def _sweep(args: argparse.Namespace) -> int:
    from vo2neuro.explore.sweep import load_config, run_sweep

    cfg = load_config(args.config)
    out = args.out or str(Path(args.config).with_suffix(".zarr"))
    if args.workers is not None and args.workers < 0:
        raise ParameterError(f"workers must be >= 0 [1], got {args.workers}")
    res = run_sweep(cfg, out, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                    progress=not args.no_progress)
    if args.netcdf:
        from vo2neuro.explore.sweep_plots import open_store

        open_store(out).load().to_netcdf(args.netcdf)
        print(f"wrote {args.netcdf}", file=sys.stderr)
    emit(args, res)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from vo2neuro.explore.sweep_plots import heatmap, open_store

    ds = open_store(args.store)
    window = None
    if args.window:
        from vo2neuro.explore.sweep_plots import pwl_window_overlay

        window = pwl_window_overlay(ds, x=args.x, y=args.y)
    path = heatmap(ds, x=args.x, y=args.y, metric=args.metric, path=args.output, reduce=args.reduce,
                   window=window, window_label="analytic PWL window")
    print(f"wrote {path}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` and ``plot``."""
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
