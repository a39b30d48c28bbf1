"""Command line of parameter sweeps: ``vo2neuro sweep CONFIG.toml``, ``vo2neuro plot STORE``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo2neuro.cli._util import check_output_dir, emit, in_file, int_type, out_dir, out_file
from vo2neuro.units import ParameterError

__all__ = ["register"]


def _store_out(text: str) -> str:
    """argparse ``type=`` of ``--out``: a ``.zarr`` folder that can be created (checked before any work)."""
    if not text.rstrip("/").lower().endswith(".zarr"):
        raise argparse.ArgumentTypeError(f"out: {text!r} must end with .zarr [path]")
    return out_dir("out")(text)


def _store_in(text: str) -> str:
    """argparse ``type=`` of ``plot STORE``: an existing folder (what is in it is checked by ``open_store``)."""
    p = Path(text)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"store: not found: {text} [path]")
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"store: {text} is a file, not a sweep store (a .zarr folder) [path]")
    return text


def _sweep(args: argparse.Namespace) -> int:
    from vo2neuro.explore.sweep import load_config, run_sweep

    cfg = load_config(args.config)
    out = args.out or str(Path(args.config).with_suffix(".zarr"))
    check_output_dir(out, "out")
    if Path(out).exists() and not args.resume:
        raise ParameterError(f"out: store {out} exists; pass --resume to continue it or choose another path")
    res = run_sweep(cfg, out, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                    progress=not args.no_progress)
    if res.n_failed:
        print(f"sweep: {res.n_failed} of {res.n_points} points failed (status 1; the store's `reason` says why)",
              file=sys.stderr)
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
    p.add_argument("config", type=in_file("config"), help="sweep definition (TOML, checked against its schema)")
    p.add_argument("--out", metavar="STORE.zarr", type=_store_out, help="Zarr store (default: CONFIG with .zarr)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int_type("workers", minimum=0), default=None,
                   help="local Dask workers (default: one per core; 0 = in-process)")
    p.add_argument("--resume", action="store_true", help="continue an existing store; computes only missing chunks")
    p.add_argument("--netcdf", metavar="FILE.nc", type=out_file("netcdf", suffixes=(".nc",)),
                   help="also export the finished store as NetCDF")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=_sweep)

    q = sub.add_parser("plot", help="heatmap of a sweep metric over two parameters")
    q.add_argument("store", type=_store_in, help="sweep store (.zarr folder written by `vo2neuro sweep`)")
    q.add_argument("--x", required=True, help="parameter on the x axis")
    q.add_argument("--y", required=True, help="parameter on the y axis")
    q.add_argument("--metric", required=True, help="metric to colour")
    q.add_argument("--reduce", default="mean", choices=("mean", "max", "min", "first"),
                   help="how to collapse the other dimensions (default mean)")
    q.add_argument("--window", action="store_true",
                   help="overlay the analytic oscillation window (preset pwl, axes v_in and r_load)")
    q.add_argument("-o", "--output", required=True, metavar="FILE.png", type=out_file("output", suffixes=(".png",)),
                   help="PNG file")
    q.set_defaults(func=_plot)
