"""Neuron parameters by device preset, derived from circuit simulations (:mod:`vo2neuro.snn.circuit_neuron`).

``neuron_params_for_preset(name)`` runs :func:`~vo2neuro.snn.circuit_neuron.neuron_from_circuit` on the preset's
device in the default network circuit (``NETWORK_CIRCUIT``: R_L 12 kOhm, C 145.35 pF, the preset's bath
temperature, supply at 0.8 of the onset) and returns the fitted neuron; :func:`circuit_neuron_for_device` does the
same for any device parameters (a ``--params`` file) at a given bath temperature. Results are cached per process
(a derivation takes a few seconds).

Sized devices (``--device-size L [--integration NAME]``): :func:`sized_device` builds the preset's film at channel
length ``L`` the way the scale study does (:func:`vo2neuro.circuits.scaling.film_of`,
:func:`~vo2neuro.circuits.scaling.sized_geometry`, :func:`~vo2neuro.device.geometry.from_geometry`) and gives it the
study's circuit: load R_L = LOAD_FRACTION V_th/I_th and node capacitance = the device's own + the scenario's
parasitic + the auto capacitor (C_node R_L = AUTO_CAP_TAU_RATIO tau_th); :func:`circuit_neuron_for_sized` derives
the network neuron from that circuit with :func:`~vo2neuro.snn.circuit_neuron.neuron_from_circuit`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vo2neuro.units import ParameterError
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["neuron_params_for_preset", "circuit_neuron_for_preset", "circuit_neuron_for_device", "preset_names",
           "EXAMPLE_NEURON", "SizedDevice", "sized_device", "circuit_neuron_for_sized", "DEFAULT_INTEGRATION"]

#: Integration scenario of ``--device-size`` when ``--integration`` is not given.
DEFAULT_INTEGRATION = "on-chip"

#: A hand-written neuron for documentation examples and unit tests of the neuron mechanics only (fast, no
#: circuit simulation): the Zhang et al. 2024 node capacitance and load, assumed 5 V / 2 V switching voltages,
#: 0.5 us refractory time and 2 mA latch. Networks use :func:`neuron_params_for_preset`.
EXAMPLE_NEURON = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_bias=0.0, v_th=5.0, v_h=2.0,
                                 t_ref=0.5e-6, i_max=2e-3, dt=0.1e-6)


def preset_names() -> list[str]:
    """Device presets a neuron can be derived from (``vo2neuro presets``)."""
    from vo2neuro.device import preset_names as names

    return names()


@lru_cache(maxsize=32)
def circuit_neuron_for_preset(name: str, delta: float | None = None):
    """The :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` of preset ``name`` (cached)."""
    from vo2neuro.device.select import select

    if name not in preset_names():
        raise ParameterError(f"preset: unknown name {name!r}; valid: {', '.join(preset_names())}")
    # the circuit runs at the preset's own bath temperature (zhang2024: the published 325 K)
    sel = select(name, delta=delta)
    return circuit_neuron_for_device(sel.params, sel.ambient_k)


@lru_cache(maxsize=32)
def circuit_neuron_for_device(params, ambient_k: float, r_load: float | None = None,
                              capacitance: float | None = None):
    """The :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` of device ``params`` (a
    :class:`~vo2neuro.device.VO2DeviceParams`) in the network circuit at bath temperature ``ambient_k`` [K] (cached);
    ``r_load`` [Ohm] and ``capacitance`` [F] replace the network circuit's (``NETWORK_CIRCUIT``) when given.

    For a preset's parameters at the preset's ambient this is the neuron of :func:`circuit_neuron_for_preset`.
    """
    from vo2neuro.snn.circuit_neuron import NETWORK_CIRCUIT, neuron_from_circuit

    kw: dict[str, Any] = {**NETWORK_CIRCUIT, "ambient": float(ambient_k)}
    if r_load is not None:
        kw["r_load"] = float(r_load)
    if capacitance is not None:
        kw["capacitance"] = float(capacitance)
    return neuron_from_circuit(params, **kw)


@dataclass(frozen=True)
class SizedDevice:
    """A preset's film built at one channel length, with the scale study's circuit.

    Attributes
    ----------
    selection : DeviceSelection
        The sized device, its bath temperature [K] and provenance (``size:PRESET@L/INTEGRATION``).
    preset : str
        The preset the film comes from; ``length_m`` the channel length [m]; ``integration`` the scenario.
    geometry : Geometry
        Channel length, width, thickness [m] and substrate (:func:`~vo2neuro.circuits.scaling.sized_geometry`).
    r_load_ohm : float
        Load R_L = LOAD_FRACTION V_th/I_th [Ohm].
    node : NodeCapacitance
        Node capacitance split: device's own, the scenario's parasitic, the auto capacitor [F].
    """

    selection: Any
    preset: str
    length_m: float
    integration: str
    geometry: Any
    r_load_ohm: float
    node: Any

    @property
    def capacitance_f(self) -> float:
        """Total node capacitance [F]."""
        return float(self.node.total_f)

    def to_dict(self) -> dict[str, Any]:
        """Device description (JSON; the checkpoint's ``device.circuit`` record)."""
        g = self.geometry
        return {"preset": self.preset, "delta": float(self.selection.params.delta), "length_m": float(self.length_m),
                "width_m": float(g.width), "thickness_m": float(g.thickness), "substrate": str(g.substrate),
                "integration": self.integration, "r_load_ohm": float(self.r_load_ohm),
                "node_capacitance": self.node.to_dict(), "tau_th_s": float(self.selection.params.tau_th)}


@lru_cache(maxsize=32)
def sized_device(preset: str, length: float, integration: str = DEFAULT_INTEGRATION, *, delta: float | None = None,
                 ambient: float | None = None) -> SizedDevice:
    """Film of ``preset`` (at vacancy level ``delta`` [-]) built at channel length ``length`` [m], with the load and
    node capacitance of the scale study in the scenario ``integration`` (cached; see the module docstring).

    Raises
    ------
    ParameterError
        Unknown preset or scenario, a length that is not a finite size > 0 [m], or a device with no negative
        differential resistance at that size (no load line through it, so no oscillator).
    """
    from vo2neuro.circuits.scaling import (LOAD_FRACTION, NodeCapacitance, auto_capacitor, check_integration,
                                           film_of, node_capacitance, sized_geometry)
    from vo2neuro.device import static_iv
    from vo2neuro.device.geometry import from_geometry
    from vo2neuro.device.select import DeviceSelection

    if isinstance(length, bool) or not isinstance(length, (int, float)) or not math.isfinite(length) or length <= 0:
        raise ParameterError(f"device_size must be a finite length > 0 [m], got {length!r}")
    check_integration(integration)
    if preset not in preset_names():
        raise ParameterError(f"preset: unknown name {preset!r}; valid: {', '.join(preset_names())}")
    base, dlt, amb = film_of(preset, delta=delta, ambient=ambient)
    geom = sized_geometry(float(length))
    try:
        params = from_geometry(geom, delta=dlt, base=base)
    except ParameterError as exc:
        raise ParameterError(f"device_size: {length:g} m: {exc}") from None
    iv = static_iv(params, ambient=amb)
    if not iv.has_ndr:
        raise ParameterError(f"device_size: the {preset} film at {length:g} m has no negative differential "
                             f"resistance at {amb:g} K, so it cannot oscillate [m]")
    r_load = LOAD_FRACTION * iv.v_th_v / iv.i_th_a
    node = node_capacitance(geom, integration)
    node = NodeCapacitance(node.device_f, node.parasitic_f, auto_capacitor(params, r_load, node), integration)
    sel = DeviceSelection(params, float(amb), f"size:{preset}@{float(length):g}m/{integration}")
    return SizedDevice(selection=sel, preset=preset, length_m=float(length), integration=integration, geometry=geom,
                       r_load_ohm=float(r_load), node=node)


def circuit_neuron_for_sized(sized: SizedDevice):
    """The :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` of a :class:`SizedDevice` in its own circuit
    (cached); ParameterError naming the size when the neuron cannot be derived there."""
    sel = sized.selection
    try:
        return circuit_neuron_for_device(sel.params, sel.ambient_k, sized.r_load_ohm, sized.capacitance_f)
    except ParameterError as exc:
        raise ParameterError(f"device_size: no network neuron at {sized.length_m:g} m ({sized.integration}): "
                             f"{' '.join(str(exc).split())}") from None


def neuron_params_for_preset(name: str, *, dt: float | None = None, delta: float | None = None) -> VO2NeuronParams:
    """Network neuron of preset ``name`` derived from its circuit (SI); ``dt`` overrides the time step [s].

    Raises
    ------
    ParameterError
        Unknown preset name (the message lists the valid ones), or a device that does not oscillate.
    """
    p = circuit_neuron_for_preset(name, delta).params
    return dataclasses.replace(p, dt=float(dt)) if dt is not None else p
