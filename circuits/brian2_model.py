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

from vo2neuro.units import ParameterError, check_positive
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
                     dv_detect: float = 0.01, minor_loops: bool = True):
    r"""(brian2 module, Network, NeuronGroup, SpikeMonitor) of N electro-thermal Pearson-Anson oscillators.

    The electrical node, thermal node and hysteresis with minor loops of :func:`vo2neuro.circuits.simulate`
    (vo2_physics.md sections 3, 8) on the group's own clock ``dt`` [s]::

        C dv/dt = (Vs - v)/RL - v/R                    R = R_0 exp(Ea/kT) g + R_m     (T clipped to [T_min, T_max])
        C_th dT/dt = v^2/R - S_e (T - T_0)             g = 1/2 + 1/2 tanh(beta (delta w/2 + T_c - T - T_px))
        T_px = r T_pr P((T - T_r)/T_pr),               P(x) = 1/2 (1 - sin(gamma x)) (1 + tanh(pi^2 - 2 pi x))

    The memory (``delta``, ``r``, ``T_r``, ``T_pr``, ``T_last``) is updated at the end of every step as
    ``device._kernels.hyst_update`` does: a change of direction by more than the dead band records a reversal
    (T_r, and T_pr = delta w/2 + T_c - artanh(2 g_r - 1)/beta - T_r with g continuous). Brian2 abstract code has
    no branches, so every candidate value is computed each step and selected with 0/1 factors. Spikes:
    node-voltage maxima confirmed by a ``dv_detect`` [V] fall, as the Numba detector. Integrated with
    ``method='euler'`` (the node is not linear in v with T-dependent R, so Brian2 offers no exact leg here).
    ``minor_loops=False`` keeps only the branch flips (major loop, no reversal memory): a simpler model than
    the Numba kernel's, for reference timings.
    """
    import brian2 as b2

    vin = np.atleast_1d(np.asarray(v_in, dtype=float))
    n = vin.size
    k = dev.to_kernel()
    eqs = """dv/dt = (Vs - v)/(RL*C) - v/(R*C) : volt
             dT/dt = (v**2/R - S_e*(T - T0))/C_th : kelvin
             R = R_0*exp(Ea_k/Tcl)*(0.5 + 0.5*tanh(beta*(delta*w/2 + T_c - Tcl - Tpx))) + R_m : ohm
             Tpx = r*T_pr*0.5*(1 - sin(gamma*xr))*(1 + tanh(pi**2 - 2*pi*xr)) : kelvin
             xr = (Tcl - T_r)/((2.0*int(T_pr >= 0*kelvin) - 1.0)*clip(abs(T_pr), tpr_guard, tbig)) : 1
             Tcl = clip(T, T_min, T_max) : kelvin
             delta : 1
             r : 1
             T_r : kelvin
             T_pr : kelvin
             T_last : kelvin
             vext : volt
             falling : 1
             Vs : volt (constant)
             RL : ohm (constant)"""
    if not minor_loops:
        eqs = eqs.replace("Tpx = r*T_pr*0.5*(1 - sin(gamma*xr))*(1 + tanh(pi**2 - 2*pi*xr)) : kelvin",
                          "Tpx = 0*kelvin : kelvin")
    ns = {"C": capacitance * b2.farad, "C_th": k.C_th * b2.joule / b2.kelvin, "S_e": k.S_e * b2.watt / b2.kelvin,
          "T0": ambient * b2.kelvin, "R_0": k.R_0 * b2.ohm, "Ea_k": k.Ea_over_k * b2.kelvin, "R_m": k.R_m * b2.ohm,
          "beta": k.beta / b2.kelvin, "w": k.w * b2.kelvin, "T_c": k.T_c * b2.kelvin, "gamma": k.gamma,
          "T_min": k.T_min * b2.kelvin, "T_max": k.T_max * b2.kelvin, "deadband": k.deadband * b2.kelvin,
          "tpr_guard": 1e-6 * b2.kelvin, "tbig": 1e9 * b2.kelvin, "xclip": 1.0 - 1e-12,
          "dv": dv_detect * b2.volt, "vbig": 1e9 * b2.volt}
    G = b2.NeuronGroup(n, eqs, method="euler", dt=dt * b2.second, namespace=ns,
                       threshold="falling == 0 and v < vext - dv", reset="falling = 1; vext = v",
                       events={"ret": "falling == 1 and v > vext + dv"})
    G.run_on_event("ret", "falling = 0; vext = v")
    memory = ["rev = flip*int(s_new != delta)",
              "g_r = 0.5 + 0.5*tanh(beta*(delta*w/2 + T_c - Tcl - Tpx))",
              "xg = clip(2*g_r - 1, -xclip, xclip)",
              "T_pr_new = s_new*w/2 + T_c - 0.5*log((1 + xg)/(1 - xg))/beta - Tcl",
              "T_pr = rev*T_pr_new + (1 - rev)*T_pr",
              "T_r = rev*Tcl + (1 - rev)*T_r",
              "r = rev + (1 - rev)*r"] if minor_loops else []
    code = (["flip = int(abs(Tcl - T_last) > deadband)", "s_new = sign(Tcl - T_last)"] + memory
            + ["delta = flip*s_new + (1 - flip)*delta", "T_last = flip*Tcl + (1 - flip)*T_last",
               "vext = falling*clip(v, -vbig, vext) + (1 - falling)*clip(v, vext, vbig)"])
    G.run_regularly("\n".join(code),
                    when="end")
    from vo2neuro.device._kernels import hyst_init

    h = hyst_init(float(ambient), 1.0, k)  # at rest on the heating branch, as the Numba simulator starts
    G.Vs = vin * b2.volt
    G.RL = np.broadcast_to(np.asarray(r_load, dtype=float), (n,)) * b2.ohm
    G.v = 0 * b2.volt
    G.T = ambient * b2.kelvin
    G.delta = h.delta
    G.r = h.r
    G.T_r = h.T_r * b2.kelvin
    G.T_pr = h.T_pr * b2.kelvin
    G.T_last = h.T_last * b2.kelvin
    G.vext = -1e9 * b2.volt
    G.falling = 0.0
    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, mon)
    return b2, net, G, mon

