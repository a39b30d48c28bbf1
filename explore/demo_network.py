"""Demo section: the digits BP-SNN for vo2 and vo2x, hardware-level inference, the comparison table and figures."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from vo2neuro._io import atomic_write_text
from vo2neuro._io import dumps as _dumps

import torch  # noqa: F401  (this section needs the torch extra; without it the demo skips it)


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


SECTIONS = [("network", network_section)]
