"""Neuron parameters by preset name, through the circuit layer when it is available.

``neuron_params_for_preset(name)`` asks ``vo2neuro.circuits.neuron_abstraction.from_circuit(name)`` for the
neuron record of the preset's circuit (derived from the device physics there, never re-derived here). Until that
module exists the known presets fall back to :data:`PLACEHOLDER`, with a one-line warning on stderr.
"""
from __future__ import annotations

import importlib
import sys

from vo2neuro._units import ParameterError
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["KNOWN_PRESETS", "PLACEHOLDER", "neuron_params_for_preset"]

#: Preset names, mirroring the device parameter sets of ``vo2neuro.device.parameter_sets``.
KNOWN_PRESETS: tuple[str, ...] = ("vo2", "vo2x", "zhang2024")

#: Placeholder values representative of a VO2 oscillator neuron: the node capacitance and load of the Zhang et
#: al. (2024) thermal-neuristor circuit (145.35 pF, 12 kOhm), current drive (v_bias = 0), assumed switching
#: voltages 5 V / 2 V, a 0.5 us metallic phase and a 2 mA latch current. *Assumed*, not derived: they stand in
#: until ``from_circuit`` provides the real ones.
PLACEHOLDER = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_bias=0.0, v_th=5.0, v_h=2.0,
                              t_ref=0.5e-6, i_max=2e-3, dt=0.1e-6)

_CIRCUIT_MODULE = "vo2neuro.circuits.neuron_abstraction"


def neuron_params_for_preset(name: str, *, dt: float | None = None, warn=None) -> VO2NeuronParams:
    """Neuron parameters of preset ``name`` (SI), from ``from_circuit`` when available.

    Parameters
    ----------
    name : str
        A preset (``KNOWN_PRESETS``, or any name ``neuron_abstraction.preset_names()`` lists once it exists).
    dt : float or None
        Override of the network time step [s].
    warn : file-like or None
        Where the fallback warning goes (default ``sys.stderr``).

    Raises
    ------
    ParameterError
        Unknown preset name (the message lists the valid ones).
    """
    try:
        mod = importlib.import_module(_CIRCUIT_MODULE)
    except ImportError:
        mod = None
    valid = tuple(sorted(mod.preset_names())) if mod is not None and hasattr(mod, "preset_names") \
        else KNOWN_PRESETS
    if name not in valid:
        raise ParameterError(f"preset: unknown name {name!r}; valid: {', '.join(valid)}")
    overrides = {} if dt is None else {"dt": dt}
    if mod is None:
        print(f"vo2neuro: warning: {_CIRCUIT_MODULE} not available; preset {name!r} uses the placeholder "
              "neuron parameters of vo2neuro.snn.presets.PLACEHOLDER", file=warn or sys.stderr)
        return VO2NeuronParams.from_record(PLACEHOLDER, **overrides)
    return VO2NeuronParams.from_record(mod.from_circuit(name), **overrides)
