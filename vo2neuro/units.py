"""Engineering-notation numbers as SPICE users write them, and the one error type the CLI maps to exit code 2.

SI units are used everywhere inside the package; this module is the I/O boundary only.
"""
from __future__ import annotations

import math
import re

__all__ = ["ParameterError", "parse_si", "parse_count", "format_si", "check_finite", "check_positive",
           "check_nonnegative"]


class ParameterError(ValueError):
    """A parameter value outside its physical or numerical domain.

    The message always names the parameter and its unit, on one line, so that the command line can print it
    verbatim and exit with code 2.
    """


# SPICE is case-insensitive: "m" and "M" are milli, "meg" is mega. Most people outside SPICE read "12M" as mega, so
# a bare upper-case "M" is refused with both readings named instead of silently meaning milli.
_SUFFIX = {
    "t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "": 1.0,
    "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
}
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Zµ]*)\s*$")


def parse_si(text: str | float | int, *, name: str = "value", unit: str = "") -> float:
    """Parse a number with an optional SPICE engineering suffix.

    ``12k`` -> 12e3, ``145.3p`` -> 1.453e-10, ``2u`` -> 2e-6, ``1meg`` -> 1e6, ``3.3`` -> 3.3, ``1e-9`` -> 1e-9.
    A trailing unit symbol equal to ``unit`` is allowed (``12kOhm`` with unit="Ohm", ``5V``). A bare upper-case
    ``M`` is refused as ambiguous (SPICE milli or common mega); ``m`` is milli, ``meg`` mega.

    Parameters
    ----------
    text : str or float
        The number as typed.
    name, unit : str
        Parameter name and SI unit, used in the error message only.

    Raises
    ------
    ParameterError
        For text that is not a number with a known suffix, or that is NaN.

    Examples
    --------
    >>> parse_si("12k"), parse_si("145.3p"), parse_si("1meg"), parse_si("5V", unit="V")
    (12000.0, 1.453e-10, 1000000.0, 5.0)
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _NUMBER.match(str(text))
        if m is None:
            raise ParameterError(f"{name}: cannot read {text!r} as a number [{unit or '-'}]")
        mantissa, suffix = m.group(1), m.group(2)
        if unit and unit not in ("1", "-") and suffix.lower().endswith(unit.lower()):
            suffix = suffix[: len(suffix) - len(unit)]
        if suffix[:1] == "M" and not suffix.lower().startswith("meg"):
            raise ParameterError(
                f"{name}: {text!r} is ambiguous [{unit or '-'}]: SPICE reads M as milli ({mantissa}m = "
                f"{float(mantissa) * 1e-3:g}), others as mega; write {mantissa}m or {mantissa}meg")
        key = suffix.lower()
        if key.startswith("meg"):
            scale, rest = 1e6, key[3:]
        elif key[:1] in _SUFFIX and key[:1] != "":
            scale, rest = _SUFFIX[key[:1]], key[1:]
        else:
            scale, rest = 1.0, key
        if rest:
            raise ParameterError(
                f"{name}: unknown suffix {suffix!r} in {text!r} [{unit or '-'}]; "
                "valid suffixes: T G meg k m u n p f a"
            )
        value = float(mantissa) * scale
    if math.isnan(value):
        raise ParameterError(f"{name}: NaN is not a valid value [{unit or '-'}]")
    return value


def parse_count(text: str | int, *, name: str = "count", minimum: int = 0, maximum: int | None = None) -> int:
    """Parse a whole number with an optional engineering suffix (``1k`` -> 1000, ``2meg`` -> 2000000).

    Raises
    ------
    ParameterError
        For text that is not a whole number in ``[minimum, maximum]``.

    Examples
    --------
    >>> parse_count("1k", name="n_images"), parse_count("64", name="steps")
    (1000, 64)
    """
    if isinstance(text, bool):
        raise ParameterError(f"{name} must be a whole number [1], got {text!r}")
    v = parse_si(text, name=name, unit="1")
    if not math.isfinite(v) or v != int(v):
        raise ParameterError(f"{name} must be a whole number [1], got {text!r}")
    n = int(v)
    if n < minimum or (maximum is not None and n > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ParameterError(f"{name} must be a whole number {bound} [1], got {text!r}")
    return n


def format_si(value: float, unit: str = "", digits: int = 4) -> str:
    """Format ``value`` in engineering notation: ``format_si(1.453e-10, "F") == '145.3 pF'``.

    Examples
    --------
    >>> format_si(12000.0, "Ohm")
    '12 kOhm'
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    exp3 = int(math.floor(math.log10(abs(value)) / 3) * 3)
    exp3 = max(-18, min(12, exp3))
    prefix = {12: "T", 9: "G", 6: "M", 3: "k", 0: "", -3: "m", -6: "u", -9: "n", -12: "p", -15: "f", -18: "a"}[exp3]
    return f"{value / 10.0**exp3:.{digits}g} {prefix}{unit}".strip()


def check_finite(name: str, value: float, unit: str) -> float:
    """Return ``float(value)`` or raise :class:`ParameterError` naming ``name`` and ``unit`` if not finite."""
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be a finite number [{unit}], got {value!r}")
    return v


def check_positive(name: str, value: float, unit: str) -> float:
    """Return ``float(value)`` or raise :class:`ParameterError` if it is not finite and > 0."""
    v = check_finite(name, value, unit)
    if v <= 0.0:
        raise ParameterError(f"{name} must be > 0 [{unit}], got {value!r}")
    return v


def check_nonnegative(name: str, value: float, unit: str) -> float:
    """Return ``float(value)`` or raise :class:`ParameterError` if it is not finite and >= 0."""
    v = check_finite(name, value, unit)
    if v < 0.0:
        raise ParameterError(f"{name} must be >= 0 [{unit}], got {value!r}")
    return v
