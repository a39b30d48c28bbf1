"""Argument helpers shared by the subcommands: engineering-notation numbers, device selection, output."""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from vo2neuro._io import dumps, write_csv
from vo2neuro.units import ParameterError, parse_count, parse_si

__all__ = ["si_type", "int_type", "out_file", "out_dir", "in_file", "in_dir", "choice_type", "preset_type",
           "value_type", "integration_type", "parse_length_range", "check_output_file", "check_output_dir",
           "add_device_args", "select_device", "resolve_device", "emit", "write_table"]


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


def int_type(name: str, *, minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """argparse ``type=`` for whole numbers in ``[minimum, maximum]`` (engineering suffixes allowed: 10k)."""

    def convert(text: str) -> int:
        try:
            return parse_count(text, name=name, minimum=minimum, maximum=maximum)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def check_output_file(path: str | os.PathLike, option: str) -> Path:
    """Refuse an output file that cannot be written, before any work: a folder, an unwritable or missing
    parent that cannot be created. Nothing is created here. Returns the path."""
    p = Path(path)
    if str(path).strip() == "":
        raise ParameterError(f"{option}: empty file name [path]")
    if p.is_dir():
        raise ParameterError(f"{option}: {p} is a folder, expected a file name [path]")
    if p.exists() and not os.access(p, os.W_OK):
        raise ParameterError(f"{option}: {p} is not writable [path]")
    _check_creatable(p.parent if str(p.parent) else Path("."), option)
    return p


def check_output_dir(path: str | os.PathLike, option: str) -> Path:
    """Refuse an output folder that is a file or cannot be created / written. Nothing is created here."""
    p = Path(path)
    if str(path).strip() == "":
        raise ParameterError(f"{option}: empty folder name [path]")
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{option}: {p} exists and is not a folder [path]")
    _check_creatable(p, option)
    return p


def _check_creatable(folder: Path, option: str) -> None:
    """The nearest existing ancestor of ``folder`` must be a writable folder (so ``mkdir -p`` + write succeed)."""
    q = folder.resolve() if folder.is_absolute() else (Path.cwd() / folder)
    while not q.exists():
        q = q.parent
    if not q.is_dir():
        raise ParameterError(f"{option}: {q} is a file, cannot create {folder} inside it [path]")
    if not os.access(q, os.W_OK | os.X_OK):
        raise ParameterError(f"{option}: cannot write into {q} (permission denied) [path]")


def value_type(option: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse ``type=`` returning ``convert(text)`` at parse time; its ParameterError becomes the usage error."""

    def f(text: str) -> Any:
        try:
            return convert(text)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    f.__name__ = option
    return f


def _arg_type(option: str, check: Callable[[str], object]) -> Callable[[str], str]:
    """argparse ``type=`` that runs ``check(text)`` at parse time and returns the text unchanged."""

    def keep(text: str) -> str:
        check(text)
        return text

    return value_type(option, keep)


def integration_type(option: str = "integration") -> Callable[[str], str]:
    """argparse ``type=`` for an integration scenario (``vo2neuro.circuits.scaling.INTEGRATION``)."""

    def check(text: str) -> str:
        from vo2neuro.circuits.scaling import check_integration

        return check_integration(text)

    return value_type(option, check)


def parse_length_range(text: str, option: str = "length", *, max_count: int = 200) -> tuple[float, float, int]:
    """``START:STOP:N`` (N log-spaced lengths) or one length ``L`` [m] -> ``(start, stop, n)``."""
    parts = text.split(":")
    if len(parts) not in (1, 3):
        raise ParameterError(f"{option}: expected one length or START:STOP:N (e.g. 2u:20n:12) [m], got {text!r}")
    vals = [parse_si(x, name=option, unit="m") for x in parts[: 1 if len(parts) == 1 else 2]]
    for v in vals:
        if not (math.isfinite(v) and v > 0):
            raise ParameterError(f"{option} must be > 0 and finite [m], got {text!r}")
    if len(parts) == 1:
        return vals[0], vals[0], 1
    return vals[0], vals[1], parse_count(parts[2], name=f"{option} count", minimum=1, maximum=max_count)


def out_file(option: str, *, suffixes: tuple[str, ...] = ()) -> Callable[[str], str]:
    """argparse ``type=`` for an output file: checked writable (and its suffix) at parse time, before any work."""

    def check(text: str) -> None:
        if suffixes and not text.lower().endswith(suffixes):
            raise ParameterError(f"{option}: {text!r} must end with {' or '.join(suffixes)} [path]")
        check_output_file(text, option)

    return _arg_type(option, check)


def out_dir(option: str) -> Callable[[str], str]:
    """argparse ``type=`` for an output folder: checked creatable and writable at parse time."""
    return _arg_type(option, lambda text: check_output_dir(text, option))


def in_file(option: str) -> Callable[[str], str]:
    """argparse ``type=`` for an input file that must exist and be readable."""

    def check(text: str) -> None:
        if not text.strip():
            raise ParameterError(f"{option}: empty file name [path]")
        p = Path(text)
        if not p.is_file():
            raise ParameterError(f"{option}: {'is a folder' if p.is_dir() else 'not found'}: {text} [path]")
        if not os.access(p, os.R_OK):
            raise ParameterError(f"{option}: {text} is not readable [path]")

    return _arg_type(option, check)


def in_dir(option: str) -> Callable[[str], str]:
    """argparse ``type=`` for an input folder that must exist and be readable."""

    def check(text: str) -> None:
        if not text.strip():
            raise ParameterError(f"{option}: empty folder name [path]")
        p = Path(text).expanduser()
        if not p.is_dir():
            what = "is a file, expected a folder" if p.exists() else "folder not found"
            raise ParameterError(f"{option}: {what}: {text} [path]")
        if not os.access(p, os.R_OK | os.X_OK):
            raise ParameterError(f"{option}: {text} is not readable [path]")

    return _arg_type(option, check)


def choice_type(name: str, valid: Iterable[str]) -> Callable[[str], str]:
    """argparse ``type=`` for a registry name; the error lists the valid names."""
    valid = tuple(valid)

    def check(text: str) -> None:
        if text not in valid:
            raise ParameterError(f"{name}: unknown value {text!r}; valid: {', '.join(valid)} [-]")

    return _arg_type(name, check)


def preset_type(option: str = "preset") -> Callable[[str], str]:
    """argparse ``type=`` for a device preset name; the error lists the valid ones (``vo2neuro presets``)."""

    def check(text: str) -> None:
        from vo2neuro.device.parameter_sets import preset_names

        if text not in preset_names():
            raise ParameterError(f"{option}: unknown parameter set {text!r}; valid: {', '.join(preset_names())} [-]")

    return _arg_type(option, check)


def add_device_args(p: argparse.ArgumentParser, *, ambient: bool = False) -> None:
    """``--preset NAME [--delta X] | --params FILE`` (and ``--ambient K``) for choosing a device."""
    p.add_argument("--preset", type=preset_type(), help="parameter set (see `vo2neuro presets`)")
    p.add_argument("--delta", type=si_type("delta", "1", nonneg=True),
                   help="oxygen-vacancy level x of VO2-x [-] (replaces the preset's)")
    p.add_argument("--params", metavar="FILE", type=in_file("params"),
                   help="JSON parameter file (e.g. written by `vo2neuro calibrate`)")
    if ambient:
        p.add_argument("--ambient", type=si_type("ambient", "K", positive=True), default=None,
                       help="bath temperature [K] (default: the parameter file's, else the preset's)")


def select_device(args: argparse.Namespace):
    """The :class:`~vo2neuro.device.select.DeviceSelection` chosen by ``--preset/--delta/--params/--ambient``."""
    from vo2neuro.device.select import select

    return select(args.preset, params_file=args.params, delta=args.delta, ambient=getattr(args, "ambient", None))


def resolve_device(args: argparse.Namespace):
    """The :class:`VO2DeviceParams` chosen by ``--preset/--delta/--params``."""
    return select_device(args).params


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
