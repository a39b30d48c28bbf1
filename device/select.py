"""One way to pick a device: preset or parameter file, vacancy level and bath temperature.

Every command and study resolves "which device at which ambient" through :func:`select`, so that a preset's
recommended bath temperature is stated once (in its registry entry) and a calibrated parameter file carries the
bath temperature it was fitted at.

Ambient precedence (first that applies):

1. an explicit ``ambient`` [K];
2. the bath temperature stored in the parameter file (``ambient_k`` at the top level or in its ``calibration``
   block, as written by ``vo2neuro calibrate -o``);
3. the preset's recommended ambient (:class:`~vo2neuro.device.parameter_sets.PresetInfo.ambient_k`);
4. :data:`ROOM_TEMPERATURE_K`.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, NamedTuple

from vo2neuro._io import read_input_text
from vo2neuro.device.params import VO2DeviceParams, params_from_dict
from vo2neuro.units import ParameterError, check_nonnegative

__all__ = ["DeviceSelection", "select", "default_ambient", "read_params_file", "ROOM_TEMPERATURE_K"]

#: Bath temperature of a device that names no preset and no fitted ambient [K] (assumption: room temperature).
ROOM_TEMPERATURE_K = 300.0


class DeviceSelection(NamedTuple):
    """The resolved device and the bath temperature it is used at.

    Attributes
    ----------
    params : VO2DeviceParams
    ambient_k : float
        Bath temperature [K].
    source : str
        ``"preset:NAME"`` or ``"file:PATH"`` (provenance for run records).
    """

    params: VO2DeviceParams
    ambient_k: float
    source: str


def read_params_file(path: str | os.PathLike) -> tuple[VO2DeviceParams, float | None]:
    """Device parameters and the stored bath temperature [K] (or None) of a JSON parameter file.

    The file is either a plain field dict or ``{"device": {...}, "calibration": {"ambient_k": ...}, ...}`` as
    written by ``vo2neuro calibrate -o``. Every error is a one-line :class:`ParameterError` naming the file.
    """
    p, text = read_input_text(path, "params", "JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"params: {p} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ParameterError(f"params: {p} must hold a JSON object of device fields, got {type(data).__name__}")
    # a plain field dict may carry its bath temperature at the top level (see the module docstring)
    fields = data["device"] if "device" in data else {k: v for k, v in data.items() if k != "ambient_k"}
    if not isinstance(fields, dict):
        raise ParameterError(f"params: {p}: 'device' must be a JSON object of device fields")
    try:
        params = params_from_dict(fields)
    except ParameterError as exc:
        raise ParameterError(f"params: {p}: {str(exc).removeprefix('params: ')}") from None
    ambient = _stored_ambient(data)
    if ambient is not None:
        ambient = _check_ambient(ambient, f"params: {p}: ambient_k")
    return params, ambient


def _stored_ambient(data: dict[str, Any]) -> Any:
    if "ambient_k" in data:
        return data["ambient_k"]
    cal = data.get("calibration")
    if isinstance(cal, dict) and cal.get("ambient_k") is not None:
        return cal["ambient_k"]
    return None


def _check_ambient(value: Any, name: str = "ambient") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)) \
            or float(value) <= 0.0:
        raise ParameterError(f"{name} must be a finite temperature > 0 [K], got {value!r}")
    return float(value)


def default_ambient(params: VO2DeviceParams) -> float:
    """Recommended bath temperature [K] of a device: its preset's, else :data:`ROOM_TEMPERATURE_K`.

    A device derived from a preset by :func:`~vo2neuro.device.apply_vacancies` keeps the preset's name prefix
    (``vo2@delta=0.01``, ``zhang2024-x0.01``) and therefore its ambient.
    """
    from vo2neuro.device.parameter_sets import PARAMETER_SETS

    for name in (params.name, params.name.split("@", 1)[0], params.name.rsplit("-x", 1)[0]):
        if name in PARAMETER_SETS:
            return PARAMETER_SETS[name].ambient_k
    return ROOM_TEMPERATURE_K


def select(preset: str | None = None, *, params_file: str | os.PathLike | None = None, delta: float | None = None,
           ambient: float | None = None) -> DeviceSelection:
    """Resolve the device and its bath temperature.

    Parameters
    ----------
    preset : str, optional
        Registry name (``vo2neuro presets``). Exactly one of ``preset`` and ``params_file``.
    params_file : path, optional
        JSON parameter file (``vo2neuro calibrate -o``, or a dict of :class:`VO2DeviceParams` fields).
    delta : float, optional
        Oxygen-vacancy level x of VO2-x [-]; replaces the device's own.
    ambient : float, optional
        Bath temperature [K]; default as in the module docstring.

    Returns
    -------
    DeviceSelection

    Examples
    --------
    >>> sel = select("zhang2024")
    >>> sel.ambient_k, sel.params.name
    (325.0, 'zhang2024')
    >>> select("vo2", delta=0.01).params.delta
    0.01
    """
    from vo2neuro.device.parameter_sets import get_parameters, preset_info
    from vo2neuro.device.vacancy import apply_vacancies

    if preset is not None and params_file is not None:
        raise ParameterError("preset: give --preset NAME or --params FILE, not both")
    if delta is not None:
        delta = check_nonnegative("delta", delta, "1")
    if ambient is not None:
        ambient = _check_ambient(ambient)
    if params_file is not None:
        params, stored = read_params_file(params_file)
        if delta is not None:
            params = apply_vacancies(params, delta)
        amb = ambient if ambient is not None else stored if stored is not None else default_ambient(params)
        return DeviceSelection(params, amb, f"file:{params_file}")
    if not preset:
        raise ParameterError("preset: give --preset NAME or --params FILE (see `vo2neuro presets`)")
    info = preset_info(preset)
    params = get_parameters(preset, delta=delta)
    return DeviceSelection(params, ambient if ambient is not None else info.ambient_k, f"preset:{preset}")
