"""Device parameter record for the lumped electro-thermal VO2 / VO2-x model.

All fields are SI. Every physical field names its unit in ``metadata["unit"]`` and its meaning in
``metadata["doc"]``; the record is frozen and validated on construction, and variants are made with
:func:`dataclasses.replace` (which re-validates).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from vo2neuro.units import ParameterError

__all__ = ["VO2DeviceParams", "params_from_dict", "DeviceKernelParams", "si", "K_B_EV", "Q_E", "EPS_0", "K_B"]

#: Boltzmann constant [J K-1] (CODATA 2018, exact).
K_B = 1.380649e-23
#: Boltzmann constant [eV K-1] (CODATA 2018, exact).
K_B_EV = 8.617333262e-5
#: Elementary charge [C] (CODATA 2018, exact).
Q_E = 1.602176634e-19
#: Vacuum permittivity [F m-1] (CODATA 2018).
EPS_0 = 8.8541878128e-12


def si(unit: str, doc: str) -> dict[str, str]:
    """Field metadata: the SI unit and a one-line description."""
    return {"unit": unit, "doc": doc}


class DeviceKernelParams(NamedTuple):
    """Flat parameter record passed into the Numba kernels (all SI floats)."""

    T_c: float
    w: float
    beta: float
    gamma: float
    R_0: float
    Ea_over_k: float
    R_m: float
    C_th: float
    S_e: float
    T_min: float
    T_max: float
    deadband: float
    pf_coeff: float
    noise_sigma: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VO2DeviceParams:
    r"""Lumped electro-thermal VO2 / VO2-x threshold-switch parameters (SI).

    The model (de Almeida hysteresis, Zhang/Qiu/Di Ventra electro-thermal form)::

        R(T, H)   = R_0 exp(Ea_over_k / T) g(T, H) [x PF(V, T)] + R_m
        g(T, H)   = 1/2 + 1/2 tanh(beta (delta w/2 + T_c - (T + T_p)))
        C_th dT/dt = V^2 / R - S_e (T - T_0) + noise_sigma * eta(t)

    Attributes
    ----------
    T_c : float
        Hysteresis-loop centre [K].
    w : float
        Loop width [K]; heating branch centred at ``T_c + w/2``, cooling at ``T_c - w/2``.
    beta : float
        Transition sharpness [K-1].
    gamma : float
        Minor-loop proximity parameter [-].
    R_0 : float
        Arrhenius prefactor of the insulating phase [Ohm].
    Ea_over_k : float
        Activation temperature E_a / k_B of the insulating phase [K].
    R_m : float
        Metallic resistance including leads and contacts [Ohm].
    C_th : float
        Lumped thermal capacitance [J K-1].
    S_e : float
        Thermal conductance to the bath, 1/R_th [W K-1].
    T_min, T_max : float
        Temperature clamp inside R(T) and the reversal test: the validity range of the fit [K].
    reversal_deadband : float
        A temperature change smaller than this does not count as a reversal [K].
    poole_frenkel : bool
        Switch on field-enhanced (Poole-Frenkel) insulating conduction (off by default).
    channel_length : float
        Electrode gap used for the field E = V / L in the Poole-Frenkel term [m].
    eps_r : float
        High-frequency relative permittivity in the Poole-Frenkel barrier lowering [-].
    thermal_noise : float
        Strength sigma of the Langevin heat-flow noise [W s^1/2] (0 = deterministic).
    delta : float
        Oxygen-vacancy level x of VO2-x the set represents [-] (informational; see ``vo2neuro.device.vacancy``).
    name, citation, description : str
        Registry name, citation key in ``CITATIONS.bib`` and a one-line description.
    """

    T_c: float = field(metadata=si("K", "hysteresis loop centre"))
    w: float = field(metadata=si("K", "hysteresis loop width"))
    beta: float = field(metadata=si("K-1", "transition sharpness"))
    gamma: float = field(metadata=si("1", "minor-loop proximity parameter"))
    R_0: float = field(metadata=si("Ohm", "Arrhenius prefactor of the insulating phase"))
    Ea_over_k: float = field(metadata=si("K", "activation temperature E_a/k_B"))
    R_m: float = field(metadata=si("Ohm", "metallic resistance incl. leads and contacts"))
    C_th: float = field(metadata=si("J K-1", "lumped thermal capacitance"))
    S_e: float = field(metadata=si("W K-1", "thermal conductance to the bath"))
    T_min: float = field(default=250.0, metadata=si("K", "lower clamp of T inside R(T)"))
    T_max: float = field(default=400.0, metadata=si("K", "upper clamp of T inside R(T)"))
    reversal_deadband: float = field(default=0.01, metadata=si("K", "reversal dead band"))
    poole_frenkel: bool = field(default=False, metadata=si("1", "field-enhanced insulating conduction on/off"))
    channel_length: float = field(default=1e-6, metadata=si("m", "electrode gap for the PF field"))
    eps_r: float = field(default=9.0, metadata=si("1", "high-frequency relative permittivity (PF)"))
    thermal_noise: float = field(default=0.0, metadata=si("W s^1/2", "Langevin heat-flow noise strength"))
    delta: float = field(default=0.0, metadata=si("1", "oxygen-vacancy level x in VO2-x"))
    name: str = field(default="custom", metadata=si("", "registry name"))
    citation: str = field(default="", metadata=si("", "citation key"))
    description: str = field(default="", metadata=si("", "one-line description"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            unit = f.metadata.get("unit", "")
            value = getattr(self, f.name)
            if isinstance(value, bool) or isinstance(value, str):
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise ParameterError(f"{f.name} must be a finite number [{unit}], got {value!r}")
        positive = ["T_c", "w", "beta", "gamma", "R_0", "Ea_over_k", "R_m", "C_th", "S_e",
                    "T_min", "T_max", "channel_length", "eps_r"]
        for name in positive:
            if getattr(self, name) <= 0.0:
                unit = _UNITS[name]
                raise ParameterError(f"{name} must be > 0 [{unit}], got {getattr(self, name)!r}")
        for name in ["reversal_deadband", "thermal_noise", "delta"]:
            if getattr(self, name) < 0.0:
                raise ParameterError(f"{name} must be >= 0 [{_UNITS[name]}], got {getattr(self, name)!r}")
        if self.T_min >= self.T_max:
            raise ParameterError(f"T_min must be < T_max [K], got T_min={self.T_min}, T_max={self.T_max}")
        if not (self.T_min < self.T_c < self.T_max):
            raise ParameterError(
                f"T_c must lie inside the clamp range (T_min, T_max) [K], got T_c={self.T_c}, "
                f"range=({self.T_min}, {self.T_max})")
        if self.gamma * (math.pi / 2) > math.pi:
            raise ParameterError(f"gamma must be <= 2 [1] for a monotone proximity window, got {self.gamma}")
        # The insulating phase must be more resistive than the metallic one somewhere in the validity range,
        # otherwise there is no transition to speak of.
        r_ins_cold = self.R_0 * math.exp(min(self.Ea_over_k / self.T_min, 700.0))
        if r_ins_cold <= self.R_m:
            raise ParameterError(
                f"R_0 [Ohm]: insulating resistance at T_min ({r_ins_cold:.3g} Ohm) must exceed R_m ({self.R_m:.3g} Ohm)")

    # ------------------------------------------------------------------ derived quantities
    @property
    def tau_th(self) -> float:
        """Thermal time constant C_th / S_e [s]."""
        return self.C_th / self.S_e

    @property
    def R_th(self) -> float:
        """Thermal resistance 1 / S_e [K W-1]."""
        return 1.0 / self.S_e

    @property
    def Ea_ev(self) -> float:
        """Activation energy [eV]."""
        return self.Ea_over_k * K_B_EV

    @property
    def pf_coeff(self) -> float:
        r"""Poole-Frenkel coefficient in the exponent [K V^-1/2], 0 when off.

        .. math:: R_{ins}(T, V) = R_{ins}(T)\exp(-c\sqrt{|V|}/T),\quad
                  c = \frac{1}{k_B}\sqrt{\frac{q^3}{\pi\varepsilon_0\varepsilon_r L}}
        """
        if not self.poole_frenkel:
            return 0.0
        beta_pf = math.sqrt(Q_E**3 / (math.pi * EPS_0 * self.eps_r))  # J (V/m)^-1/2
        return beta_pf / (K_B * math.sqrt(self.channel_length))

    def to_kernel(self) -> DeviceKernelParams:
        """The NamedTuple the Numba kernels take."""
        return DeviceKernelParams(
            float(self.T_c), float(self.w), float(self.beta), float(self.gamma), float(self.R_0),
            float(self.Ea_over_k), float(self.R_m), float(self.C_th), float(self.S_e), float(self.T_min),
            float(self.T_max), float(self.reversal_deadband), float(self.pf_coeff), float(self.thermal_noise))

    def units(self) -> dict[str, str]:
        """Field name -> SI unit."""
        return {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(self)}

    def to_dict(self) -> dict[str, object]:
        """Plain dict of all fields (for JSON and parameter files)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_UNITS = {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(VO2DeviceParams)}


def params_from_dict(data: dict[str, object]) -> VO2DeviceParams:
    """Build parameters from a dict (e.g. a JSON parameter file); unknown keys are an error naming them."""
    fields = {f.name: f for f in dataclasses.fields(VO2DeviceParams)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        import difflib

        hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, fields, n=1)) else repr(k)
                 for k in unknown]
        raise ParameterError(f"params: unknown field(s) {', '.join(hints)}; valid: {', '.join(sorted(fields))}")
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING]
    if missing:
        raise ParameterError("params: missing field(s) " + ", ".join(f"{n} [{_UNITS[n]}]" for n in missing))
    for name, value in data.items():
        kind = type(fields[name].default) if fields[name].default is not dataclasses.MISSING else float
        if kind is bool and not isinstance(value, bool):
            raise ParameterError(f"params: {name} must be true or false [-], got {value!r}")
        if kind is str and not isinstance(value, str):
            raise ParameterError(f"params: {name} must be a string [-], got {value!r}")
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ParameterError(f"params: {name} must be a number [{_UNITS[name]}], got {value!r}")
    return VO2DeviceParams(**data)  # type: ignore[arg-type]
