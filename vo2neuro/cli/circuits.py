"""Command line of the circuit layer: ``vo2neuro neuron simulate|transfer|netlist``.

Device: ``--preset NAME [--delta X]`` / ``--params FILE`` (electro-thermal) or ``--model pwl --r-off R --r-on R
--v-th V --v-h V``. Circuit: ``--v-in V --r-load R`` (Pearson-Anson) or ``--i-in A [--r-load R]`` (current
drive; ``--r-load`` is then the source's parallel resistance, default ideal), ``--capacitance C``.
"""
from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from vo2neuro.cli._util import (add_device_args, emit, int_type, out_file, resolve_device, select_device, si_type,
                                write_table)
from vo2neuro.units import ParameterError, parse_count, parse_si

__all__ = ["register"]

_MODELS = ("electrothermal", "pwl")
_NETLIST_SUFFIXES = (".cir", ".sp", ".spice", ".net")


def _device(args: argparse.Namespace):
    if args.model == "pwl":
        from vo2neuro.circuits import PWLDeviceParams

        missing = [n for n in ("r_off", "r_on", "v_th", "v_h") if getattr(args, n) is None]
        if missing:
            raise ParameterError(f"--model pwl needs --{' --'.join(m.replace('_', '-') for m in missing)} "
                                 "[Ohm, Ohm, V, V]")
        if args.preset or args.params:
            raise ParameterError("model: --preset/--params select the electro-thermal model; not with --model pwl")
        return PWLDeviceParams(r_off=args.r_off, r_on=args.r_on, v_th=args.v_th, v_h=args.v_h)
    pwl_only = [n for n in ("r_off", "r_on", "v_th", "v_h") if getattr(args, n) is not None]
    if pwl_only:
        raise ParameterError(f"model: --{' --'.join(n.replace('_', '-') for n in pwl_only)} set the PWL switch; add "
                             "--model pwl (the electro-thermal device takes its thresholds from the physics) [-]")
    return resolve_device(args)


def _ambient(args: argparse.Namespace, dev) -> float:
    """``--ambient``, else the device's (device.select: parameter file, preset), else room temperature (PWL)."""
    from vo2neuro.device.select import ROOM_TEMPERATURE_K

    amb = args.ambient
    if amb is None:
        amb = select_device(args).ambient_k if args.preset or args.params else ROOM_TEMPERATURE_K
    if not isinstance(dev, tuple) and hasattr(dev, "T_max") and not dev.T_min <= amb < dev.T_max:
        # the kernels and the netlist clamp R(T) to this range: outside it the results would be silently wrong
        raise ParameterError(f"ambient must lie in [T_min, T_max) = [{dev.T_min:g}, {dev.T_max:g}) K of "
                             f"{dev.name} [K], got {amb:g}")
    return amb


def _circuit(args: argparse.Namespace, sweep: str | None = None) -> dict:
    """drive, source, r_load from the arguments (the swept quantity may stand in for its flag)."""
    if args.v_in is not None and args.i_in is not None:
        raise ParameterError("v_in / i_in: give --v-in (voltage drive) or --i-in (current drive), not both [V or A]")
    if args.v_in is None and args.i_in is None and sweep not in ("v_in", "i_in"):
        raise ParameterError("v_in / i_in: give --v-in V --r-load R or --i-in A [V or A]")
    voltage = args.v_in is not None or sweep == "v_in"
    if voltage and args.r_load is None and sweep != "r_load":
        raise ParameterError("r_load: --v-in needs --r-load [Ohm]")
    r_load = args.r_load if args.r_load is not None else (1.0 if voltage else math.inf)
    if voltage:
        return {"drive": "voltage", "v_in": args.v_in if args.v_in is not None else 1.0, "r_load": r_load}
    return {"drive": "current", "i_in": args.i_in if args.i_in is not None else 0.0, "r_load": r_load}


def _simulate(args: argparse.Namespace) -> int:
    from vo2neuro.circuits import Variability, auto_duration, simulate
    from vo2neuro.circuits.plotting import plot_traces

    dev = _device(args)
    c = _circuit(args)
    amb = _ambient(args, dev)
    src = c.get("v_in", c.get("i_in"))
    duration = args.duration or auto_duration(dev, drive=c["drive"], source=src, r_load=c["r_load"],
                                              capacitance=args.capacitance, ambient=amb)
    res = simulate(dev, **c, capacitance=args.capacitance, ambient=amb, duration=duration, dt=args.dt,
                   variability=Variability(seed=args.seed), record=[0] if args.plot else None,
                   record_every=_decimation(dev, c, args, duration) if args.plot else 1, progress=True)
    rec = res.neuron(0)
    emit(args, rec)
    if args.plot:
        print(f"wrote {plot_traces(res, args.plot)}", file=sys.stderr)
    return 0


def _decimation(dev, c, args, duration: float) -> int:
    """Trace decimation [steps] that keeps ~20000 samples per plotted trace."""
    from vo2neuro.circuits import default_dt

    dt = args.dt or default_dt(dev, capacitance=args.capacitance, r_load=c["r_load"])
    return max(1, int(duration / dt / 20000))


def _sweep_type(text: str) -> tuple[str, np.ndarray]:
    """argparse ``type=`` of ``--sweep``: checked at parse time, before any work."""
    try:
        return _parse_sweep(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parse_sweep(text: str) -> tuple[str, np.ndarray]:
    from vo2neuro.circuits import SWEEPS

    try:
        name, rng = text.split("=", 1)
        start, stop, num = rng.split(":")
    except ValueError:
        raise ParameterError(f"sweep: expected NAME=START:STOP:NUM, got {text!r}") from None
    name = name.strip()
    if name not in SWEEPS:
        raise ParameterError(f"sweep: unknown quantity {name!r}; valid: {', '.join(SWEEPS)}")
    unit = SWEEPS[name]
    a, b = parse_si(start, name=name, unit=unit), parse_si(stop, name=name, unit=unit)
    n = parse_count(num, name="sweep NUM", minimum=1, maximum=100_000)
    if a <= 0 or b <= 0 or not (math.isfinite(a) and math.isfinite(b)):
        raise ParameterError(f"sweep: START and STOP must be finite and > 0 [{unit}], got {start!r}:{stop!r}")
    return name, np.linspace(a, b, int(n))


def _transfer(args: argparse.Namespace) -> int:
    from vo2neuro.circuits import transfer_curve
    from vo2neuro.circuits.plotting import plot_transfer

    dev = _device(args)
    name, values = args.sweep
    given = {"v_in": args.v_in, "i_in": args.i_in}
    for a, b in (("v_in", "i_in"), ("i_in", "v_in")):
        if name == a and given[b] is not None:
            raise ParameterError(f"sweep: {a} cannot be swept with --{b.replace('_', '-')} (the "
                                 f"{'current' if b == 'i_in' else 'voltage'} drive) [{'V' if a == 'v_in' else 'A'}]")
    c = _circuit(args, sweep=name)
    drive = c.pop("drive")
    if name == "v_in" and drive != "voltage" or name == "i_in" and drive != "current":
        raise ParameterError(f"sweep: {name} cannot be swept with the {drive} drive")
    curve = transfer_curve(dev, parameter=name, values=values, drive=drive, capacitance=args.capacitance,
                           ambient=_ambient(args, dev), duration=args.duration, dt=args.dt, progress=True, **c)
    emit(args, curve)
    write_table(args.csv, curve, [f"transfer curve f({name}) of the {curve.model} device, {drive} drive; vo2neuro",
                                  f"{name} [{curve.unit}], frequency [Hz], energies [J]"])
    if args.plot:
        print(f"wrote {plot_transfer([curve], args.plot)}", file=sys.stderr)
    return 0


def _netlist(args: argparse.Namespace) -> int:
    from vo2neuro.circuits import auto_duration
    from vo2neuro.circuits.netlist import write_netlist

    dev = _device(args)
    c = _circuit(args)
    src = c.get("v_in", c.get("i_in"))
    amb = _ambient(args, dev)
    duration = args.duration or auto_duration(dev, drive=c["drive"], source=src, r_load=c["r_load"],
                                              capacitance=args.capacitance, ambient=amb)
    path = write_netlist(args.output, dev, drive=c["drive"], source=src, r_load=c["r_load"],
                         capacitance=args.capacitance, ambient=amb, duration=duration, max_step=args.dt)
    print(f"wrote {path}", file=sys.stderr)
    if args.json:
        from vo2neuro._io import dumps

        print(dumps({"netlist": str(path), "drive": c["drive"], "duration_s": duration}))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    add_device_args(p, ambient=True)
    p.add_argument("--model", default="electrothermal", choices=_MODELS, help="device model (default "
                   "electrothermal; pwl needs --r-off --r-on --v-th --v-h)")
    p.add_argument("--r-off", type=si_type("r_off", "Ohm", positive=True), help="PWL insulating resistance [Ohm]")
    p.add_argument("--r-on", type=si_type("r_on", "Ohm", positive=True), help="PWL metallic resistance [Ohm]")
    p.add_argument("--v-th", type=si_type("v_th", "V", positive=True), help="PWL threshold voltage [V]")
    p.add_argument("--v-h", type=si_type("v_h", "V", nonneg=True), help="PWL hold voltage [V]")
    p.add_argument("--v-in", type=si_type("v_in", "V", positive=True), help="source voltage (Pearson-Anson) [V]")
    p.add_argument("--i-in", type=si_type("i_in", "A", positive=True), help="source current (current drive) [A]")
    p.add_argument("--r-load", type=si_type("r_load", "Ohm", positive=True),
                   help="load resistor [Ohm] (current drive: parallel output resistance, default ideal)")
    p.add_argument("--capacitance", type=si_type("capacitance", "F", positive=True), required=True,
                   help="node capacitance [F], e.g. 145.35p")
    p.add_argument("--duration", type=si_type("duration", "s", positive=True), default=None,
                   help="simulated time [s] (default: from the circuit time constants)")
    p.add_argument("--dt", type=si_type("dt", "s", positive=True), default=None,
                   help="time step [s] (default: 0.02 x the fastest circuit time constant)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``neuron`` group to the top-level subcommands."""
    grp = sub.add_parser("neuron", help="VO2 oscillator neurons: simulate, transfer curves, ngspice netlists")
    nsub = grp.add_subparsers(dest="neuron_cmd", required=True, metavar="{simulate,transfer,netlist}")

    s = nsub.add_parser("simulate", help="simulate one Pearson-Anson oscillator or current-driven neuron")
    _common(s)
    s.add_argument("--seed", type=int_type("seed"), default=0, help="seed of the noise streams (default 0)")
    s.add_argument("--plot", metavar="FILE.png", type=out_file("plot", suffixes=(".png",)),
                   help="write a PNG of V, I and T versus time")
    s.set_defaults(func=_simulate)

    t = nsub.add_parser("transfer", help="frequency versus v_in, r_load, i_in or capacitance (one batched run)")
    _common(t)
    t.add_argument("--sweep", required=True, metavar="NAME=START:STOP:NUM", type=_sweep_type,
                   help="swept quantity: v_in, r_load, i_in or capacitance, e.g. v_in=10:16:25 (NUM <= 100k)")
    t.add_argument("--plot", metavar="FILE.png", type=out_file("plot", suffixes=(".png",)),
                   help="write a PNG of the transfer curve")
    t.add_argument("--csv", metavar="FILE.csv", type=out_file("csv", suffixes=(".csv",)),
                   help="write the curve as CSV")
    t.set_defaults(func=_transfer)

    n = nsub.add_parser("netlist", help="write an ngspice netlist of the circuit")
    _common(n)
    n.add_argument("-o", "--output", required=True, metavar="FILE.cir",
                   type=out_file("output", suffixes=_NETLIST_SUFFIXES), help="netlist file to write")
    n.set_defaults(func=_netlist)
