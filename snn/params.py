"""Torch-free parameter record of the VO2 oscillator neuron (the contract with ``vo2neuro.circuits``).

This module imports neither torch nor numba, so the circuit layer, the CLI and JSON tooling can read, validate
and serialise neuron parameters without the training stack.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from vo2neuro.units import ParameterError, check_finite, check_nonnegative, check_positive

__all__ = ["VO2NeuronParams", "si"]


def si(unit: str, doc: str) -> dict[str, str]:
    """Field metadata ``{"unit": unit, "doc": doc}`` (style rule R2)."""
    return {"unit": unit, "doc": doc}


@dataclass(frozen=True, slots=True, kw_only=True)
class VO2NeuronParams:
    r"""Discrete-time abstraction of a current-driven VO2 relaxation-oscillator neuron (SI units).

    The node capacitor ``C`` is the membrane. While the VO2 device is insulating, the node sees the Thevenin
    equivalent of the insulating device in parallel with the load, a resistance ``r_leak`` to a bias
    ``v_bias`` (``v_bias = 0`` for a current-driven neuron), so that for an input current ``I``

    .. math:: C\,\frac{dv}{dt} = I - \frac{v - v_{bias}}{R_{leak}}, \qquad
              v_\infty = v_{bias} + I R_{leak}, \qquad \tau = C R_{leak}.

    When ``v`` reaches ``v_th`` the device switches metallic (a spike), the node discharges to ``v_h`` within
    the metallic phase ``t_ref`` (refractory, no integration) and the cycle restarts from ``v_h``. Above
    ``i_max`` the load line crosses the metallic branch (``I R_on > v_h``), the device latches metallic and the
    neuron stops spiking: the Pearson-Anson oscillation window is ``(v_th - v_bias)/R_leak < I < i_max``
    (``vo2_physics.md`` section 8; Pearson & Anson, Proc. Phys. Soc. B 34, 204 (1921)).

    Parameters
    ----------
    capacitance : float
        Node (membrane) capacitance C [F], > 0.
    r_leak : float
        Thevenin leak resistance R_leak of insulating device parallel load [Ohm], > 0.
    v_bias : float
        Thevenin bias voltage, the resting potential [V] (0 for a current-driven neuron).
    v_th : float
        Insulator-to-metal switching (firing) threshold [V], > v_bias and > v_h.
    v_h : float
        Metal-to-insulator hold voltage, the reset potential [V], < v_th.
    t_ref : float
        Duration of the metallic phase, the refractory period [s], >= 0. The discrete model uses
        ``n_ref = round(t_ref / dt)`` steps.
    i_max : float
        Upper end of the oscillation window, ``v_h / R_on`` for a current-driven node [A], > rheobase.
    dt : float
        Time step of the discrete-time network [s], > 0.

    Examples
    --------
    >>> p = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_bias=0.0, v_th=5.0, v_h=2.0,
    ...                     t_ref=0.5e-6, i_max=2e-3, dt=0.1e-6)
    >>> round(p.tau * 1e6, 4), p.n_ref, round(p.rheobase * 1e3, 6)
    (1.7442, 5, 0.416667)
    """

    capacitance: float = field(metadata=si("F", "node (membrane) capacitance"))
    r_leak: float = field(metadata=si("Ohm", "Thevenin leak resistance (insulating device || load)"))
    v_bias: float = field(default=0.0, metadata=si("V", "Thevenin bias (resting) voltage"))
    v_th: float = field(metadata=si("V", "insulator-to-metal threshold voltage (firing threshold)"))
    v_h: float = field(metadata=si("V", "metal-to-insulator hold voltage (reset potential)"))
    t_ref: float = field(metadata=si("s", "metallic phase duration (refractory period)"))
    i_max: float = field(metadata=si("A", "input current above which the device latches metallic"))
    dt: float = field(metadata=si("s", "time step of the discrete-time network"))

    def __post_init__(self) -> None:
        check_positive("capacitance", self.capacitance, "F")
        check_positive("r_leak", self.r_leak, "Ohm")
        check_finite("v_bias", self.v_bias, "V")
        check_finite("v_th", self.v_th, "V")
        check_finite("v_h", self.v_h, "V")
        check_nonnegative("t_ref", self.t_ref, "s")
        check_positive("i_max", self.i_max, "A")
        check_positive("dt", self.dt, "s")
        if self.v_th <= self.v_bias:
            raise ParameterError(f"v_th ({self.v_th!r} V) must be > v_bias ({self.v_bias!r} V): "
                                 "the neuron would fire at rest [V]")
        if self.v_h >= self.v_th:
            raise ParameterError(f"v_h ({self.v_h!r} V) must be < v_th ({self.v_th!r} V) [V]")
        if self.i_max <= self.rheobase:
            raise ParameterError(f"i_max ({self.i_max!r} A) must exceed the rheobase (v_th - v_bias)/r_leak "
                                 f"= {self.rheobase!r} A: empty oscillation window [A]")

    # ------------------------------------------------------------------ derived quantities
    @property
    def tau(self) -> float:
        """Membrane time constant ``C R_leak`` [s]."""
        return self.capacitance * self.r_leak

    @property
    def decay(self) -> float:
        """Per-step decay factor ``exp(-dt/tau)`` [-]."""
        return math.exp(-self.dt / self.tau)

    @property
    def rheobase(self) -> float:
        """Smallest current that fires the neuron, ``(v_th - v_bias)/R_leak`` [A]."""
        return (self.v_th - self.v_bias) / self.r_leak

    @property
    def n_ref(self) -> int:
        """Refractory period in steps, ``round(t_ref/dt)`` [-]."""
        return int(round(self.t_ref / self.dt))

    @property
    def r_on(self) -> float:
        """Metallic resistance implied by the window edge, ``v_h / i_max`` [Ohm] (current drive, section 8)."""
        return self.v_h / self.i_max

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, float]:
        """Plain ``{field: value}`` in SI units (JSON-ready)."""
        return asdict(self)

    def matches(self, other: "VO2NeuronParams | Mapping[str, Any]", *, rel: float = 1e-6) -> bool:
        """Same neuron up to ``rel`` relative difference per field (re-derivations differ at the solver tolerance)."""
        theirs = other.to_dict() if isinstance(other, VO2NeuronParams) else dict(other)
        return all(k in theirs and math.isclose(v, float(theirs[k]), rel_tol=rel, abs_tol=0.0)
                   for k, v in self.to_dict().items())

    @classmethod
    def units(cls) -> dict[str, str]:
        """``{field: SI unit}`` from the field metadata."""
        return {f.name: f.metadata["unit"] for f in fields(cls)}

    @classmethod
    def from_record(cls, record: Any, **overrides: float) -> "VO2NeuronParams":
        """Build from a mapping, a record with ``to_dict()``, or an object with the same attribute names.

        This is how a circuit-side record (``vo2neuro.circuits.neuron_abstraction.from_circuit``) becomes a
        neuron parameter set without the circuit layer importing ``vo2neuro.snn``. ``overrides`` replace
        fields (e.g. ``dt``). Unknown keys are ignored; missing required ones raise :class:`ParameterError`.
        """
        if isinstance(record, cls):
            data: Mapping[str, Any] = record.to_dict()
        elif isinstance(record, Mapping):
            data = record
        elif hasattr(record, "to_dict"):
            data = record.to_dict()
        else:
            data = {f.name: getattr(record, f.name) for f in fields(cls) if hasattr(record, f.name)}
        names = [f.name for f in fields(cls)]
        kwargs = {k: float(data[k]) for k in names if k in data}
        kwargs.update({k: float(v) for k, v in overrides.items()})
        missing = [k for k in names if k not in kwargs and k != "v_bias"]
        if missing:
            units = cls.units()
            raise ParameterError("neuron record lacks " + ", ".join(f"{k} [{units[k]}]" for k in missing))
        return cls(**kwargs)
