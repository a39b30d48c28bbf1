"""Validation of the circuit-layer parameter records and inputs: one-line errors naming field and unit."""
from __future__ import annotations

import math

import pytest

from vo2neuro.units import ParameterError
from vo2neuro.circuits import CircuitParams, PWLDeviceParams, Variability, make_device, simulate

GOOD = dict(r_off=100e3, r_on=1e3, v_th=2.0, v_h=1.0)


@pytest.mark.parametrize("field,value,match", [
    ("r_off", -1.0, r"r_off must be > 0 \[Ohm\]"),
    ("r_on", math.nan, r"r_on must be a finite number \[Ohm\]"),
    ("v_th", math.inf, r"v_th must be a finite number \[V\]"),
    ("v_h", -0.1, r"v_h must be >= 0 \[V\]"),
    ("r_on", 200e3, r"r_on must be < r_off \[Ohm\]"),
    ("v_h", 3.0, r"v_h must be < v_th \[V\]"),
])
def test_pwl_validation(field, value, match):
    with pytest.raises(ParameterError, match=match) as exc:
        PWLDeviceParams(**{**GOOD, field: value})
    assert "\n" not in str(exc.value)


def test_pwl_kernel_tuple():
    k = PWLDeviceParams(**GOOD).to_kernel()
    assert (k.r_off, k.r_on, k.v_th, k.v_h) == (100e3, 1e3, 2.0, 1.0)


def test_circuit_validation():
    with pytest.raises(ParameterError, match=r"capacitance must be > 0 \[F\]"):
        CircuitParams(capacitance=-1e-12, r_load=1e3, v_in=1.0)
    with pytest.raises(ParameterError, match=r"r_load must be a finite number \[Ohm\]"):
        CircuitParams(capacitance=1e-12, r_load=math.inf, v_in=1.0)
    assert math.isinf(CircuitParams(drive="current", capacitance=1e-12, i_in=1e-3).r_load)
    with pytest.raises(ParameterError, match=r"drive: unknown drive 'x'; valid: voltage, current"):
        CircuitParams(drive="x", capacitance=1e-12)
    with pytest.raises(ParameterError, match=r"ambient must be a finite number \[K\]"):
        CircuitParams(capacitance=1e-12, r_load=1e3, ambient=math.nan)


def test_variability_validation():
    with pytest.raises(ParameterError, match=r"seed must be an integer >= 0"):
        Variability(seed=-1)
    with pytest.raises(ParameterError, match=r"t_c_sigma must be >= 0 \[K\]"):
        Variability(t_c_sigma=-1.0)
    with pytest.raises(ParameterError, match=r"v_th_c2c_rel must be <= 0.3"):
        Variability(v_th_c2c_rel=0.5)


def test_unknown_model_lists_valid():
    with pytest.raises(ParameterError, match=r"unknown device model 'spice'; valid: electrothermal, pwl"):
        make_device("spice")


def test_simulate_input_errors():
    dev = PWLDeviceParams(**GOOD)
    with pytest.raises(ParameterError, match=r"capacitance must be > 0 \[F\]"):
        simulate(dev, v_in=5.0, r_load=1e4, capacitance=-1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"v_in must be finite \[V\]"):
        simulate(dev, v_in=math.nan, r_load=1e4, capacitance=1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"drive: unknown drive 'ac'; valid: voltage, current"):
        simulate(dev, drive="ac", v_in=5.0, r_load=1e4, capacitance=1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"i_in: required"):
        simulate(dev, drive="current", r_load=1e4, capacitance=1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"preset: unknown parameter set 'foo'; valid: "):
        simulate("foo", v_in=5.0, r_load=1e4, capacitance=1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"do not broadcast"):
        simulate(dev, v_in=[5.0, 6.0], r_load=[1e4, 2e4, 3e4], capacitance=1e-9, duration=1e-6)
    with pytest.raises(ParameterError, match=r"ambient must lie in"):
        simulate("zhang2024", v_in=12.0, r_load=12e3, capacitance=145e-12, ambient=100.0, duration=1e-6)
