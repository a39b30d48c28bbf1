"""Engineering-notation parsing at the I/O boundary."""
from __future__ import annotations

import pytest

from vo2neuro.units import ParameterError, format_si, parse_si


@pytest.mark.parametrize("text,value", [
    ("12k", 12e3), ("145.3p", 145.3e-12), ("2u", 2e-6), ("1meg", 1e6), ("1MEG", 1e6), ("3.3", 3.3),
    ("1e-9", 1e-9), ("-5m", -5e-3), ("10n", 1e-8), (".5", 0.5), ("1.5G", 1.5e9), ("4f", 4e-15),
])
def test_suffixes(text, value):
    assert parse_si(text) == pytest.approx(value, rel=1e-15)


def test_unit_symbol_allowed():
    assert parse_si("12kOhm", unit="Ohm") == 12e3
    assert parse_si("5V", unit="V") == 5.0


@pytest.mark.parametrize("text", ["3q", "abc", "", "1..2", "nan", "5 kk"])
def test_rejects(text):
    with pytest.raises(ParameterError) as exc:
        parse_si(text, name="r_load", unit="Ohm")
    assert "r_load" in str(exc.value) and "[Ohm]" in str(exc.value)


def test_format_si():
    assert format_si(145.35e-12, "F") == "145.3 pF"
    assert format_si(12e3, "Ohm") == "12 kOhm"
