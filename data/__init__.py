"""Measured reference curves shipped with vo2neuro, with their sources (see ``data/README.md``).

``load(name)`` returns the table as a dict of numpy arrays in SI units.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vo2neuro.units import ParameterError

__all__ = ["load", "available", "path"]

_HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the shipped tables (file stems)."""
    return sorted(p.stem for p in _HERE.glob("*.csv"))


def path(name: str) -> Path:
    """Path of the shipped table ``name``; :class:`ParameterError` listing valid names if unknown."""
    p = _HERE / f"{name}.csv"
    if not p.is_file():
        raise ParameterError(f"data: unknown table {name!r}; valid: {', '.join(available())}")
    return p


def load(name: str) -> dict[str, np.ndarray]:
    """Columns of the table ``name`` (header names carry the SI unit, e.g. ``r_load_ohm``).

    Examples
    --------
    >>> d = load("duan2022_frequency")
    >>> sorted(d)
    ['frequency_hz', 'r_load_ohm', 'series', 'v_in_v']
    """
    lines = [ln for ln in path(name).read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split(",")
    cols = list(zip(*(ln.split(",") for ln in lines[1:])))
    out: dict[str, np.ndarray] = {}
    for key, col in zip(header, cols):
        try:
            out[key] = np.array([float(v) for v in col])
        except ValueError:
            out[key] = np.array(col)
    return out
