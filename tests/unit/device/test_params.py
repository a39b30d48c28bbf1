"""Parameter records: validation with field name and unit, replace() re-validates, kernel tuple, registry."""
from __future__ import annotations

import dataclasses
import math

import pytest

from vo2neuro.units import ParameterError
from vo2neuro.citations import known_keys
from vo2neuro.device import PARAMETER_SETS, VO2DeviceParams, get_parameters, preset_names
from vo2neuro.device.params import DeviceKernelParams, params_from_dict


@pytest.fixture
def base() -> VO2DeviceParams:
    return get_parameters("zhang2024")


@pytest.mark.parametrize("field,value,unit", [
    ("R_m", -5.0, "[Ohm]"),
    ("R_0", 0.0, "[Ohm]"),
    ("C_th", 0.0, "[J K-1]"),
    ("S_e", math.nan, "[W K-1]"),
    ("T_c", math.inf, "[K]"),
    ("thermal_noise", -1.0, "[W s^1/2]"),
])
def test_invalid_values_name_field_and_unit(base, field, value, unit):
    with pytest.raises(ParameterError) as exc:
        dataclasses.replace(base, **{field: value})
    msg = str(exc.value)
    assert field in msg and unit in msg and "\n" not in msg


def test_physical_ordering_checked(base):
    with pytest.raises(ParameterError, match="T_min"):
        dataclasses.replace(base, T_min=380.0)
    # an insulating resistance below the metallic one is no transition at all
    with pytest.raises(ParameterError, match="R_0"):
        dataclasses.replace(base, R_0=1e-12, Ea_over_k=1.0)


def test_keyword_only_and_frozen(base):
    with pytest.raises(TypeError):
        VO2DeviceParams(332.0, 7.0)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.T_c = 300.0  # type: ignore[misc]


def test_every_numeric_field_has_a_unit():
    for f in dataclasses.fields(VO2DeviceParams):
        assert "unit" in f.metadata and "doc" in f.metadata, f.name


def test_to_kernel_is_namedtuple_with_si_values(base):
    k = base.to_kernel()
    assert isinstance(k, DeviceKernelParams)
    assert k.C_th == pytest.approx(49.62776831e-12) and k.S_e == pytest.approx(0.20558726e-3)
    assert k.pf_coeff == 0.0  # Poole-Frenkel off by default
    assert dataclasses.replace(base, poole_frenkel=True).to_kernel().pf_coeff > 0


def test_zhang2024_is_the_published_fit_exactly(base):
    # vo2_physics.md section 4.1 (code values, SI-converted)
    assert (base.T_c, base.w, base.beta, base.gamma) == (332.805839, 7.19357064, 0.252796285, 0.956269682)
    assert (base.R_0, base.Ea_over_k) == (5.35882879e-3, 5220.47417)
    assert base.R_m == pytest.approx(1286.32, abs=0.01) and base.R_m == 262.5 * 4.90025335
    assert base.C_th == pytest.approx(49.62776831e-12, rel=1e-12)
    assert base.S_e == pytest.approx(0.20558726e-3, rel=1e-12)
    assert base.tau_th == pytest.approx(241.4e-9, rel=1e-3)  # closed form C_th/S_e, vo2_physics.md 4.1


def test_registry_unknown_name_lists_valid():
    with pytest.raises(ParameterError) as exc:
        get_parameters("vo3")
    for name in preset_names():
        assert name in str(exc.value)


def test_every_preset_cites_a_known_key():
    keys = set(known_keys())
    for name, info in PARAMETER_SETS.items():
        assert info.citation in keys, name
        assert get_parameters(name).citation in keys


def test_params_from_dict_roundtrip_and_unknown_key(base):
    assert params_from_dict(base.to_dict()) == base
    with pytest.raises(ParameterError, match="unknown field"):
        params_from_dict({**base.to_dict(), "R_x": 1.0})
