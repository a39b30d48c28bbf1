r"""Device parameters from geometry: channel length, width, film thickness, substrate and electrodes.

A :class:`Geometry` record and the material table :data:`MATERIALS` (every entry with its value, SI unit, source
and a tag: ``measured``, ``fitted``, ``textbook estimate``, ``assumption``) give the size-dependent lumped constants
of :class:`~vo2neuro.device.params.VO2DeviceParams`; the film's transition constants (T_c, w, beta, gamma,
Ea_over_k) come from a base film. Lumped forms (scaling.md section 4, all [tb]):

.. math::
    R_0 &= \rho_{ins}(T_{ref})\,e^{-E_a/(k T_{ref})}\,\frac{L}{W t}, \qquad
    R_m = \rho_{met}\,\frac{L}{w_f t}\quad(w_f = \text{filament width, default } W) \\
    a_{eq} &= \sqrt{L\,w_f/\pi} \qquad\text{(heated footprint as an equal-area disc)} \\
    S_e &= f_S\,4 k_{sub} a_{eq} + S_{el},\qquad S_{el} = 2 W \sqrt{k_{el} t_{el} / R_b}
          \quad\text{(two electrode fins on the substrate, interface resistance } R_b) \\
    C_{th} &= c_{v,film}\,L w_f t + c_{v,sub}\,f_V\,a_{eq}^3 \\
    C_{dev} &= \varepsilon_0\varepsilon_{r}\,\frac{W t}{L}
             + \varepsilon_0\frac{\varepsilon_{r,sub}+1}{2}\,W\,\frac{K(k')}{K(k)},\quad
             k = \frac{L}{L + 2 l_{el}},\ k' = \sqrt{1-k^2}

* R = rho L/(W t): resistance of a uniform bar [tb]; the filament option follows scaling.md section 4.
* 4 k a: spreading conductance of an isothermal disc on a half-space; a uniform-flux rectangle is close to the
  disc of equal area (Sadeghi, Bahrami & Djilali, IEEE TCPT 33, 267, 2010) [tb].
* Electrode fin: a metal strip of thickness t_el on a substrate through interface resistance R_b is a fin of
  healing length sqrt(k_el t_el R_b); each of the two electrodes conducts W sqrt(k_el t_el / R_b) [tb]. The term
  is off for electrodes of zero thickness (the default), as in the calibration anchors.
* Coplanar strips: conformal mapping, C/W = eps0 (eps_r + 1)/2 K(k')/K(k) (scaling.md section 4) [tb].

``f_S`` (spreading factor) and ``f_V`` (effective heated substrate volume in units of a_eq^3) are fitted on the
anchor devices of scaling.md section 2 with a stated geometry (:data:`THERMAL_ANCHORS`) by minimising the largest
log error; :func:`calibrate_thermal_factors` repeats the fit and returns the per-anchor ratios (the fit error).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from vo2neuro.units import ParameterError
from vo2neuro.device.params import EPS_0, VO2DeviceParams, si

__all__ = ["Material", "MATERIALS", "SUBSTRATES", "ELECTRODES", "Electrode", "Geometry", "ThermalFactors",
           "THERMAL_FACTORS", "THERMAL_ANCHORS", "ThermalAnchor", "calibrate_thermal_factors", "from_geometry",
           "size_terms", "implied_geometry", "device_capacitance", "spreading_conductance", "heat_capacity",
           "T_REF_K"]

#: Reference temperature of the tabulated insulating resistivity [K].
T_REF_K = 300.0


class Material(NamedTuple):
    """One entry of the material table: value (SI), unit, source and tag."""

    value: float
    unit: str
    source: str
    tag: str  # measured | fitted | textbook estimate | assumption


_SHUKLA = "Shukla et al., Nat. Commun. 6, 7812 (2015), Suppl. Table 1 (a fitted device value; secondary)"
_DONGRE = "Dongre et al., MRS Commun. 8, 1119 (2018)"

#: Material constants (scaling.md section 3). Thin sources are marked in ``source``.
MATERIALS: dict[str, Material] = {
    "vo2.rho_ins": Material(2.0e-2, "Ohm m", f"{_SHUKLA}; 2 Ohm cm at 300 K", "fitted"),
    "vo2.rho_met": Material(1.0e-6, "Ohm m", f"{_SHUKLA}; 1e-4 Ohm cm", "fitted"),
    "vo2.c_v": Material(3.2e6, "J m-3 K-1", "0.69 J/g/K x 4.57 g/cm^3 (secondary)", "textbook estimate"),
    "vo2.eps_r": Material(9.0, "1", "not found in scaling.md sources; same value as VO2DeviceParams.eps_r",
                          "assumption"),
    "sapphire.k": Material(35.0, "W m-1 K-1", f"{_DONGRE}; 35-39 at 300 K", "measured"),
    "sapphire.c_v": Material(1.66e6, "J m-3 K-1", f"{_DONGRE}; 0.418 J/g/K x 3.98 g/cm^3", "measured"),
    "sapphire.eps_r": Material(9.4, "1", "textbook value of Al2O3 (c-axis average)", "textbook estimate"),
    "sio2.k": Material(1.4, "W m-1 K-1", "textbook value of thermal SiO2", "textbook estimate"),
    "sio2.c_v": Material(1.6e6, "J m-3 K-1", "0.74 J/g/K x 2.2 g/cm^3, textbook", "textbook estimate"),
    "sio2.eps_r": Material(3.9, "1", "textbook value of thermal SiO2", "textbook estimate"),
    "tio2.k": Material(8.0, "W m-1 K-1", "textbook value of rutile TiO2 (7-13 by axis)", "textbook estimate"),
    "tio2.c_v": Material(2.9e6, "J m-3 K-1", "0.69 J/g/K x 4.23 g/cm^3, textbook", "textbook estimate"),
    "tio2.eps_r": Material(86.0, "1", "textbook value of rutile TiO2 (a-axis)", "textbook estimate"),
    "au.k": Material(318.0, "W m-1 K-1", "textbook value of bulk gold (thin films lower)", "textbook estimate"),
    "pt.k": Material(72.0, "W m-1 K-1", "textbook value of bulk platinum", "textbook estimate"),
    "tin.k": Material(29.0, "W m-1 K-1", "textbook value of TiN films", "textbook estimate"),
    "interface.R_b": Material(2.0e-8, "m2 K W-1", "Lee & Cahill, SiO2/Si interface (scaling.md section 3)",
                              "measured"),
}

#: Substrate registry: name -> material-table prefix.
SUBSTRATES: dict[str, str] = {"sapphire": "sapphire", "sio2": "sio2", "tio2": "tio2"}
#: Electrode metal registry: name -> material-table prefix.
ELECTRODES: dict[str, str] = {"au": "au", "pt": "pt", "tin": "tin"}


def _m(key: str) -> float:
    return MATERIALS[key].value


def _finite(name: str, value: object, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ParameterError(f"{name} must be a finite number [{unit}], got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Electrode:
    """The two electrodes: metal (:data:`ELECTRODES`), thickness t_el [m] (0: no electrode heat path) and extent
    l_el [m] along the channel (the strips' width in the coplanar-strip capacitance)."""

    metal: str = field(default="au", metadata=si("", "electrode metal"))
    thickness: float = field(default=0.0, metadata=si("m", "electrode thickness (0 = no heat path)"))
    extent: float = field(default=1e-6, metadata=si("m", "electrode extent along the channel"))

    def __post_init__(self) -> None:
        if self.metal not in ELECTRODES:
            raise ParameterError(f"electrode metal: unknown {self.metal!r}; valid: {', '.join(sorted(ELECTRODES))} [-]")
        if _finite("electrode thickness", self.thickness, "m") < 0.0:
            raise ParameterError(f"electrode thickness must be >= 0 [m], got {self.thickness!r}")
        if _finite("electrode extent", self.extent, "m") <= 0.0:
            raise ParameterError(f"electrode extent must be > 0 [m], got {self.extent!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Geometry:
    """Planar two-terminal VO2 device (SI).

    Attributes
    ----------
    length : float
        Channel length L, the electrode gap [m].
    width : float
        Channel width W [m].
    thickness : float
        Film thickness t [m].
    substrate : str
        Substrate name in :data:`SUBSTRATES`.
    electrode : Electrode
        Electrode description.
    filament_width : float or None
        Width w_f <= W of the hot metallic filament [m] (None: the whole width switches).
    """

    length: float = field(metadata=si("m", "channel length (electrode gap)"))
    width: float = field(metadata=si("m", "channel width"))
    thickness: float = field(metadata=si("m", "film thickness"))
    substrate: str = field(default="sapphire", metadata=si("", "substrate name"))
    electrode: Electrode = field(default_factory=Electrode, metadata=si("", "electrodes"))
    filament_width: float | None = field(default=None, metadata=si("m", "hot filament width (None = W)"))

    def __post_init__(self) -> None:
        for name in ("length", "width", "thickness"):
            if _finite(name, getattr(self, name), "m") <= 0.0:
                raise ParameterError(f"{name} must be > 0 [m], got {getattr(self, name)!r}")
        if self.substrate not in SUBSTRATES:
            raise ParameterError(f"substrate: unknown {self.substrate!r}; valid: {', '.join(sorted(SUBSTRATES))} [-]")
        if not isinstance(self.electrode, Electrode):
            raise ParameterError(f"electrode must be an Electrode record [-], got {self.electrode!r}")
        if self.filament_width is not None:
            wf = _finite("filament_width", self.filament_width, "m")
            if not 0.0 < wf <= self.width:
                raise ParameterError(f"filament_width must be in (0, width={self.width:g}] [m], got {wf!r}")

    @property
    def heated_width(self) -> float:
        """Width of the switching (heated) region w_f [m]."""
        return self.width if self.filament_width is None else float(self.filament_width)

    @property
    def a_eq(self) -> float:
        """Radius of the disc of the heated footprint's area, sqrt(L w_f / pi) [m]."""
        return math.sqrt(self.length * self.heated_width / math.pi)

    def scaled(self, factor: float) -> Geometry:
        """Every length (L, W, t, w_f, electrode thickness and extent) times ``factor`` [-]; materials unchanged."""
        if _finite("factor", factor, "1") <= 0.0:
            raise ParameterError(f"factor must be > 0 [1], got {factor!r}")
        wf = None if self.filament_width is None else self.filament_width * factor
        el = dataclasses.replace(self.electrode, thickness=self.electrode.thickness * factor,
                                 extent=self.electrode.extent * factor)
        return dataclasses.replace(self, length=self.length * factor, width=self.width * factor,
                                   thickness=self.thickness * factor, filament_width=wf, electrode=el)

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON)."""
        return {"length_m": self.length, "width_m": self.width, "thickness_m": self.thickness,
                "substrate": self.substrate, "filament_width_m": self.filament_width,
                "electrode": {"metal": self.electrode.metal, "thickness_m": self.electrode.thickness,
                              "extent_m": self.electrode.extent}}


class ThermalFactors(NamedTuple):
    """Fitted factors of the lumped thermal forms: spreading factor f_S [-], effective volume factor f_V [-]."""

    f_S: float
    f_V: float


class ThermalAnchor(NamedTuple):
    """A published device with a stated geometry and fitted lumped thermal constants."""

    name: str
    geometry: Geometry
    C_th: float  # [J K-1]
    S_e: float  # [W K-1]
    source: str


def _technion() -> Geometry:
    # ~200 nm gap, ~150 nm film. Width not published: the heated width is the filament width that the measured
    # R_met ~ 18 Ohm gives with rho_met (w_f = rho_met L / (t R_met) = 74 nm); the channel width 1 um is an
    # assumption (it sets only the electrical capacitance). Substrate sapphire: assumption.
    L, t = 200e-9, 150e-9
    wf = _m("vo2.rho_met") * L / (t * 18.0)
    return Geometry(length=L, width=1e-6, thickness=t, substrate="sapphire", filament_width=wf)


def _zhang() -> Geometry:
    # scaling.md section 1: S_e read as 4 k a on sapphire gives a ~ 1.5 um (illustration); square channel of
    # that footprint area, 100 nm film (assumption).
    side = math.sqrt(math.pi) * 1.5e-6
    return Geometry(length=side, width=side, thickness=100e-9, substrate="sapphire")


#: Anchors of the thermal fit (scaling.md section 2, geometry known or stated).
THERMAL_ANCHORS: tuple[ThermalAnchor, ...] = (
    ThermalAnchor("technion-gap", _technion(), 0.048e-12, 3.68e-6,
                  "Gildor et al. 2026 as reported in gabebere/single-neuristor (scaling.md section 2)"),
    ThermalAnchor("zhang2024", _zhang(), 49.62776831e-12, 0.20558726e-3,
                  "Zhang et al., Nat. Commun. 15, 6986 (2024), fitted constants; footprint a ~ 1.5 um (scaling.md 1)"),
)


def spreading_conductance(g: Geometry, factors: ThermalFactors | None = None) -> float:
    """S_e = f_S 4 k_sub a_eq + S_el [W K-1] (module docstring)."""
    f = factors or THERMAL_FACTORS
    sub = SUBSTRATES[g.substrate]
    s = f.f_S * 4.0 * _m(f"{sub}.k") * g.a_eq
    el = g.electrode
    if el.thickness > 0.0:
        s += 2.0 * g.width * math.sqrt(_m(f"{ELECTRODES[el.metal]}.k") * el.thickness / _m("interface.R_b"))
    return s


def heat_capacity(g: Geometry, factors: ThermalFactors | None = None) -> float:
    """C_th = c_v,film L w_f t + c_v,sub f_V a_eq^3 [J K-1] (module docstring)."""
    f = factors or THERMAL_FACTORS
    sub = SUBSTRATES[g.substrate]
    film = _m("vo2.c_v") * g.length * g.heated_width * g.thickness
    return film + _m(f"{sub}.c_v") * f.f_V * g.a_eq ** 3


def device_capacitance(g: Geometry) -> float:
    """The device's own capacitance: planar gap plus coplanar-strip fringe [F] (module docstring)."""
    from scipy.special import ellipk

    planar = EPS_0 * _m("vo2.eps_r") * g.width * g.thickness / g.length
    k = g.length / (g.length + 2.0 * g.electrode.extent)
    # scipy's ellipk takes the parameter m = k^2
    fringe = EPS_0 * (_m(f"{SUBSTRATES[g.substrate]}.eps_r") + 1.0) / 2.0 * g.width * (
        float(ellipk(1.0 - k * k)) / float(ellipk(k * k)))
    return planar + fringe


def calibrate_thermal_factors(anchors: tuple[ThermalAnchor, ...] = THERMAL_ANCHORS
                              ) -> tuple[ThermalFactors, dict[str, dict[str, float]]]:
    """Fit of f_S and f_V on ``anchors`` that minimises the largest |log(model/published)|; returns the factors
    and, per anchor, the ratios model/published of S_e and C_th (the fit error).

    f_S: geometric mean of (S_e - S_el)/(4 k a_eq) over the anchors (for two anchors the minimax fit, and the
    least-squares fit in log). f_V: bounded scalar search of max |log(C_model/C_pub)| (C_model is linear in f_V).
    """
    from scipy.optimize import minimize_scalar

    logs = []
    for a in anchors:
        g = a.geometry
        el = spreading_conductance(g, ThermalFactors(0.0, 0.0))
        logs.append(math.log((a.S_e - el) / (4.0 * _m(f"{SUBSTRATES[g.substrate]}.k") * g.a_eq)))
    f_S = math.exp(sum(logs) / len(logs))

    def cost(log_fv: float) -> float:
        f = ThermalFactors(f_S, math.exp(log_fv))
        return max(abs(math.log(heat_capacity(a.geometry, f) / a.C_th)) for a in anchors)

    f_V = math.exp(minimize_scalar(cost, bounds=(-10.0, 10.0), method="bounded",
                                   options={"xatol": 1e-10}).x)
    factors = ThermalFactors(f_S, f_V)
    ratios = {a.name: {"S_e": spreading_conductance(a.geometry, factors) / a.S_e,
                       "C_th": heat_capacity(a.geometry, factors) / a.C_th} for a in anchors}
    return factors, ratios


#: Fitted factors (values of :func:`calibrate_thermal_factors` on :data:`THERMAL_ANCHORS`, rounded to 4 digits).
THERMAL_FACTORS = ThermalFactors(f_S=0.6122, f_V=22.03)


def _base_film(base: str | VO2DeviceParams) -> VO2DeviceParams:
    if isinstance(base, VO2DeviceParams):
        return base
    from vo2neuro.device.parameter_sets import get_parameters

    return get_parameters(base)


def size_terms(g: Geometry, *, Ea_over_k: float, factors: ThermalFactors | None = None) -> dict[str, float]:
    """The size-dependent constants R_0, R_m [Ohm], C_th [J K-1], S_e [W K-1] and C_dev [F] of ``g``."""
    r_ins_ref = _m("vo2.rho_ins") * g.length / (g.width * g.thickness)
    return {"R_0": r_ins_ref * math.exp(-Ea_over_k / T_REF_K),
            "R_m": _m("vo2.rho_met") * g.length / (g.heated_width * g.thickness),
            "C_th": heat_capacity(g, factors), "S_e": spreading_conductance(g, factors),
            "C_dev": device_capacitance(g)}


def from_geometry(geometry: Geometry, *, delta: float = 0.0, base: str | VO2DeviceParams = "vo2",
                  factors: ThermalFactors | None = None) -> VO2DeviceParams:
    """Device parameters of ``geometry`` (formulas and sources in the module docstring).

    T_c, w, beta, gamma and Ea_over_k come from the pristine ``base`` film (a preset name or parameters with
    ``delta == 0``); R_0, R_m, C_th and S_e from the geometry and :data:`MATERIALS`; then the vacancy mapping
    (:func:`~vo2neuro.device.vacancy.apply_vacancies`) at ``delta`` [-]. The Poole-Frenkel field uses L.

    Examples
    --------
    >>> g = Geometry(length=100e-9, width=100e-9, thickness=50e-9)
    >>> p = from_geometry(g)
    >>> round(p.R_m, 3)   # rho_met L / (W t) = 1e-6 Ohm m / 50 nm
    20.0
    """
    if not isinstance(geometry, Geometry):
        raise ParameterError(f"geometry must be a Geometry record [-], got {type(geometry).__name__}")
    film = _base_film(base)
    if film.delta != 0.0:
        raise ParameterError(f"base: film {film.name!r} has delta={film.delta} [1]; give the pristine film and "
                             "set delta")
    t = size_terms(geometry, Ea_over_k=film.Ea_over_k, factors=factors)
    p = dataclasses.replace(film, R_0=t["R_0"], R_m=t["R_m"], C_th=t["C_th"], S_e=t["S_e"],
                            channel_length=geometry.length, name=f"{film.name}@L={geometry.length:.3g}m",
                            description=f"{film.name} film at L={geometry.length:.3g} m, W={geometry.width:.3g} m, "
                                        f"t={geometry.thickness:.3g} m on {geometry.substrate}")
    if delta:
        from vo2neuro.device.vacancy import apply_vacancies

        p = apply_vacancies(p, delta, name=f"{p.name}@delta={delta:g}")
    return p


def implied_geometry(params: VO2DeviceParams, *, substrate: str = "sapphire", aspect: float = 1.0,
                     factors: ThermalFactors | None = None) -> dict[str, object]:
    """The geometry a fitted parameter set implies, by inverting the lumped forms (no electrode heat path).

    a_eq = S_e / (f_S 4 k_sub); L = sqrt(pi a_eq^2 / aspect), W = aspect L (W/L = ``aspect``); t from the
    300 K insulating resistance R_ins = rho_ins L / (W t). Returns the :class:`Geometry` with the ratios
    model/preset of C_th and R_m at that geometry (the preset values themselves are unchanged).
    """
    f = factors or THERMAL_FACTORS
    a = params.S_e / (f.f_S * 4.0 * _m(f"{SUBSTRATES[substrate]}.k"))
    L = math.sqrt(math.pi * a * a / aspect)
    W = aspect * L
    r_ins = params.R_0 * math.exp(params.Ea_over_k / T_REF_K)
    t = _m("vo2.rho_ins") * L / (W * r_ins)
    g = Geometry(length=L, width=W, thickness=t, substrate=substrate)
    terms = size_terms(g, Ea_over_k=params.Ea_over_k, factors=f)
    return {"geometry": g, "C_th_ratio": terms["C_th"] / params.C_th, "R_m_ratio": terms["R_m"] / params.R_m,
            "S_e_ratio": terms["S_e"] / params.S_e}
