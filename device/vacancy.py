r"""Oxygen-vacancy level delta (the x of VO2-x) mapped onto the device parameters.

Oxygen vacancies electron-dope VO2: they lower the transition temperature, the insulating activation energy
and the insulating resistance, and broaden the transition (vo2_physics.md section 7; Li et al. 2024 for the
device-level claim of lower operating voltage and faster spiking). No measured delta-series of lumped
parameters exists yet, so every slope below is a project estimate **[assumption]** inside the prior ranges of
vo2_physics.md section 7.3; calibrate them on measured R-T loops with ``vo2neuro calibrate`` when available.

.. math::

    T_c(\delta) &= T_{c,0} - k_T\,\delta                              \\
    E_a(\delta) &= E_{a,0}\,(1 - a_E\,\delta)                          \\
    R_0(\delta) &= R_{0,0} / (1 + a_R\,\delta)                          \\
    w(\delta)   &= w_0\,(1 + a_w\,\delta)                               \\
    \beta(\delta) &= \beta_0 / (1 + a_\beta\,\delta)                    \\
    R_m(\delta) &= R_{m,0}

Valid for ``0 <= delta <= DELTA_MAX``; beyond it the shifted loop approaches room temperature and the
de Almeida fit has no support (vacancies then suppress the transition altogether, vo2_physics.md 7.1).
"""
from __future__ import annotations

import dataclasses
import math

from vo2neuro.units import ParameterError
from vo2neuro.device.params import VO2DeviceParams

__all__ = ["apply_vacancies", "DELTA_MAX", "VACANCY_SLOPES"]

#: Upper end of the documented vacancy range [-] (assumption, see module docstring).
DELTA_MAX = 0.03

#: Slopes of the mapping, each with its unit and source.
VACANCY_SLOPES: dict[str, tuple[float, str, str]] = {
    "k_T": (1000.0, "K", "assumption: 1 K per 0.001 delta, lower end of the 1-2.5 K/0.001 electron-count prior "
            "(W doping -23 K/at.%, arXiv:2509.01956; vo2_physics.md 7.3)"),
    "a_E": (5.0, "1", "assumption: E_a falls 5 % per 0.01 delta (prior: decreasing with delta, vo2_physics.md 7.3)"),
    "a_R": (50.0, "1", "assumption: R_0 falls 1.5x at delta 0.01; with a_E the 300 K insulating resistance falls "
            "3.6x at 0.01 and 34x at 0.03 (prior: 3-30x, vo2_physics.md 7.3)"),
    "a_w": (10.0, "1", "assumption: loop widens 10 % per 0.01 delta (direction reported both ways, vo2_physics.md 7.1)"),
    "a_beta": (20.0, "1", "assumption: transition broadens, beta falls 20 % per 0.01 delta (vo2_physics.md 7.3)"),
}


def apply_vacancies(base: VO2DeviceParams, delta: float, *, name: str | None = None) -> VO2DeviceParams:
    """Return the parameters of ``base`` (a stoichiometric film, ``base.delta == 0``) at vacancy level ``delta``.

    Parameters
    ----------
    base : VO2DeviceParams
        Pristine parameters.
    delta : float
        Oxygen-vacancy level x of VO2-x [-], ``0 <= delta <= DELTA_MAX``.
    name : str, optional
        Name of the returned set (default ``f"{base.name}-x{delta}"``).

    Raises
    ------
    ParameterError
        If delta is not finite or outside the documented range, or ``base`` is itself non-stoichiometric.

    Examples
    --------
    >>> from vo2neuro.device import get_parameters
    >>> p = apply_vacancies(get_parameters("vo2"), 0.01)
    >>> round(get_parameters("vo2").T_c - p.T_c, 6)
    10.0
    """
    if not isinstance(delta, (int, float)) or not math.isfinite(float(delta)):
        raise ParameterError(f"delta must be a finite number [1], got {delta!r}")
    if not (0.0 <= delta <= DELTA_MAX):
        raise ParameterError(f"delta must be within [0, {DELTA_MAX}] [1] (the model's vacancy range), got {delta!r}")
    if base.delta != 0.0:
        raise ParameterError(f"delta: base set {base.name!r} already has delta={base.delta}; apply to a pristine set")
    s = {k: v[0] for k, v in VACANCY_SLOPES.items()}
    return dataclasses.replace(
        base,
        T_c=base.T_c - s["k_T"] * delta,
        Ea_over_k=base.Ea_over_k * (1.0 - s["a_E"] * delta),
        R_0=base.R_0 / (1.0 + s["a_R"] * delta),
        w=base.w * (1.0 + s["a_w"] * delta),
        beta=base.beta / (1.0 + s["a_beta"] * delta),
        delta=float(delta),
        name=name if name is not None else f"{base.name}-x{delta:g}",
        description=f"{base.description} with oxygen-vacancy level delta={delta:g} (mapping: vacancy.py)",
    )
