"""VO2NeuronParams: validation, units, serialisation."""
from __future__ import annotations

import dataclasses

import pytest

from vo2neuro.units import ParameterError
from vo2neuro.snn.params import VO2NeuronParams


def test_every_field_has_a_unit(p):
    units = VO2NeuronParams.units()
    assert set(units) == {"capacitance", "r_leak", "v_bias", "v_th", "v_h", "t_ref", "i_max", "dt"}
    assert units["capacitance"] == "F" and units["r_leak"] == "Ohm" and units["i_max"] == "A"


def test_derived_quantities(p):
    assert p.tau == pytest.approx(145.35e-12 * 12e3)
    assert p.rheobase == pytest.approx(5.0 / 12e3)
    assert p.n_ref == 5
    assert p.r_on == pytest.approx(2.0 / 2e-3)


@pytest.mark.parametrize("field,value,needle", [
    ("capacitance", -1e-12, "capacitance must be > 0 [F]"),
    ("r_leak", float("nan"), "r_leak must be a finite number [Ohm]"),
    ("t_ref", -1e-9, "t_ref must be >= 0 [s]"),
    ("dt", 0.0, "dt must be > 0 [s]"),
    ("v_h", 6.0, "v_h"),
    ("v_th", -1.0, "v_th"),
    ("i_max", 1e-4, "i_max"),
])
def test_invalid_values_give_one_line_errors(p, field, value, needle):
    with pytest.raises(ParameterError) as exc:
        dataclasses.replace(p, **{field: value})
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg and "[" in msg


def test_keyword_only_and_frozen(p):
    with pytest.raises(TypeError):
        VO2NeuronParams(145e-12, 12e3)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.v_th = 3.0  # type: ignore[misc]


def test_from_record_round_trip_and_missing_field(p):
    assert VO2NeuronParams.from_record(p.to_dict()) == p

    class CircuitRecord:  # what circuits.from_circuit may return: a record with to_dict(), no snn import
        def to_dict(self):
            return {**p.to_dict(), "frequency_hz": 1e6}

    assert VO2NeuronParams.from_record(CircuitRecord(), dt=0.05e-6).dt == 0.05e-6
    d = p.to_dict()
    del d["i_max"]
    with pytest.raises(ParameterError, match=r"i_max \[A\]"):
        VO2NeuronParams.from_record(d)


def test_matches_tolerates_solver_noise_only(p):
    import dataclasses

    assert p.matches(dataclasses.replace(p, r_leak=p.r_leak * (1 + 1e-9)))
    assert p.matches(p.to_dict())
    assert not p.matches(dataclasses.replace(p, r_leak=p.r_leak * (1 + 1e-3)))
    assert not p.matches({k: v for k, v in p.to_dict().items() if k != "dt"})
