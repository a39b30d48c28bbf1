"""Parameter records of the circuit layer: the ideal PWL threshold switch, the circuit, variability.

All records are ``@dataclass(frozen=True, slots=True, kw_only=True)`` in SI units, validated on construction
(:class:`vo2neuro.units.ParameterError` with a one-line message naming the field and its unit); physical fields
carry ``metadata={"unit": ..., "doc": ...}``. Numba kernels take the flat NamedTuples from ``to_kernel()``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from vo2neuro.units import ParameterError
from vo2neuro.device.params import si

__all__ = ["PWLDeviceParams", "PWLKernelParams", "CircuitParams", "Variability", "DRIVES", "ZHANG2024_CIRCUIT",
           "check_drive"]

#: Valid drive names: ``voltage`` = Pearson-Anson (V_in -> R_L -> node), ``current`` = I_in into device || C.
DRIVES = ("voltage", "current")


def check_drive(drive: str) -> str:
    """Return ``drive`` if it is a valid drive name, else :class:`ParameterError` listing the valid ones."""
    if drive not in DRIVES:
        raise ParameterError(f"drive: unknown drive {drive!r}; valid: {', '.join(DRIVES)}")
    return drive


def _check_fields(obj: object, positive: tuple[str, ...] = (), nonneg: tuple[str, ...] = (),
                  allow_inf: tuple[str, ...] = ()) -> None:
    """Finite (or +inf where allowed), and sign checks; messages name field and unit."""
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        v = getattr(obj, f.name)
        unit = f.metadata.get("unit", "")
        if isinstance(v, (bool, str)) or v is None:
            continue
        if not isinstance(v, (int, float)):
            raise ParameterError(f"{f.name} must be a number [{unit}], got {v!r}")
        fv = float(v)
        if math.isnan(fv) or (math.isinf(fv) and not (f.name in allow_inf and fv > 0)):
            raise ParameterError(f"{f.name} must be a finite number [{unit}], got {v!r}")
        if f.name in positive and fv <= 0.0:
            raise ParameterError(f"{f.name} must be > 0 [{unit}], got {v!r}")
        if f.name in nonneg and fv < 0.0:
            raise ParameterError(f"{f.name} must be >= 0 [{unit}], got {v!r}")


class PWLKernelParams(NamedTuple):
    """Flat PWL switch parameters for the kernels: R_off, R_on [Ohm], V_th, V_h [V]."""

    r_off: float
    r_on: float
    v_th: float
    v_h: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PWLDeviceParams:
    r"""Ideal piecewise-linear hysteretic threshold switch (vo2_physics.md section 8).

    The device is a resistor ``r_off`` (insulating) until its voltage reaches ``v_th``, then ``r_on`` (metallic)
    until the voltage falls to ``v_h``; switching is instantaneous.

    Attributes
    ----------
    r_off : float
        Insulating-state resistance [Ohm].
    r_on : float
        Metallic-state resistance [Ohm], ``r_on < r_off``.
    v_th : float
        Insulator-to-metal threshold voltage [V].
    v_h : float
        Metal-to-insulator (hold) voltage [V], ``0 <= v_h < v_th``.
    name : str
        Label used in results.

    Examples
    --------
    >>> PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0).to_kernel().v_th
    1.99
    """

    r_off: float = field(metadata=si("Ohm", "insulating-state resistance"))
    r_on: float = field(metadata=si("Ohm", "metallic-state resistance"))
    v_th: float = field(metadata=si("V", "insulator-to-metal threshold voltage"))
    v_h: float = field(metadata=si("V", "metal-to-insulator hold voltage"))
    name: str = field(default="pwl", metadata=si("", "label"))

    def __post_init__(self) -> None:
        _check_fields(self, positive=("r_off", "r_on", "v_th"), nonneg=("v_h",))
        if self.r_on >= self.r_off:
            raise ParameterError(f"r_on must be < r_off [Ohm], got r_on={self.r_on!r}, r_off={self.r_off!r}")
        if self.v_h >= self.v_th:
            raise ParameterError(f"v_h must be < v_th [V], got v_h={self.v_h!r}, v_th={self.v_th!r}")

    def to_kernel(self) -> PWLKernelParams:
        """The NamedTuple the Numba kernels take."""
        return PWLKernelParams(float(self.r_off), float(self.r_on), float(self.v_th), float(self.v_h))

    def to_dict(self) -> dict[str, object]:
        """Plain dict of all fields."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitParams:
    r"""The circuit around one device.

    ``drive="voltage"`` (Pearson-Anson, topology A of vo2_physics.md section 2.1)::

        C dV/dt = (V_in - V)/R_L - V/R_dev

    ``drive="current"`` (Norton form; ``r_load`` is the source's parallel output resistance, ``inf`` = ideal)::

        C dV/dt = I_in - V/R_L - V/R_dev

    Attributes
    ----------
    drive : {"voltage", "current"}
    capacitance : float
        Node capacitance C in parallel with the device [F].
    r_load : float
        Series load R_L (voltage drive) or parallel output resistance (current drive; ``inf`` allowed) [Ohm].
    v_in : float
        Source voltage (voltage drive) [V].
    i_in : float
        Source current (current drive) [A].
    ambient : float
        Bath temperature T_0 of the electro-thermal device [K] (unused by the PWL switch).
    """

    drive: str = field(default="voltage", metadata=si("", "voltage (Pearson-Anson) or current drive"))
    capacitance: float = field(metadata=si("F", "node capacitance in parallel with the device"))
    r_load: float = field(default=math.inf, metadata=si("Ohm", "load resistor / source output resistance"))
    v_in: float = field(default=0.0, metadata=si("V", "source voltage (voltage drive)"))
    i_in: float = field(default=0.0, metadata=si("A", "source current (current drive)"))
    ambient: float = field(default=300.0, metadata=si("K", "bath temperature"))

    def __post_init__(self) -> None:
        check_drive(self.drive)
        _check_fields(self, positive=("capacitance", "r_load", "ambient"), nonneg=("v_in", "i_in"),
                      allow_inf=("r_load",) if self.drive == "current" else ())

    @property
    def source(self) -> float:
        """The drive amplitude: ``v_in`` [V] or ``i_in`` [A]."""
        return self.v_in if self.drive == "voltage" else self.i_in

    def to_dict(self) -> dict[str, object]:
        """Plain dict of all fields."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


#: Circuit of the Zhang et al. 2024 fit: C = 145.34619293 pF, R_L = 12 kOhm, T_0 = 325 K (V_in to be chosen).
ZHANG2024_CIRCUIT = {"capacitance": 145.34619293e-12, "r_load": 12e3, "ambient": 325.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class Variability:
    r"""Seeded device-to-device (D2D) and cycle-to-cycle (C2C) variability (vo2_physics.md section 13.3).

    Every neuron ``i`` draws from its own splitmix64 stream seeded by ``(seed, i)``, so results do not depend on
    the number of threads. D2D values are drawn once per neuron; C2C noise per step (thermal) or per spike
    (threshold redraw).

    Attributes
    ----------
    seed : int
        Master seed (recorded in every result).
    r_ins_sigma_ln : float
        D2D: log-normal spread of the insulating resistance, ``R_0 -> R_0 exp(sigma z)`` (electro-thermal) or
        ``R_off -> R_off exp(sigma z)`` (PWL) [-]; typical 0.1-0.3.
    t_c_sigma : float
        D2D: Gaussian spread of the loop centre T_c (electro-thermal) [K]; typical 1-3 K.
    v_th_sigma_rel : float
        D2D: relative Gaussian spread of V_th (PWL) [-]; typical 0.05-0.10.
    v_th_c2c_rel : float
        C2C: per-spike redraw ``V_th <- V_th,i (1 + sigma xi)`` (PWL) [-]; typical 0.01-0.05.
    thermal_noise : float or None
        C2C: Langevin heat-flow noise sigma of the electro-thermal device [W s^1/2]; ``None`` keeps the device's
        own ``thermal_noise``.
    """

    seed: int = field(default=0, metadata=si("1", "master seed"))
    r_ins_sigma_ln: float = field(default=0.0, metadata=si("1", "log-normal sigma of R_0 / R_off (D2D)"))
    t_c_sigma: float = field(default=0.0, metadata=si("K", "Gaussian sigma of T_c (D2D)"))
    v_th_sigma_rel: float = field(default=0.0, metadata=si("1", "relative sigma of V_th (D2D, PWL)"))
    v_th_c2c_rel: float = field(default=0.0, metadata=si("1", "relative sigma of the per-spike V_th redraw"))
    thermal_noise: float | None = field(default=None, metadata=si("W s^1/2", "Langevin noise strength (C2C)"))

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ParameterError(f"seed must be an integer >= 0 [1], got {self.seed!r}")
        _check_fields(self, nonneg=("r_ins_sigma_ln", "t_c_sigma", "v_th_sigma_rel", "v_th_c2c_rel",
                                    "thermal_noise"))
        for name in ("v_th_sigma_rel", "v_th_c2c_rel"):
            if getattr(self, name) > 0.3:
                raise ParameterError(f"{name} must be <= 0.3 [1] (Gaussian thresholds would go negative), "
                                     f"got {getattr(self, name)!r}")

    @property
    def is_zero(self) -> bool:
        """True when no variability is switched on (the device's own thermal noise may still act)."""
        return (self.r_ins_sigma_ln == 0 and self.t_c_sigma == 0 and self.v_th_sigma_rel == 0
                and self.v_th_c2c_rel == 0 and not self.thermal_noise)

    def to_dict(self) -> dict[str, object]:
        """Plain dict of all fields."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
