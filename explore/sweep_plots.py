"""Figures of sweep stores (PNG): metric heatmaps over two parameters, oscillation-window maps, Pareto fronts.

matplotlib and xarray are imported inside the functions.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from vo2neuro._plot import pyplot, save
from vo2neuro.units import ParameterError

__all__ = ["open_store", "heatmap", "pareto_front", "plot_pareto", "pwl_window_overlay"]


#: Attributes every store written by ``vo2neuro sweep`` carries (``explore.sweep._template``).
_STORE_ATTRS = ("config", "fingerprint", "chunk_dim", "created_by")


def open_store(path: str | os.PathLike):
    """Open a sweep store as an xarray Dataset (lazy).

    Anything else (a missing path, a file, an empty folder, a Zarr store not written by ``vo2neuro sweep`` or by an
    incompatible version) is a one-line :class:`ParameterError` naming the path.
    """
    import xarray as xr

    p = Path(path)
    if not p.exists():
        raise ParameterError(f"store: not found: {p}")
    if not p.is_dir():
        raise ParameterError(f"store: {p} is a file, not a sweep store (a .zarr folder written by `vo2neuro sweep`)")
    if not any((p / m).is_file() for m in (".zgroup", ".zmetadata", "zarr.json")):
        raise ParameterError(f"store: {p} is not a Zarr store (no .zgroup or zarr.json); expected a .zarr folder "
                             "written by `vo2neuro sweep`")
    try:
        with warnings.catch_warnings():
            # a foreign store without consolidated metadata is reported below, not by xarray's warning
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(p)
    except Exception as exc:  # noqa: BLE001 - zarr/xarray raise many types for damaged or foreign stores
        msg = " ".join(str(exc).split())[:200]
        raise ParameterError(f"store: {p} cannot be read as a sweep store ({type(exc).__name__}: {msg})") from None
    missing = [a for a in _STORE_ATTRS if a not in ds.attrs]
    if missing or ds.attrs.get("created_by") != "vo2neuro sweep":
        raise ParameterError(f"store: {p} was not written by `vo2neuro sweep` of this version (missing attributes: "
                             f"{', '.join(missing) or 'created_by'})")
    return ds


def _plt():
    return pyplot()


def heatmap(ds, *, x: str, y: str, metric: str, path: str | os.PathLike, reduce: str = "mean",
            window: Sequence[tuple[float, float]] | None = None, window_label: str = "") -> Path:
    """Heatmap of ``metric`` over the grid parameters ``x`` and ``y``; other grid dimensions are reduced.

    Parameters
    ----------
    reduce : {"mean", "max", "min", "first"}
        How to collapse the remaining dimensions.
    window : sequence of (x, y) points, optional
        An overlay curve, e.g. the analytic oscillation window of the piecewise-linear device.
    """
    grid_dims = [str(d) for d in ds.dims if d != "chunk"]
    for name in (x, y):
        if name not in grid_dims:
            raise ParameterError(f"{name}: not a grid dimension of the store; valid: {', '.join(grid_dims)} [-]")
    if x == y:
        raise ParameterError(f"y: must differ from x ({x!r}) [-]")
    plottable = [str(v) for v in ds.data_vars if ds[v].dtype.kind in "fiub" and {x, y} <= set(map(str, ds[v].dims))]
    if metric not in plottable:
        raise ParameterError(f"metric: {metric!r} is not a metric of the store; valid: {', '.join(plottable)} [-]")
    if reduce not in ("mean", "max", "min", "first"):
        raise ParameterError(f"reduce: {reduce!r} is not valid; valid: first, max, mean, min [-]")
    da = ds[metric].astype(float)
    others = [d for d in da.dims if d not in (x, y)]
    if others:
        if reduce == "first":
            da = da.isel({d: 0 for d in others})
        elif reduce in ("mean", "max", "min"):
            da = getattr(da, reduce)(dim=others)
        else:
            raise ParameterError(f"reduce: {reduce!r} is not valid; valid: first, max, mean, min")
    da = da.transpose(y, x).load()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    xs, ys = ds[x].values, ds[y].values
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(da.values), shading="nearest")
    unit = ds[metric].attrs.get("units", "")
    fig.colorbar(mesh, ax=ax, label=f"{metric} [{unit}]")
    if window:
        wx, wy = zip(*window)
        ax.plot(wx, wy, "--", color="red", lw=1.5, label=window_label or "analytic window")
        ax.legend(fontsize=8)
        ax.set_xlim(xs.min(), xs.max())  # the overlay must not rescale the map
        ax.set_ylim(ys.min(), ys.max())
    ax.set_xlabel(f"{x} [{ds[x].attrs.get('units', '')}]")
    ax.set_ylabel(f"{y} [{ds[y].attrs.get('units', '')}]")
    ax.set_title(f"{metric}" + (f" ({reduce} over {', '.join(others)})" if others else ""))
    return save(fig, path)


def pwl_window_overlay(ds, *, x: str, y: str) -> list[tuple[float, float]]:
    """Analytic oscillation window of the store's piecewise-linear device as (x, y) points for :func:`heatmap`.

    Needs a ``preset = "pwl"`` sweep over ``v_in`` and ``r_load`` (either axis); the window edges are
    V_in = V_th (1 + R_L/R_off) and V_in = V_h (1 + R_L/R_on) (vo2_physics.md section 8). Returns the lower edge
    followed by the upper edge in reverse (a closed outline), NaN-separated.
    """
    import json

    cfg = json.loads(ds.attrs["config"])
    if cfg.get("preset") != "pwl" or {x, y} != {"v_in", "r_load"}:
        raise ParameterError("window: the analytic overlay needs a preset = \"pwl\" sweep over v_in and r_load [-]")
    fixed = cfg.get("fixed", {})
    try:
        r_off, r_on, v_th, v_h = (float(fixed[k]) for k in ("r_off", "r_on", "v_th", "v_h"))
    except KeyError:
        raise ParameterError("window: r_off, r_on, v_th, v_h must be fixed in the sweep [Ohm, V]") from None
    rl = np.linspace(float(ds["r_load"].min()), float(ds["r_load"].max()), 200)
    lo = v_th * (1.0 + rl / r_off)
    hi = v_h * (1.0 + rl / r_on)
    valid = lo <= hi
    pts = [(a, b) for a, b in zip(rl[valid], lo[valid])] + [(float("nan"), float("nan"))] + \
          [(a, b) for a, b in zip(rl[valid], hi[valid])]
    return [(b, a) for a, b in pts] if x == "v_in" else pts


def pareto_front(costs: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``costs`` (n, k), all objectives minimised, NaN rows excluded.

    Examples
    --------
    >>> pareto_front(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 3.0], [0.5, 4.0]])).tolist()
    [0, 1, 3]
    """
    c = np.asarray(costs, dtype=float)
    ok = np.all(np.isfinite(c), axis=1)
    idx = np.nonzero(ok)[0]
    keep = []
    for i in idx:
        dominated = np.any(np.all(c[idx] <= c[i], axis=1) & np.any(c[idx] < c[i], axis=1))
        if not dominated:
            keep.append(int(i))
    return np.array(keep, dtype=int)


def plot_pareto(x: np.ndarray, y: np.ndarray, path: str | os.PathLike, *, xlabel: str, ylabel: str,
                labels: Sequence[str] | None = None, maximize_y: bool = False) -> Path:
    """Scatter of all points with the Pareto front highlighted (x minimised; y minimised or maximised)."""
    plt = _plt()
    x, y = np.asarray(x, float), np.asarray(y, float)
    front = pareto_front(np.column_stack([x, -y if maximize_y else y]))
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    ax.scatter(x, y, s=14, color="0.6", label="all points")
    order = front[np.argsort(x[front])]
    ax.plot(x[order], y[order], "o-", color="C3", label="Pareto front")
    if labels is not None:
        for i in order:
            ax.annotate(str(labels[i]), (x[i], y[i]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)
