"""Command line of the device layer: ``vo2neuro presets``, ``vo2neuro device rt|iv|sweep|scale``."""
from __future__ import annotations

import argparse
import sys

from vo2neuro.cli._util import (add_device_args, emit, int_type, integration_type, out_file, parse_length_range,
                                preset_type, resolve_device, select_device, si_type, value_type, write_table)
from vo2neuro._io import dumps
from vo2neuro.units import ParameterError

__all__ = ["register"]


def _presets(args: argparse.Namespace) -> int:
    from vo2neuro.citations import bibtex
    from vo2neuro.device import get_parameters, preset_info, preset_names

    rows = []
    for name in preset_names():
        info = preset_info(name)
        p = get_parameters(name)
        rows.append({"name": name, "description": info.description, "citation": info.citation,
                     "reference": " ".join(bibtex(info.citation).split()), "delta": p.delta,
                     "ambient_k": info.ambient_k})
    if args.json:
        print(dumps(rows))
    else:
        for r in rows:
            print(f"{r['name']:<10} {r['description']}  [{r['citation']}]")
    return 0


def _rt(args: argparse.Namespace) -> int:
    from vo2neuro.device import rt_loop

    params = resolve_device(args)
    turns = tuple(args.minor) if args.minor else ()
    loop = rt_loop(params, t_start=args.t_start, t_stop=args.t_stop, minor_turns=turns)
    return _report(args, loop, "plot_rt", [f"R-T loop of {params.name} (delta={params.delta:g}); vo2neuro",
                                           "branch: 1 heating, -1 cooling, 0 minor-loop path; T [K], R [Ohm], g [-]"])


def _iv(args: argparse.Namespace) -> int:
    from vo2neuro.device import static_iv

    params, ambient, _ = select_device(args)
    iv = static_iv(params, ambient=ambient)
    return _report(args, iv, "plot_iv", [f"steady-state I-V of {params.name} (delta={params.delta:g}) at "
                                         f"{iv.ambient_k:g} K; vo2neuro",
                                         "branch: 1 heating, -1 cooling; T [K], V [V], I [A]"])


def _sweep(args: argparse.Namespace) -> int:
    from vo2neuro.circuits.simulate import DEVICE_SWEEP_BYTES_PER_STEP, memory_budget_bytes
    from vo2neuro.device import voltage_sweep

    params, ambient, _ = select_device(args)
    need = float(args.steps) * DEVICE_SWEEP_BYTES_PER_STEP
    if need > memory_budget_bytes():
        raise ParameterError(f"steps: {args.steps:.3g} steps need ~{need / 2**30:.3g} GiB "
                             f"({DEVICE_SWEEP_BYTES_PER_STEP} B per step), more than the budget of "
                             f"{memory_budget_bytes() / 2**30:.3g} GiB; lower --steps [1]")
    sw = voltage_sweep(params, v_max=args.v_max, r_series=args.r_series, ambient=ambient,
                       sweep_time=args.sweep_time, n_steps=args.steps)
    return _report(args, sw, "plot_sweep", [f"transient voltage sweep of {params.name}; vo2neuro",
                                            "t [s], V_src [V], V_dev [V], I [A], T [K]"])


def _scale(args: argparse.Namespace) -> int:
    from vo2neuro.circuits.scaling import film_of, log_lengths, plot_scale, scale_study, sized_geometry

    base, delta, ambient = film_of(args.preset, delta=args.delta, ambient=args.ambient)
    start, stop, n = args.length
    geos = [sized_geometry(L, width=args.width, aspect=args.aspect, thickness=args.thickness,
                           substrate=args.substrate) for L in log_lengths(start, stop, n)]

    def progress(i: int, total: int) -> None:
        print(f"device scale: size {i}/{total}", file=sys.stderr)

    recs = scale_study(geos, base=base, delta=delta, ambient=ambient, integration=args.integration,
                       capacitor="auto" if args.capacitor is None else args.capacitor, progress=progress)
    if args.json:
        print(dumps({"preset": args.preset, "delta": delta, "ambient_k": ambient,
                     "integration": args.integration, "sizes": [r.to_dict() for r in recs]}))
    else:
        print(f"{'L [m]':>10} {'W [m]':>10} {'t [m]':>10} {'V_th [V]':>9} {'f_max [Hz]':>11} {'E/spike [J]':>11} "
              f"{'E_par [J]':>10} {'floor [J]':>10} {'tau_th [s]':>10} dominant")
        for r in recs:
            print(f"{r.length_m:10.3g} {r.width_m:10.3g} {r.thickness_m:10.3g} {r.v_th_v:9.3g} {r.f_max_hz:11.3g} "
                  f"{r.energy_per_spike_j:11.3g} {r.parasitic_energy_per_spike_j:10.3g} {r.thermal_floor_j:10.3g} "
                  f"{r.tau_th_s:10.3g} {r.dominant}")
    if args.plot:
        path = plot_scale(recs, args.plot, title=f"{args.preset} (delta={delta:g}), {args.integration}")
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace, record, plot: str, comments: list[str]) -> int:
    """Print the record, write its CSV table (``--csv``) and its figure (``--plot``, by ``device.plotting.<plot>``)."""
    emit(args, record)
    write_table(args.csv, record, comments)
    if args.plot:
        from vo2neuro.device import plotting

        print(f"wrote {getattr(plotting, plot)([record], args.plot)}", file=sys.stderr)
    return 0


def _outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png", type=out_file("plot", suffixes=(".png",)), help="write a PNG figure")
    p.add_argument("--csv", metavar="FILE.csv", type=out_file("csv", suffixes=(".csv",)),
                   help="write the curves as CSV")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``presets`` and ``device`` to the top-level subcommands."""
    p = sub.add_parser("presets", help="list the device parameter sets with their citations")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=_presets)

    dev = sub.add_parser("device", help="device characterisation (R-T loop, I-V, voltage sweep)")
    dsub = dev.add_subparsers(dest="device_cmd", required=True, metavar="{rt,iv,sweep,scale}")

    rt = dsub.add_parser("rt", help="resistance-temperature hysteresis loop (with minor loops)")
    add_device_args(rt)
    rt.add_argument("--t-start", type=si_type("t_start", "K", positive=True), default=280.0,
                    help="lowest temperature [K] (default 280)")
    rt.add_argument("--t-stop", type=si_type("t_stop", "K", positive=True), default=None,
                    help="highest temperature [K] (default: well into the metallic phase)")
    rt.add_argument("--minor", type=si_type("minor", "K", positive=True), nargs="+", metavar="T",
                    help="turning temperatures [K] of a minor-loop path, e.g. --minor 335 326")
    _outputs(rt)
    rt.set_defaults(func=_rt)

    iv = dsub.add_parser("iv", help="steady-state current-driven I-V, threshold and hold voltages")
    add_device_args(iv, ambient=True)
    _outputs(iv)
    iv.set_defaults(func=_iv)

    sw = dsub.add_parser("sweep", help="transient triangular voltage sweep through a series resistor")
    add_device_args(sw, ambient=True)
    sw.add_argument("--v-max", type=si_type("v_max", "V", positive=True), required=True, help="peak voltage [V]")
    sw.add_argument("--r-series", type=si_type("r_series", "Ohm", positive=True), default=5e3,
                    help="series resistor [Ohm] (default 5k)")
    sw.add_argument("--sweep-time", type=si_type("sweep_time", "s", positive=True), default=200e-6,
                    help="duration of the up-down sweep [s] (default 200u)")
    sw.add_argument("--steps", type=int_type("steps", minimum=100), default=200_000,
                    help="time steps (default 200k; the memory they need is checked before the run)")
    _outputs(sw)
    sw.set_defaults(func=_sweep)

    sc = dsub.add_parser("scale", help="threshold, frequency and energy per spike against device size")
    sc.add_argument("--preset", type=preset_type(), default="vo2x", help="film (see `vo2neuro presets`; default vo2x)")
    sc.add_argument("--delta", type=si_type("delta", "1", nonneg=True),
                    help="oxygen-vacancy level x of VO2-x [-] (replaces the preset's)")
    sc.add_argument("--ambient", type=si_type("ambient", "K", positive=True), default=None,
                    help="bath temperature [K] (default: the preset's)")
    sc.add_argument("--length", type=value_type("length", parse_length_range), default=(2e-6, 20e-9, 12),
                    metavar="START:STOP:N", help="channel lengths [m], log-spaced (default 2u:20n:12) or one length")
    wg = sc.add_mutually_exclusive_group()
    wg.add_argument("--width", type=si_type("width", "m", positive=True), default=None, help="channel width [m]")
    wg.add_argument("--aspect", type=si_type("aspect", "1", positive=True), default=1.0,
                    help="width / length [-] (default 1)")
    sc.add_argument("--thickness", type=si_type("thickness", "m", positive=True), default=None,
                    help="film thickness [m] (default min(100 nm, L))")
    sc.add_argument("--substrate", type=value_type("substrate", _substrate), default="sapphire",
                    help="substrate (default sapphire)")
    sc.add_argument("--integration", type=integration_type(), default="on-chip",
                    help="parasitic scenario: on-chip (a few fF) or probe-station (145 pF) (default on-chip)")
    sc.add_argument("--capacitor", type=si_type("capacitor", "F", nonneg=True), default=None,
                    help="deliberate integration capacitor [F] (default: the least that oscillates, per size)")
    sc.add_argument("--json", action="store_true", help="print the result as JSON")
    sc.add_argument("--plot", metavar="FILE.png", type=out_file("plot", suffixes=(".png",)),
                    help="write a log-log PNG figure")
    sc.set_defaults(func=_scale)


def _substrate(text: str) -> str:
    from vo2neuro.device.geometry import SUBSTRATES

    if text not in SUBSTRATES:
        raise ParameterError(f"substrate: unknown {text!r}; valid: {', '.join(sorted(SUBSTRATES))} [-]")
    return text
