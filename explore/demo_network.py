"""Demo sections that need torch: the energy ledger against device size (VO2-x against CMOS and Loihi, with the
crossover size) and the digits BP-SNN for vo2 and vo2x (hardware-level inference, the comparison table and figures)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from vo2neuro._io import atomic_write_text
from vo2neuro._io import dumps as _dumps

import torch  # noqa: F401  (these sections need the torch extra; without it the demo skips them)

#: Zoo workloads of the energy-against-size section, and their model size.
ENERGY_SIZE_WORKLOADS = ("psdnet", "dpdnet")
ENERGY_SIZE_CONFIG = "paper"
#: Film and integration scenario of the VO2-x devices (``vo2neuro zoo energy --device-size ... --integration``).
ENERGY_SIZE_PRESET = "vo2x"
ENERGY_SIZE_INTEGRATION = "on-chip"
#: Log-spaced channel lengths (start [m], stop [m], count): with ``--quick`` and without.
ENERGY_SIZE_QUICK = (2e-6, 30e-9, 4)
ENERGY_SIZE_FULL = (2e-6, 20e-9, 8)


def energy_size_section(out: Path, *, quick: bool = False) -> dict[str, Any]:
    """Energy per inference of psdnet and dpdnet (paper config) on VO2-x devices against channel length, beside
    CMOS 45 nm (fp32, int8), the SNN recipe on CMOS and Loihi, with the crossover size of each.

    Runs the ledger's size study (:func:`vo2neuro.ml_zoo.energy.energy_size_study`, on-chip, log-spaced lengths
    :data:`ENERGY_SIZE_QUICK` with ``quick``, :data:`ENERGY_SIZE_FULL` otherwise) and draws ``energy_vs_size.png``
    with :func:`vo2neuro.ml_zoo.energy.plot_energy_size`. ``crossover_size_m[workload][target]`` is the channel
    length [m] where VO2-x costs what the target costs, None when the curves do not cross in the range.
    """
    from vo2neuro.circuits.scaling import log_lengths
    from vo2neuro.ml_zoo.energy import energy_size_study, plot_energy_size

    start, stop, n = ENERGY_SIZE_QUICK if quick else ENERGY_SIZE_FULL
    lengths = [float(x) for x in log_lengths(start, stop, n)]
    print(f"[demo] energy_size: {', '.join(ENERGY_SIZE_WORKLOADS)} on {ENERGY_SIZE_PRESET}, "
          f"{ENERGY_SIZE_INTEGRATION}, {n} sizes", file=sys.stderr, flush=True)
    study = energy_size_study(ENERGY_SIZE_WORKLOADS, lengths, config=ENERGY_SIZE_CONFIG, preset=ENERGY_SIZE_PRESET,
                              integration=ENERGY_SIZE_INTEGRATION)
    fig = out / "energy_vs_size.png"
    plot_energy_size(study, str(fig))
    models, targets, ref = study.reference.pivot()
    res = {
        "workloads": list(models), "config": ENERGY_SIZE_CONFIG, "targets": list(targets),
        "device": study.device(), "lengths_m": list(study.lengths),
        "energy_per_spike_j": [s.energy_per_spike_j for s in study.sizes],
        "energy_per_inference_j": {m: list(study.vo2_energy[m]) for m in models},
        "reference_energy_j": {m: {t: ref[(m, t)] for t in targets} for m in models},
        "crossover_size_m": {m: dict(study.crossovers[m]) for m in models},
        "figures": [str(fig)],
    }
    res["table_md"] = _energy_size_md(res)
    return res


def _size(length: float) -> str:
    return f"{length * 1e6:.3g} um" if length >= 1e-6 else f"{length * 1e9:.3g} nm"


def _energy_size_md(res: dict[str, Any]) -> str:
    """Crossover sizes per workload and target, with the target's energy and the VO2-x energy at both range ends."""
    d, L = res["device"], res["lengths_m"]
    head = ["workload", f"VO2-x at {_size(L[0])} [J]", f"VO2-x at {_size(L[-1])} [J]", *res["targets"]]
    lines = [f"## Energy per inference against device size (VO2-x {d['preset']}, {d['integration']['name']}, "
             f"{res['config']} config; {d['geometry_rule']})", "",
             "Crossover size: the channel length where VO2-x costs what the target costs (target energy in brackets).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in res["workloads"]:
        e = res["energy_per_inference_j"][m]
        cells = [m, f"{e[0]:.3e}", f"{e[-1]:.3e}"]
        for t in res["targets"]:
            x = res["crossover_size_m"][m][t]
            cells.append(("none in range" if x is None else _size(x)) + f" ({res['reference_energy_j'][m][t]:.3e} J)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def network_section(out: Path, *, quick: bool = False) -> dict[str, Any]:
    """Train vo2 and vo2x networks on the bundled digits, run them at circuit level, compare."""
    from vo2neuro.explore.compare import compare_presets

    kw: dict[str, Any] = {"epochs": 6, "hidden": (128,)} if quick else {}
    res = compare_presets(("vo2", "vo2x"), dataset="digits", out=out / "snn", n_images=60 if quick else 200,
                          d2d_sigma=0.05, progress=False, **kw)
    figs = [str(_plot(res, out / "network_vo2_vs_vo2x.png"))]
    for name in ("vo2", "vo2x"):
        curve = out / "snn" / name / "training_curve.png"
        if curve.exists():
            figs.append(str(curve))
    atomic_write_text(out / "comparison.json", _dumps(res.to_dict()))
    return {"rows": res.rows, "figures": figs, "table_md": res.table_md()}


def _plot(res, path: Path) -> Path:
    from vo2neuro._plot import pyplot, save

    plt = pyplot()

    keys = [("hardware_accuracy", "accuracy [%]", 100), ("supply_v", "supply [V]", 1),
            ("energy_per_inference_j", "energy / inference [uJ]", 1e6), ("latency_s", "latency [us]", 1e6)]
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
    names = list(res.rows)
    for ax, (k, label, s) in zip(axes, keys):
        ax.bar(names, [res.rows[n][k] * s for n in names], color=["C0", "C1"][: len(names)])
        ax.set_title(label, fontsize=9)
    fig.suptitle("BP-SNN on digits at circuit level (5 % device-to-device spread)", fontsize=10)
    return save(fig, path, dpi=120)


SECTIONS = [("energy_size", energy_size_section), ("network", network_section)]
