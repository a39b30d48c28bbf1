r"""The SNN neuron derived from the simulated VO2 circuit (never set by hand).

Circuit: the Norton form of the Pearson-Anson oscillator. A supply ``V_s`` through the load ``R_L`` (bias current
``I_b = V_s/R_L``) and the synaptic current ``I_syn`` charge the node capacitor ``C``; the VO2 device sits
across ``C``. The network neuron (:class:`~vo2neuro.snn.params.VO2NeuronParams`) sees ``I_syn`` as its input:

.. math:: C\dot v = I_b + I_{syn} - v/R_{leak},\qquad R_{leak} = R_L \parallel R_{ins},\qquad
          v_{bias} = I_b R_{leak}

How every number is obtained (:func:`neuron_from_circuit`):

1. the oscillation window ``[I_lo, I_hi]`` of the total current, by bisection on circuit simulations
   (:func:`vo2neuro.circuits.oscillation_window`, electro-thermal device of the preset);
2. the supply biases the neuron ``bias_fraction`` of the way to the onset: ``I_b = bias_fraction * I_lo``
   (assumption, default 0.8: the neuron rests below threshold and fires only on synaptic input);
3. the circuit's f-I curve over the window (:func:`vo2neuro.circuits.f_i_curve`, one batched simulation);
4. ``v_h`` (node voltage when the device returns to insulating) and starting values of ``R_leak`` and the
   metallic-phase duration from the simulated oscillation (:func:`vo2neuro.circuits.neuron_abstraction`);
   ``i_max = I_hi - I_b`` (the synaptic current at which the device latches metallic);
5. ``v_th`` is pinned to the onset (``v_th = I_lo R_leak``: the neuron's rheobase is the circuit's onset
   current) and ``R_leak``, ``t_ref`` are fitted (least squares on log f, onset to frequency maximum) so that
   the closed-form rate :func:`vo2neuro.snn.neuron.rate` reproduces the circuit's f-I curve. The effective
   leak absorbs the insulating resistance falling as the device warms while charging; the effective
   refractory time holds the metallic phase plus the thermal recovery after it.

``dt`` (the network time step) defaults to ``1 / (3 f_max)``: the fastest neuron fires at most every third step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from vo2neuro.units import ParameterError, check_positive
from vo2neuro.device.select import ROOM_TEMPERATURE_K
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["CircuitNeuron", "neuron_from_circuit", "NETWORK_CIRCUIT"]

#: Default circuit of the network neurons: the Zhang et al. 2024 load and node capacitance at room temperature
#: (a preset's own bath temperature replaces the ambient: :func:`vo2neuro.snn.presets.circuit_neuron_for_preset`).
NETWORK_CIRCUIT = {"r_load": 12e3, "capacitance": 145.35e-12, "ambient": ROOM_TEMPERATURE_K, "bias_fraction": 0.8}


def _neuron(r_leak: float, v_th: float, v_h: float, t_ref: float, cap: float, i_b: float, i_max: float,
            dt: float) -> VO2NeuronParams:
    """The network neuron for a trial (R_leak, v_th, t_ref) of the fit (Thevenin bias ``i_b R_leak``)."""
    return VO2NeuronParams(capacitance=cap, r_leak=r_leak, v_bias=i_b * r_leak, v_th=v_th, v_h=v_h, t_ref=t_ref,
                           i_max=i_max, dt=dt)


@dataclass(frozen=True)
class CircuitNeuron:
    """A network neuron and the circuit it stands for.

    Attributes
    ----------
    params : VO2NeuronParams
        The neuron of the network (input = synaptic current [A]).
    preset, delta : device preset and its vacancy level [-]
    r_load_ohm, capacitance_f, ambient_k : the circuit [Ohm, F, K]
    supply_v : supply voltage V_s = I_b R_L, the operating voltage [V]
    i_bias_a : bias current [A]; ``i_lo_a``/``i_hi_a``: oscillation window of the total current [A]
    f_max_hz : highest frequency over the window [Hz]
    energy_per_spike_j, device_energy_per_spike_j : supply and device energy per spike mid-window [J]
    fit_rms_percent : rms relative error of the fitted rate against the circuit f-I curve [%]
    i_syn_a, f_circuit_hz : the calibration points (synaptic current [A], circuit frequency [Hz])
    t_metal_s : measured duration of the metallic phase [s] (the fitted ``t_ref`` also holds the thermal
        recovery that follows it)
    i_peak_a : synaptic current of the highest circuit frequency [A]: the operating range is
        ``(I_lo - I_b, i_peak_a]``
    """

    params: VO2NeuronParams
    preset: str
    delta: float
    r_load_ohm: float
    capacitance_f: float
    ambient_k: float
    supply_v: float
    i_bias_a: float
    i_lo_a: float
    i_hi_a: float
    f_max_hz: float
    energy_per_spike_j: float
    device_energy_per_spike_j: float
    fit_rms_percent: float
    i_syn_a: np.ndarray = field(repr=False)
    f_circuit_hz: np.ndarray = field(repr=False)
    t_metal_s: float = math.nan
    i_peak_a: float = math.nan

    def rate(self, i_syn: np.ndarray) -> np.ndarray:
        """Continuous-time rate of the fitted neuron at synaptic current(s) ``i_syn`` [Hz]."""
        from vo2neuro.snn.neuron import rate

        return rate(np.asarray(i_syn, float), self.params)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("preset", "delta", "r_load_ohm", "capacitance_f", "ambient_k", "supply_v",
                                           "i_bias_a", "i_lo_a", "i_hi_a", "f_max_hz", "energy_per_spike_j",
                                           "device_energy_per_spike_j", "fit_rms_percent", "t_metal_s",
                                           "i_peak_a")}
        d["neuron"] = self.params.to_dict()
        return d


def neuron_from_circuit(preset: str | Any = "vo2x", *, delta: float | None = None, r_load: float = 12e3,
                        capacitance: float = 145.35e-12, ambient: float = ROOM_TEMPERATURE_K, bias_fraction: float = 0.8,
                        dt: float | None = None, n_points: int = 14) -> CircuitNeuron:
    """Derive the network neuron of ``preset`` from circuit simulations (see the module docstring).

    Parameters
    ----------
    preset : str or VO2DeviceParams
        Device preset name (``vo2neuro presets``) or parameters.
    delta : float, optional
        Oxygen-vacancy level replacing the preset's [-].
    r_load, capacitance, ambient : float
        Circuit [Ohm, F, K].
    bias_fraction : float
        Supply bias as a fraction of the onset current, in (0, 1) [-].
    dt : float, optional
        Network time step [s] (default 1/(3 f_max)).
    n_points : int
        Points of the f-I calibration curve.
    """
    from vo2neuro.circuits import f_i_curve, neuron_abstraction, oscillation_window
    from vo2neuro.device import get_parameters
    from vo2neuro.snn.neuron import rate

    dev = get_parameters(preset, delta=delta) if isinstance(preset, str) else preset
    check_positive("r_load", r_load, "Ohm")
    check_positive("capacitance", capacitance, "F")
    if not 0.0 < bias_fraction < 1.0:
        raise ParameterError(f"bias_fraction must be in (0, 1) [1], got {bias_fraction}")
    if n_points < 4:
        raise ParameterError(f"n_points must be >= 4 [1], got {n_points}")
    win = oscillation_window(dev, drive="current", r_load=r_load, capacitance=capacitance, ambient=ambient)
    if not (math.isfinite(win.lower) and math.isfinite(win.upper)):
        raise ParameterError(f"preset: {dev.name} does not oscillate in this circuit at {ambient} K "
                             f"(R_L={r_load:g} Ohm, C={capacitance:g} F) [-]")
    i_lo, i_hi = win.lower, win.upper
    i_b = bias_fraction * i_lo
    # calibration points inside the window (edges excluded: the onset is a bifurcation, f jumps from 0)
    i_tot = i_lo + (i_hi - i_lo) * np.linspace(0.04, 0.92, n_points)
    fi = f_i_curve(dev, i_in=i_tot, capacitance=capacitance, r_load=r_load, ambient=ambient)
    f_c = np.asarray(fi.frequency_hz, float)
    ok = f_c > 0
    if ok.sum() < 4:
        raise ParameterError(f"preset: too few oscillating calibration points ({int(ok.sum())}) in the window")
    i_syn = i_tot - i_b
    ab = neuron_abstraction(dev, i_in=float(i_tot[n_points // 2]), r_load=r_load, capacitance=capacitance,
                            ambient=ambient)
    v_h = ab.v_h
    # Fit range: from the onset to the frequency maximum (beyond it the thermal recovery slows the circuit and
    # the rate falls towards the latch; the LIF rate cannot fall, so those points would only bias the fit).
    k_peak = int(np.argmax(f_c))
    f_max = float(f_c.max())
    step = float(dt) if dt is not None else 1.0 / (3.0 * f_max)
    i_max = i_hi - i_b
    sel = np.zeros_like(ok)
    sel[: k_peak + 1] = True
    sel &= ok

    def unpack(th: np.ndarray) -> tuple[float, float, float]:
        r_leak, t_ref = math.exp(th[0]), math.exp(th[1])
        return r_leak, i_lo * r_leak, t_ref  # v_th pinned to the onset: rheobase (total current) = I_lo

    def resid(th: np.ndarray) -> np.ndarray:
        r_leak, v_th, t_ref = unpack(th)
        f = rate(i_syn[sel], _neuron(r_leak, v_th, v_h, t_ref, capacitance, i_b, i_max, step))
        return np.log(np.maximum(f, 1.0)) - np.log(f_c[sel])

    r_hi = r_load * (1.0 - 1e-6)  # R_L || R_ins < R_L
    r0 = min(ab.r_leak, 0.9 * r_load)
    if i_lo * r0 <= v_h * 1.01:
        r0 = min(r_hi * 0.99, 1.5 * v_h / i_lo)
    t0 = max(ab.t_ref, 1e-9)
    lo_r = math.log(max(1.01 * v_h / i_lo, 1e-3))
    sol = least_squares(resid, [min(max(math.log(r0), lo_r + 1e-6), math.log(r_hi) - 1e-6), math.log(t0)],
                        bounds=([lo_r, math.log(t0) - 4.0], [math.log(r_hi), math.log(t0) + 4.0]))
    r_leak, v_th, t_ref = unpack(sol.x)
    params = _neuron(r_leak, v_th, v_h, t_ref, capacitance, i_b, i_max, step)
    rel = rate(i_syn[sel], params) / f_c[sel] - 1.0
    rms = float(np.sqrt(np.mean(rel**2))) * 100.0
    mid = n_points // 2
    e_src = float(fi.energy_per_spike_j[mid])
    e_dev = float(fi.device_energy_per_spike_j[mid])
    return CircuitNeuron(params=params, preset=dev.name, delta=dev.delta, r_load_ohm=r_load,
                         capacitance_f=capacitance, ambient_k=ambient, supply_v=i_b * r_load, i_bias_a=i_b,
                         i_lo_a=i_lo, i_hi_a=i_hi, f_max_hz=f_max, energy_per_spike_j=e_src,
                         device_energy_per_spike_j=e_dev, fit_rms_percent=rms, i_syn_a=i_syn, f_circuit_hz=f_c,
                         t_metal_s=ab.t_ref, i_peak_a=float(i_syn[k_peak]))
