"""Command line of the device layer: ``vo2neuro presets``, ``vo2neuro device rt|iv|sweep``."""
from __future__ import annotations

import argparse
import sys

from vo2neuro.cli._util import (add_device_args, emit, int_type, out_file, resolve_device, select_device, si_type,
                                write_table)
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
    dsub = dev.add_subparsers(dest="device_cmd", required=True, metavar="{rt,iv,sweep}")

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
