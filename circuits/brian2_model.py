"""Brian2 description of the PWL Pearson-Anson oscillator, for cross-checks and benchmarks (brian2 imported lazily).

Equations (anchors.md section 2.3), one neuron per sweep point::

    dv/dt = (Vs - v)/(RL*C) - v/(R*C)      R = R_off (1 - metal) + R_on metal
    threshold  v > V_th and metal == 0  ->  metal = 1       (spike: insulator-to-metal)
    event      v < V_h  and metal == 1  ->  metal = 0

Integrated with ``method='exact'`` (linear ODE); switching is detected on the time grid, so the period carries an
O(dt/T) error (anchors.md: 5e-5..5e-4 at dt = 1 ns).
"""
from __future__ import annotations

import numpy as np

from vo2neuro._units import ParameterError, check_positive
from vo2neuro.circuits.params import PWLDeviceParams

__all__ = ["build_pwl_network", "build_et_network", "brian2_pwl_frequency", "TARGETS"]

#: Brian2 code-generation targets accepted here.
TARGETS = ("numpy", "cython", "cpp_standalone")


def build_pwl_network(dev: PWLDeviceParams, *, v_in, r_load, capacitance: float, dt: float):
    """(brian2 module, Network, NeuronGroup, SpikeMonitor) of N PWL oscillators (N = len(v_in))."""
    import brian2 as b2

    vin = np.atleast_1d(np.asarray(v_in, dtype=float))
    n = vin.size
    b2.defaultclock.dt = dt * b2.second
    eqs = """dv/dt = (Vs - v)/(RL*C) - v/(R*C) : volt
             R = R_off*(1 - metal) + R_on*metal : ohm
             metal : 1
             Vs : volt (constant)
             RL : ohm (constant)"""
    ns = {"C": capacitance * b2.farad, "R_off": dev.r_off * b2.ohm, "R_on": dev.r_on * b2.ohm,
          "V_th": dev.v_th * b2.volt, "V_h": dev.v_h * b2.volt}
    G = b2.NeuronGroup(n, eqs, method="exact", threshold="v > V_th and metal == 0", reset="metal = 1",
                       events={"mit": "v < V_h and metal == 1"}, namespace=ns)
    G.run_on_event("mit", "metal = 0")
    G.Vs = vin * b2.volt
    G.RL = np.broadcast_to(np.asarray(r_load, dtype=float), (n,)) * b2.ohm
    G.v = 0 * b2.volt
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, mon)
    return b2, net, G, mon


def brian2_pwl_frequency(dev: PWLDeviceParams, *, v_in, r_load, capacitance: float, duration: float, dt: float,
                         settle: float | None = None, target: str = "numpy") -> np.ndarray:
    """Frequencies [Hz] (shape (N,)) of the PWL oscillators simulated by Brian2 in runtime mode.

    ``target``: ``numpy`` or ``cython`` (runtime). Frequency = (n - 1)/(t_last - t_first) over the spikes after
    ``settle`` [s] (default 30 % of ``duration``); 0 with fewer than 3 spikes.
    """
    if target not in ("numpy", "cython"):
        raise ParameterError(f"target: unknown runtime target {target!r}; valid: numpy, cython")
    check_positive("duration", duration, "s")
    check_positive("dt", dt, "s")
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.start_scope()
    _, net, G, mon = build_pwl_network(dev, v_in=v_in, r_load=r_load, capacitance=capacitance, dt=dt)
    net.run(duration * b2.second)
    t_set = 0.3 * duration if settle is None else settle
    trains = mon.spike_trains()
    out = np.zeros(len(G))
    for i in range(len(G)):
        ts = np.asarray(trains[i] / b2.second)
        ts = ts[ts >= t_set]
        if ts.size >= 3:
            out[i] = (ts.size - 1) / (ts[-1] - ts[0])
    return out


def build_et_network(dev, *, v_in, r_load, capacitance: float, ambient: float, dt: float,
                     dv_detect: float = 0.01):
    r"""(brian2 module, Network, NeuronGroup, SpikeMonitor) of N electro-thermal Pearson-Anson oscillators.

    The electrical node, thermal node and major-loop hysteresis of :func:`vo2neuro.circuits.simulate` (vo2_physics.md
    sections 3, 8) on the group's own clock ``dt`` [s]::

        C dv/dt = (Vs - v)/RL - v/R                    R = R_0 exp(Ea/kT) g + R_m     (T clipped to [T_min, T_max])
        C_th dT/dt = v^2/R - S_e (T - T_0)             g = 1/2 + 1/2 tanh(beta (delta w/2 + T_c - T))

    ``delta`` (+1 heating, -1 cooling branch) flips on the sign of the temperature change once it leaves the dead
    band (``run_regularly`` each step). There is **no minor-loop memory** (no reversal point / proximity term):
    the Brian2 device always switches on the major loop. Spikes: node-voltage maxima confirmed by a ``dv_detect``
    [V] fall, as the Numba detector. Integrated with ``method='euler'`` (Brian2 cannot use exponential Euler here:
    R depends on T).
    """
    import brian2 as b2

    vin = np.atleast_1d(np.asarray(v_in, dtype=float))
    n = vin.size
    k = dev.to_kernel()
    eqs = """dv/dt = (Vs - v)/(RL*C) - v/(R*C) : volt
             dT/dt = (v**2/R - S_e*(T - T0))/C_th : kelvin
             R = R_0*exp(Ea_k/Tcl)*(0.5 + 0.5*tanh(beta*(delta*w/2 + T_c - Tcl))) + R_m : ohm
             Tcl = clip(T, T_min, T_max) : kelvin
             delta : 1
             T_last : kelvin
             vext : volt
             falling : 1
             Vs : volt (constant)
             RL : ohm (constant)"""
    ns = {"C": capacitance * b2.farad, "C_th": k.C_th * b2.joule / b2.kelvin, "S_e": k.S_e * b2.watt / b2.kelvin,
          "T0": ambient * b2.kelvin, "R_0": k.R_0 * b2.ohm, "Ea_k": k.Ea_over_k * b2.kelvin, "R_m": k.R_m * b2.ohm,
          "beta": k.beta / b2.kelvin, "w": k.w * b2.kelvin, "T_c": k.T_c * b2.kelvin,
          "T_min": k.T_min * b2.kelvin, "T_max": k.T_max * b2.kelvin, "deadband": k.deadband * b2.kelvin,
          "dv": dv_detect * b2.volt, "vbig": 1e9 * b2.volt}
    G = b2.NeuronGroup(n, eqs, method="euler", dt=dt * b2.second, namespace=ns,
                       threshold="falling == 0 and v < vext - dv", reset="falling = 1; vext = v",
                       events={"ret": "falling == 1 and v > vext + dv"})
    G.run_on_event("ret", "falling = 0; vext = v")
    G.run_regularly("""flip = int(abs(Tcl - T_last) > deadband)
                       delta = flip*sign(Tcl - T_last) + (1 - flip)*delta
                       T_last = flip*Tcl + (1 - flip)*T_last
                       vext = falling*clip(v, -vbig, vext) + (1 - falling)*clip(v, vext, vbig)""",
                    when="end")
    G.Vs = vin * b2.volt
    G.RL = np.broadcast_to(np.asarray(r_load, dtype=float), (n,)) * b2.ohm
    G.v = 0 * b2.volt
    G.T = ambient * b2.kelvin
    G.T_last = ambient * b2.kelvin
    G.delta = 1.0
    G.vext = -1e9 * b2.volt
    G.falling = 0.0
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, mon)
    return b2, net, G, mon
