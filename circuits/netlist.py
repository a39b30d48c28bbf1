"""ngspice netlists of the oscillator / neuron circuits, and a batch-mode runner.

* PWL device: ngspice's voltage-controlled ``sw`` switch controlled by its own voltage. Its model switches on
  when the control voltage exceeds ``vt + vh`` and off below ``vt - vh``, so ``vt = (V_th + V_h)/2`` and
  ``vh = (V_th - V_h)/2`` make it exactly the ideal hysteretic switch of vo2_physics.md section 8 (validated
  against the closed form and the Numba kernel in tests/regression/test_circuits_ngspice.py).
* Electro-thermal device: behavioural model. The temperature is the voltage of a thermal node (1 V = 1 K):
  C_th with a conductance S_e to an ambient source, heated by a B-source current V^2/R (Joule power). R(T) is
  the Arrhenius x tanh major-loop form of vo2_physics.md section 3 with the branch selected by the sign of
  dT/dt (smooth tanh comparator). **Limitation:** major loop only: the de Almeida reversal memory (minor loops)
  is not modelled, so frequencies differ from the Numba kernel wherever the temperature reverses inside the
  transition region (in the Pearson-Anson oscillator it does, each cycle). Use it for circuit-level
  prototyping, not as a reference.

Run with ``ngspice -b FILE`` (the control block ends with ``quit 0`` so batch mode exits with status 0).
"""
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from vo2neuro._io import atomic_write_text
from vo2neuro.units import ParameterError, check_positive
from vo2neuro.circuits.params import PWLDeviceParams, check_drive
from vo2neuro.device.params import VO2DeviceParams

__all__ = ["netlist", "write_netlist", "run_ngspice", "ngspice_available", "frequency_from_waveform"]


def _g(x: float) -> str:
    return f"{x:.12g}"


def netlist(device, *, drive: str = "voltage", source: float, r_load: float, capacitance: float,
            ambient: float | None = None, duration: float, max_step: float | None = None,
            output: str = "vo2neuro_out.txt") -> str:
    """Netlist text of the circuit (see the module docstring); ``wrdata`` writes time, v(node) [, v(temp)].

    Parameters: ``source`` V_in [V] or I_in [A]; ``r_load`` [Ohm] (``inf`` allowed for the current drive);
    ``capacitance`` [F]; ``ambient`` [K] (electro-thermal; default the device's,
    :func:`vo2neuro.device.select.default_ambient`, and within its [T_min, T_max)); ``duration`` [s];
    ``max_step`` [s] (default duration/20000).
    """
    from vo2neuro.circuits.simulate import _default_ambient

    ambient = _default_ambient(device) if ambient is None else check_positive("ambient", ambient, "K")
    if isinstance(device, VO2DeviceParams) and not device.T_min <= ambient < device.T_max:
        raise ParameterError(f"ambient must lie in [T_min, T_max) = [{device.T_min}, {device.T_max}) K of the "
                             f"parameter set [K], got {ambient!r}")
    check_drive(drive)
    check_positive("capacitance", capacitance, "F")
    check_positive("duration", duration, "s")
    step = max_step if max_step is not None else duration / 20000.0
    check_positive("max_step", step, "s")
    lines = [f"* vo2neuro {'Pearson-Anson oscillator' if drive == 'voltage' else 'current-driven neuron'}, "
             f"{'PWL switch' if isinstance(device, PWLDeviceParams) else 'electro-thermal VO2 (major loop)'}"]
    if drive == "voltage":
        if not math.isfinite(r_load):
            raise ParameterError("r_load must be finite for the voltage drive [Ohm]")
        lines += [f"Vin in 0 DC {_g(source)}", f"RL in node {_g(r_load)}"]
    else:
        lines += [f"Iin 0 node DC {_g(source)}"]
        if math.isfinite(r_load):
            lines += [f"RL node 0 {_g(r_load)}"]
    lines += [f"C1 node 0 {_g(capacitance)} IC=0"]
    vectors = "v(node)"
    if isinstance(device, PWLDeviceParams):
        vt, vh = 0.5 * (device.v_th + device.v_h), 0.5 * (device.v_th - device.v_h)
        lines += ["* hysteretic switch: on above vt+vh = V_th, off below vt-vh = V_h",
                  "S1 node 0 node 0 swvo2",
                  f".model swvo2 sw vt={_g(vt)} vh={_g(vh)} ron={_g(device.r_on)} roff={_g(device.r_off)}"]
    elif isinstance(device, VO2DeviceParams):
        if device.poole_frenkel:
            raise ParameterError("poole_frenkel: the behavioural netlist supports only the Arrhenius insulating "
                                 "phase [1]")
        p = device
        tc = f"min(max(v(temp),{_g(p.T_min)}),{_g(p.T_max)})"
        lines += [
            "* thermal node: 1 V = 1 K",
            f"Vamb amb 0 DC {_g(ambient)}",
            f"Cth temp 0 {_g(p.C_th)} IC={_g(ambient)}",
            f"Rth temp amb {_g(1.0 / p.S_e)}",
            "* Joule heating into the thermal node",
            "Bheat 0 temp I = v(node)*v(node)/v(rdev)",
            "* branch selector: +1 heating, -1 cooling (smooth sign of dT/dt)",
            f"Bdir dir 0 V = tanh(1e6*(v(node)*v(node)/v(rdev) - {_g(p.S_e)}*(v(temp)-{_g(ambient)})))",
            "* device resistance R = R_0 exp(Ea/kT) g + R_m (major loop), as a voltage",
            f"Brdev rdev 0 V = {_g(p.R_0)}*exp({_g(p.Ea_over_k)}/{tc})*(0.5+0.5*tanh({_g(p.beta)}*(v(dir)*"
            f"{_g(0.5 * p.w)}+{_g(p.T_c)}-{tc})))+{_g(p.R_m)}",
            "Bdev node 0 I = v(node)/v(rdev)",
        ]
        vectors = "v(node) v(temp)"
    else:
        raise ParameterError(f"device: expected PWLDeviceParams or VO2DeviceParams, got {type(device).__name__}")
    lines += [".control", "set wr_singlescale", f"tran {_g(step)} {_g(duration)} 0 {_g(step)} uic",
              f"wrdata {output} {vectors}", "quit 0", ".endc", ".end", ""]
    return "\n".join(lines)


def write_netlist(path: str | Path, device, **kw) -> Path:
    """Write :func:`netlist` to ``path`` (atomically); ``output`` defaults to ``<stem>.txt`` next to it."""
    path = Path(path)
    kw.setdefault("output", f"{path.stem}.txt")
    return atomic_write_text(path, netlist(device, **kw))


def ngspice_available() -> bool:
    """True when an ``ngspice`` binary is on the PATH."""
    return shutil.which("ngspice") is not None


def run_ngspice(device, *, timeout: float = 120.0, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Run the netlist in ``ngspice -b`` (subprocess); return (t [s], v(node) [V]) arrays."""
    if not ngspice_available():
        raise ParameterError("ngspice: binary not found on PATH (install it, e.g. apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="vo2neuro_spice_") as tmp:
        cir = Path(tmp) / "circuit.cir"
        write_netlist(cir, device, output="out.txt", **kw)
        proc = subprocess.run(["ngspice", "-b", cir.name], cwd=tmp, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"ngspice failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        data = np.loadtxt(Path(tmp) / "out.txt")
    return data[:, 0], data[:, 1]


def frequency_from_waveform(t: np.ndarray, v: np.ndarray, *, t_settle: float, level: float | None = None) -> float:
    """Frequency [Hz] from upward crossings of ``level`` (default mid-range) after ``t_settle`` [s], with linear
    interpolation of the crossing times; 0 with fewer than 3 crossings."""
    m = t >= t_settle
    tt, vv = t[m], v[m]
    lvl = 0.5 * (vv.max() + vv.min()) if level is None else level
    k = np.nonzero((vv[:-1] < lvl) & (vv[1:] >= lvl))[0]
    if k.size < 3:
        return 0.0
    tc = tt[k] + (lvl - vv[k]) * (tt[k + 1] - tt[k]) / (vv[k + 1] - vv[k])
    return float((tc.size - 1) / (tc[-1] - tc[0]))
