"""``vo2neuro hw-eval --zoo NAME``: a zoo network converted onto VO2 device neurons, run at circuit level.

The options are added to the ``hw-eval`` parser of :mod:`vo2neuro.cli.snn`; the library is
:func:`vo2neuro.explore.zoo_hardware.zoo_hw_eval`. ``--record FILE`` writes the result's JSON record atomically
(the measured spikes that ``vo2neuro zoo energy --measured FILE`` reads).
"""
from __future__ import annotations

import sys

from vo2neuro._io import atomic_write_text, dumps
from vo2neuro.cli._util import choice_type, emit, int_type, out_dir, out_file
from vo2neuro.units import ParameterError

__all__ = ["add_zoo_args", "zoo_mode", "cmd_hw_eval_zoo", "ZOO_ONLY"]

_ZOO_CHOICES = ("dpdnet", "psdnet", "tddpg_rec")   # vo2neuro.explore.zoo_hardware.ZOO_HW_MODELS (tested)
_CONFIGS = ("paper", "small")
#: Options of ``hw-eval`` that only apply with ``--zoo`` (attribute, option).
ZOO_ONLY = (("epochs", "--epochs"), ("cache_dir", "--cache-dir"), ("vo2_devices", "--vo2-devices"),
            ("config", "--config"), ("record", "--record"))
#: Options of ``hw-eval`` that do not apply with ``--zoo`` (attribute, option).
_NOT_ZOO = (("params", "--params"), ("delta", "--delta"), ("device_size", "--device-size"),
            ("integration", "--integration"), ("nir_dt", "--nir-dt"))


def add_zoo_args(h, group) -> None:
    """Add ``--zoo NAME`` (to the mutually exclusive ``group`` of ``--checkpoint``) and its options to ``h``."""
    group.add_argument("--zoo", type=choice_type("zoo", _ZOO_CHOICES), default=None, metavar="NAME",
                       help="convert a zoo network onto VO2 device neurons and run every device as a circuit: "
                            "dpdnet, psdnet (classifiers, --dataset) or tddpg_rec (the recommender's actor, top-k "
                            "agreement with the ANN on synthetic states)")
    h.add_argument("--epochs", type=int_type("epochs", minimum=1), default=None,
                   help="with --zoo: ANN training epochs [-] (default 3 on mnist, 40 on digits)")
    h.add_argument("--cache-dir", type=out_dir("cache-dir"), default=None,
                   help="with --zoo: folder where the trained ANN is kept and reused (default: none, retrain)")
    h.add_argument("--vo2-devices", type=int_type("vo2-devices", minimum=1, maximum=64), default=None,
                   help="with --zoo: VO2 devices per converted neuron [-] (default: as many as give the IF "
                        "neuron's quantum, 3 for vo2x)")
    h.add_argument("--config", type=choice_type("config", _CONFIGS), default=None,
                   help="with --zoo tddpg_rec: actor size, paper or small (default paper)")
    h.add_argument("--record", type=out_file("record", suffixes=(".json",)), default=None,
                   help="with --zoo: also write the result as a JSON record (atomically) for `vo2neuro zoo energy "
                        "--measured`")


def zoo_mode(args) -> bool:
    """True when ``hw-eval`` runs a zoo network; ParameterError for zoo-only options in the other modes."""
    if getattr(args, "zoo", None) is None:
        for attr, opt in ZOO_ONLY:
            if getattr(args, attr, None) is not None:
                raise ParameterError(f"{opt.lstrip('-')}: only used with --zoo [-]")
        return False
    for attr, opt in _NOT_ZOO:
        if getattr(args, attr, None) is not None:
            raise ParameterError(f"{opt.lstrip('-')}: not supported with --zoo (the conversion uses a --preset's "
                                 "circuit neuron) [-]")
    if args.zoo == "tddpg_rec":
        for attr, opt in (("dataset", "--dataset"), ("epochs", "--epochs"), ("cache_dir", "--cache-dir"),
                          ("data_dir", "--data-dir")):
            if getattr(args, attr, None) is not None:
                raise ParameterError(f"{opt.lstrip('-')}: not used by tddpg_rec (its actor runs as initialised on "
                                     "synthetic states) [-]")
    elif args.config is not None:
        raise ParameterError("config: only used with --zoo tddpg_rec [-]")
    return True


def cmd_hw_eval_zoo(args) -> int:
    """``vo2neuro hw-eval --zoo NAME``."""
    from vo2neuro.explore.zoo_hardware import zoo_hw_eval

    res = zoo_hw_eval(args.zoo, dataset=args.dataset or "digits", n_images=args.n_images,
                      steps=args.steps if args.steps is not None else 32, preset=args.preset or "vo2x",
                      devices=args.vo2_devices, d2d_sigma=args.d2d_sigma, c2c_sigma=args.c2c_sigma, seed=args.seed,
                      dt_circuit=args.dt if args.dt is not None else 20e-9, epochs=args.epochs,
                      data_dir=args.data_dir, cache_dir=args.cache_dir, config=args.config or "paper",
                      progress=not args.quiet)
    record = res.to_dict()
    if args.record is not None:
        atomic_write_text(args.record, dumps(record) + "\n")
        if not args.quiet:
            print(f"hw-eval: wrote {args.record}", file=sys.stderr)
    emit(args, record, lambda: "\n".join(f"{k}: {v}" for k, v in record.items()))
    return 0

