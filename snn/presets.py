"""Neuron parameters by device preset, derived from circuit simulations (:mod:`vo2neuro.snn.circuit_neuron`).

``neuron_params_for_preset(name)`` runs :func:`~vo2neuro.snn.circuit_neuron.neuron_from_circuit` on the preset's
device in the default network circuit (``NETWORK_CIRCUIT``: R_L 12 kOhm, C 145.35 pF, the preset's bath
temperature, supply at 0.8 of the onset) and returns the fitted neuron; :func:`circuit_neuron_for_device` does the
same for any device parameters (a ``--params`` file) at a given bath temperature. Results are cached per process
(a derivation takes a few seconds).
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

from vo2neuro.units import ParameterError
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["neuron_params_for_preset", "circuit_neuron_for_preset", "circuit_neuron_for_device", "preset_names",
           "EXAMPLE_NEURON"]

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
def circuit_neuron_for_device(params, ambient_k: float):
    """The :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` of device ``params`` (a
    :class:`~vo2neuro.device.VO2DeviceParams`) in the network circuit at bath temperature ``ambient_k`` [K] (cached).

    For a preset's parameters at the preset's ambient this is the neuron of :func:`circuit_neuron_for_preset`.
    """
    from vo2neuro.snn.circuit_neuron import NETWORK_CIRCUIT, neuron_from_circuit

    return neuron_from_circuit(params, **{**NETWORK_CIRCUIT, "ambient": float(ambient_k)})


def neuron_params_for_preset(name: str, *, dt: float | None = None, delta: float | None = None) -> VO2NeuronParams:
    """Network neuron of preset ``name`` derived from its circuit (SI); ``dt`` overrides the time step [s].

    Raises
    ------
    ParameterError
        Unknown preset name (the message lists the valid ones), or a device that does not oscillate.
    """
    p = circuit_neuron_for_preset(name, delta).params
    return dataclasses.replace(p, dt=float(dt)) if dt is not None else p
