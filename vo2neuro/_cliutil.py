"""Argument helpers shared by the subcommands: engineering-notation numbers, device selection, output."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable

from vo2neuro._io import dumps, write_csv
from vo2neuro._units import ParameterError, parse_si

__all__ = ["si_type", "int_type", "add_device_args", "resolve_device", "emit", "write_table"]


def si_type(name: str, unit: str, *, positive: bool = False, nonneg: bool = False) -> Callable[[str], float]:
    """argparse ``type=`` that reads engineering notation and checks the sign; errors name param and unit."""

    def convert(text: str) -> float:
        try:
            v = parse_si(text, name=name, unit=unit)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{name} must be finite [{unit}], got {text!r}")
        if positive and v <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be > 0 [{unit}], got {text!r}")
        if nonneg and v < 0:
            raise argparse.ArgumentTypeError(f"{name} must be >= 0 [{unit}], got {text!r}")
        return v

    convert.__name__ = name
    return convert


def int_type(name: str, *, minimum: int = 0) -> Callable[[str], int]:
    """argparse ``type=`` for integers >= ``minimum`` (engineering suffixes allowed: 10k)."""

    def convert(text: str) -> int:
        try:
            v = parse_si(text, name=name, unit="1")
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if v != int(v) or v < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {minimum} [1], got {text!r}")
        return int(v)

    convert.__name__ = name
    return convert


def add_device_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--preset NAME [--delta X] | --params FILE`` for choosing a device."""
    p.add_argument("--preset", help="parameter set (see `vo2neuro presets`)")
    p.add_argument("--delta", type=si_type("delta", "1", nonneg=True),
                   help="oxygen-vacancy level x of VO2-x [-] (replaces the preset's)")
    p.add_argument("--params", metavar="FILE", help="JSON parameter file (e.g. written by `vo2neuro calibrate`)")
    p.set_defaults(_device_required=required)


def resolve_device(args: argparse.Namespace):
    """The :class:`VO2DeviceParams` chosen by ``--preset/--delta/--params``."""
    from vo2neuro.device import get_parameters
    from vo2neuro.device.params import params_from_dict
    from vo2neuro.device.vacancy import apply_vacancies

    if args.params:
        path = Path(args.params)
        if not path.is_file():
            raise ParameterError(f"params: file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ParameterError(f"params: {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        params = params_from_dict(data.get("device", data))
        if args.delta is not None:
            params = apply_vacancies(params, args.delta)
        return params
    if not args.preset:
        raise ParameterError("preset: give --preset NAME or --params FILE (see `vo2neuro presets`)")
    return get_parameters(args.preset, delta=args.delta)


def emit(args: argparse.Namespace, record: Any, text: Callable[[], str] | None = None) -> None:
    """Print the record as JSON (``--json``) or as ``key: value`` lines to stdout."""
    if getattr(args, "json", False):
        print(dumps(record))
        return
    if text is not None:
        print(text())
        return
    d = record.to_dict() if hasattr(record, "to_dict") else record
    for k, v in d.items():
        print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")


def write_table(path: str | None, record: Any, comments: list[str]) -> None:
    """Write ``record.table()`` as CSV if a path was given; report it on stderr."""
    if not path:
        return
    header, rows = record.table()
    write_csv(path, header, rows, comments=comments)
    print(f"wrote {path}", file=sys.stderr)
