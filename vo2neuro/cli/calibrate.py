"""Command line of the calibration: ``vo2neuro calibrate --data FILE (--preset NAME | --params FILE) --fit A,B``.

Fits device (and node-capacitance, bath-temperature) parameters to measured R-T, I-V or oscillator-frequency data
(``vo2neuro.explore.calibrate``; hand-made CSV or the instruments' own files), prints the fitted values with
standard errors, the residuals and the RMS error in the data's own units, and writes a parameter file
(``-o FILE``) that every command reads with ``--params FILE`` (with the fitted bath temperature as its ambient).
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys

from vo2neuro.cli._util import emit, in_file, int_type, out_file, preset_type, select_device, si_type
from vo2neuro.units import ParameterError, parse_si

__all__ = ["register"]


def _parse_set(items: list[str] | None, base) -> dict[str, float]:
    """``NAME=VALUE`` pairs (engineering suffixes) that replace device fields before the fit."""
    units = base.units()
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"set: expected NAME=VALUE, got {item!r}")
        if name not in units or isinstance(getattr(base, name), (bool, str)):
            raise ParameterError(f"set: {name!r} is not a numeric device field; valid: "
                                 f"{', '.join(n for n in units if not isinstance(getattr(base, n), (bool, str)))}")
        out[name] = parse_si(text, name=name, unit=units[name])
    return out


def _calibrate(args: argparse.Namespace) -> int:
    from vo2neuro.explore.calibrate import FIT_PARAMETERS, calibrate, load_measurements, write_parameter_file

    base, ambient, _ = select_device(args)
    changes = _parse_set(args.set, base)
    if changes:
        base = dataclasses.replace(base, **changes)
    fit = [f.strip() for f in args.fit.split(",") if f.strip()]
    bad = [f for f in fit if f not in FIT_PARAMETERS]
    if bad or not fit:
        close = difflib.get_close_matches(bad[0], list(FIT_PARAMETERS), n=1) if bad else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(f"fit: {', '.join(bad) or 'nothing'} cannot be fitted{hint}; valid: "
                             f"{', '.join(FIT_PARAMETERS)}")
    kind, cols = load_measurements(args.data, series=args.series)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    res = calibrate(cols, base, fit=fit, kind=kind, ambient=ambient, capacitance=args.capacitance,
                    starts=args.starts, seed=args.seed, v_th=args.v_th, max_nfev=args.max_nfev,
                    max_voltage=args.max_voltage, log=log)
    if args.output:
        print(f"wrote {write_parameter_file(res, args.output)}", file=sys.stderr)

    def text() -> str:
        lines = [f"kind: {res.kind}  points: {res.points_used}  dof: {res.dof}  ambient: {res.ambient_k:.6g} K"]
        for n, v in res.values.items():
            lines.append(f"{n} = {v:.6g} +/- {res.stderr[n]:.2g} {res.units[n]}")
        if res.kind == "frequency":
            lines.append(f"capacitance (circuit) = {res.circuit['capacitance']:.6g} F")
        lines.append("residuals: " + " ".join(f"{r:+.4f}" for r in res.residuals))
        lines.append(f"rms error: {res.rms_error:.4g} {res.rms_error_unit}"
                     + (f" ({res.rms_percent:.2f} %)" if res.kind != "iv" else ""))
        return "\n".join(lines)

    emit(args, res, text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    p = sub.add_parser("calibrate", help="fit device/circuit parameters to measured R-T, I-V or frequency data")
    p.add_argument("--data", required=True, metavar="FILE", type=in_file("data"),
                   help="measurements: CSV with frequency_hz,v_in_v,r_load_ohm | T_K,R_ohm[,branch] | I_A,V_V, or an "
                        "instrument file (R-T table with a units row; Keithley CSV export)")
    p.add_argument("--series", help="fit only the rows whose `series` column equals this")
    p.add_argument("--preset", type=preset_type(), help="starting parameter set (see `vo2neuro presets`)")
    p.add_argument("--params", metavar="FILE", type=in_file("params"), help="starting JSON parameter file")
    p.add_argument("--fit", required=True, metavar="A,B,...",
                   help="parameters to fit: R_0, Ea_over_k, R_m, C_th, S_e, T_c, w, beta, gamma, capacitance, "
                        "ambient (the bath temperature)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="fix a device field before fitting, e.g. R_m=500 (repeatable)")
    p.add_argument("--ambient", type=si_type("ambient", "K", positive=True), default=None,
                   help="bath temperature of the measurement [K] (default: the parameter file's, else the preset's)")
    p.add_argument("--capacitance", type=si_type("capacitance", "F", positive=True), default=None,
                   help="node capacitance [F] (start value when fitted; frequency data)")
    p.add_argument("--max-voltage", type=si_type("max_voltage", "V", positive=True), default=None,
                   help="I-V data: fit only the up-sweep points at or below this voltage [V]")
    p.add_argument("--v-th", type=si_type("v_th", "V", positive=True), default=None,
                   help="published static threshold voltage [V]: anchors the start and adds one residual")
    p.add_argument("--starts", type=int_type("starts", minimum=1), default=4, help="number of starts (default 4)")
    p.add_argument("--seed", type=int_type("seed"), default=0, help="seed of the scattered starts (default 0)")
    p.add_argument("--max-nfev", type=int_type("max_nfev", minimum=1), default=60,
                   help="model evaluations per start (default 60)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.add_argument("-o", "--output", metavar="FILE.json", type=out_file("output", suffixes=(".json",)),
                   help="write the calibrated parameter file (JSON)")
    p.set_defaults(func=_calibrate, delta=None)
