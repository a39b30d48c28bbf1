"""Registry of published and derived parameter sets, one module per source (PyBaMM style).

Each entry maps a name to a factory returning :class:`~vo2neuro.device.params.VO2DeviceParams`; the module of
each set names its citation and where every number comes from.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from vo2neuro.units import ParameterError
from vo2neuro.device.params import VO2DeviceParams
from vo2neuro.device.parameter_sets import li2024, zhang2024

__all__ = ["PARAMETER_SETS", "PresetInfo", "get_parameters", "preset_names", "preset_info"]


class PresetInfo(NamedTuple):
    """What a preset is: factory, one-line description, citation key, recommended ambient [K]."""

    factory: Callable[[], VO2DeviceParams]
    description: str
    citation: str
    ambient_k: float


PARAMETER_SETS: dict[str, PresetInfo] = {
    "zhang2024": PresetInfo(zhang2024.get_parameters, zhang2024.DESCRIPTION, zhang2024.CITATION,
                            zhang2024.AMBIENT_K),
    "vo2": PresetInfo(li2024.get_pristine, li2024.DESCRIPTION_VO2, li2024.CITATION, li2024.AMBIENT_K),
    "vo2x": PresetInfo(li2024.get_vacancy, li2024.DESCRIPTION_VO2X, li2024.CITATION, li2024.AMBIENT_K),
}


def preset_names() -> list[str]:
    """Sorted registry names."""
    return sorted(PARAMETER_SETS)


def preset_info(name: str) -> PresetInfo:
    """Registry entry of ``name``; :class:`ParameterError` listing valid names if unknown."""
    try:
        return PARAMETER_SETS[name]
    except KeyError:
        raise ParameterError(f"preset: unknown parameter set {name!r}; valid: {', '.join(preset_names())}") from None


def get_parameters(name: str, *, delta: float | None = None) -> VO2DeviceParams:
    """Parameters of the preset ``name``, optionally at oxygen-vacancy level ``delta`` [-].

    ``delta`` replaces the preset's own vacancy level: ``get_parameters("vo2x", delta=0.02)`` and
    ``get_parameters("vo2", delta=0.02)`` are the same film. The citation of the set is registered on use.

    Examples
    --------
    >>> get_parameters("zhang2024").T_c
    332.805839
    """
    from vo2neuro import citations
    from vo2neuro.device.vacancy import apply_vacancies

    info = preset_info(name)
    params = info.factory()
    citations.register(info.citation)
    if delta is None:
        return params
    # A vacancy level always applies to the stoichiometric film behind a preset: vo2 and vo2x share one.
    base = li2024.get_pristine() if name in ("vo2", "vo2x") else params
    citations.register("Li2024")
    return apply_vacancies(base, delta, name=name if delta == params.delta else f"{name}@delta={delta:g}")
