"""``vo2neuro export``: a trained checkpoint as a NIR graph (:mod:`vo2neuro.snn.interop`).

``vo2neuro hw-eval --nir FILE`` (in :mod:`vo2neuro.cli.snn`) is the import side. nir and torch are imported only
when the command runs.
"""
from __future__ import annotations

import sys

from vo2neuro.cli._util import choice_type, emit, in_file, int_type, out_file, si_type
from vo2neuro.units import ParameterError

__all__ = ["register", "cmd_export", "add_nir_args", "check_nir_args", "cmd_hw_eval_nir"]

_DATASETS = ("digits", "mnist")
#: Options of ``hw-eval`` that only apply with ``--nir`` (attribute, option).
_NIR_ONLY = (("dataset", "--dataset"), ("steps", "--steps"), ("nir_dt", "--nir-dt"))
#: Options of ``hw-eval`` that do not apply with ``--nir`` (attribute, option).
_CHECKPOINT_ONLY = (("device_size", "--device-size"), ("integration", "--integration"))


def register(subparsers):
    """Add ``export`` to ``subparsers``."""
    p = subparsers.add_parser(
        "export", help="write a trained network as a NIR graph (Neuromorphic Intermediate Representation)",
        description="Write the checkpoint of `vo2neuro train` as a NIR graph (Affine + LIF per layer) readable by "
                    "snntorch, Norse and other NIR tools. Each VO2 neuron becomes the LIF that best matches it (fit "
                    "error in the graph metadata); the full device description goes in the metadata, so "
                    "`vo2neuro hw-eval --nir` re-imports it exactly.")
    p.add_argument("--checkpoint", required=True, type=in_file("checkpoint"),
                   help="checkpoint written by `vo2neuro train` (required)")
    p.add_argument("-o", "--output", required=True, type=out_file("output", suffixes=(".nir",)),
                   help="NIR file to write (.nir, HDF5; required)")
    p.add_argument("--nir-dt", type=si_type("nir-dt", "s", positive=True), default=None,
                   help="step a NIR consumer runs the graph with [s]; one step is one network step of the VO2 "
                        "network (default 100u, snntorch's)")
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line)")
    p.set_defaults(func=cmd_export)
    return p


def cmd_export(args) -> int:
    """Handler of ``vo2neuro export``."""
    from vo2neuro.snn.interop import NIR_DT, write_checkpoint_nir

    res = write_checkpoint_nir(args.checkpoint, args.output, dt_nir=NIR_DT if args.nir_dt is None else args.nir_dt)
    print(f"wrote {args.output}", file=sys.stderr)
    fits = "; ".join(f"{k} beta {f['beta']:.3g} rms count error {f['rms_count_error']:.3g}"
                     for k, f in res["lif_fit"].items())
    emit(args, res, lambda: f"{res['output']}  sizes {res['sizes']}  LIF fit ({res['window_steps']}-step window): "
                            f"{fits}; agreement with the VO2 network on training images "
                            f"{res['lif_train_agreement']:.3f}")
    return 0


def add_nir_args(h, group) -> None:
    """Add ``--nir FILE`` (to the mutually exclusive ``group`` of ``--checkpoint``), ``--dataset``, ``--steps`` and
    ``--nir-dt`` to the ``hw-eval`` parser ``h``."""
    group.add_argument("--nir", type=in_file("nir"), default=None,
                       help="NIR graph (from snntorch, Norse, `vo2neuro export`, ...) to run on VO2-x circuit "
                            "neurons instead of a checkpoint: each LIF/CubaLIF/IF population is mapped onto the "
                            "circuit neuron of the device (default vo2x; a vo2neuro graph: its own device, exactly)")
    h.add_argument("--dataset", type=choice_type("dataset", _DATASETS), default=None,
                   help="test images for --nir (required there) or --zoo: digits or mnist (default digits with "
                        "--zoo)")
    h.add_argument("--steps", type=int_type("steps", minimum=1, maximum=100000), default=None,
                   help="time steps per image, with --nir (default: the graph's record, else 25) or --zoo "
                        "(default 32) [-]")
    h.add_argument("--nir-dt", type=si_type("nir-dt", "s", positive=True), default=None,
                   help="step the NIR graph is run with, with --nir [s] (default: the graph's record, else 100u, "
                        "snntorch's)")


def check_nir_args(args) -> bool:
    """True when ``hw-eval`` runs a NIR graph; ParameterError for options of the other mode."""
    if getattr(args, "nir", None) is None:
        for attr, opt in _NIR_ONLY:
            if getattr(args, attr, None) is not None:
                raise ParameterError(f"{opt.lstrip('-')}: only used with --nir (a checkpoint records its own) [-]")
        return False
    for attr, opt in _CHECKPOINT_ONLY:
        if getattr(args, attr, None) is not None:
            raise ParameterError(f"{opt.lstrip('-')}: not supported with --nir (give --preset or --params) [-]")
    if args.dataset is None:
        raise ParameterError("dataset: give --dataset digits|mnist with --nir (the test images to run) [-]")
    return True


def cmd_hw_eval_nir(args) -> int:
    """``vo2neuro hw-eval --nir FILE``: the NIR network on VO2-x circuit neurons."""
    from vo2neuro.cli._util import select_device
    from vo2neuro.snn.interop import nir_hw_eval

    if args.preset is None and args.params is None and args.delta is not None:
        raise ParameterError("delta: give --preset or --params with --delta [-]")
    device = None if args.preset is None and args.params is None else select_device(args)
    res = nir_hw_eval(args.nir, dataset=args.dataset, n_images=args.n_images, steps=args.steps, dt=args.nir_dt,
                      device=device, d2d_sigma=args.d2d_sigma, c2c_sigma=args.c2c_sigma, seed=args.seed,
                      dt_circuit=args.dt, data_dir=args.data_dir, progress=not args.quiet)
    if not args.quiet:
        how = ("exactly (a vo2neuro graph)" if res.exact else
               f"mapped onto {res.preset} circuit neurons, {res.dilation} VO2 steps per NIR step")
        print(f"hw-eval: {args.nir} run {how}", file=sys.stderr)
    emit(args, res.to_dict())
    return 0
