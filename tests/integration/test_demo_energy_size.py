"""The demo's energy-against-size section (``vo2neuro demo --quick``): psdnet and dpdnet (paper config) on VO2-x
devices of 4 log-spaced channel lengths from 2 um to 30 nm, on a chip, against CMOS 45 nm, SNN on CMOS and Loihi,
with the crossover sizes (issue 11, "Done when").

References independent of the section's own bookkeeping:
* the sizes are ``numpy.geomspace(2 um, 30 nm, 4)``;
* the target energies and the VO2-x energy at each size are recomputed here from the workload counts with the
  ledger's recipe and the published constants (Horowitz ISSCC 2014, 45 nm: fp32 MAC 3.7 + 0.9 = 4.6 pJ, add
  0.9 pJ; Loihi 23.6 pJ per synaptic operation, Davies et al. IEEE Micro 2018; 0.9 pJ per VO2 synaptic event);
* each crossover size lies between the two neighbouring sizes whose VO2-x energies straddle the target's energy,
  found here from the returned per-size energies, and equals the log-log interpolation between them;
* SNN on CMOS is never straddled in this range, so its crossover is null in summary.json;
* the figure decodes as an image (matplotlib.image.imread).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")

import matplotlib.image as mpimg  # noqa: E402

from vo2neuro._io import dumps  # noqa: E402
from vo2neuro.explore.demo import _markdown  # noqa: E402
from vo2neuro.explore.demo_network import energy_size_section  # noqa: E402
from vo2neuro.ml_zoo.energy import workload  # noqa: E402

WORKLOADS = ("psdnet", "dpdnet")
E_MAC_FP32 = 4.6e-12  # Horowitz 2014, 45 nm: 3.7 pJ multiply + 0.9 pJ add
E_ADD_FP32 = 0.9e-12  # Horowitz 2014, 45 nm fp32 add (the SNN recipe's accumulate)
E_SYNOP_LOIHI = 23.6e-12  # Davies et al. 2018
E_SYN_VO2 = 0.9e-12  # the ledger's default VO2 synaptic event


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_energy_size")
    return out, energy_size_section(out, quick=True)


def _bracket(lengths, energies, ref):
    """Index k of the first pair (largest sizes first) with energies straddling ``ref``, or None."""
    for k in range(len(lengths) - 1):
        if (energies[k] - ref) * (energies[k + 1] - ref) <= 0:
            return k
    return None


def test_sizes_and_workloads(section):
    _, sec = section
    assert sec["lengths_m"] == pytest.approx(list(np.geomspace(2e-6, 30e-9, 4)), rel=1e-12)
    assert sec["workloads"] == list(WORKLOADS)
    assert sec["config"] == "paper"
    assert sec["device"]["integration"]["name"] == "on-chip"
    assert set(sec["targets"]) >= {"cmos45_fp32", "snn_cmos45_fp32", "loihi"}


def test_energies_follow_the_recipe_from_the_workload_counts(section):
    _, sec = section
    for m in WORKLOADS:
        w = workload(m, "paper")
        host = E_MAC_FP32 * (w.first_layer_macs + w.rest_macs)
        ref = sec["reference_energy_j"][m]
        assert ref["cmos45_fp32"] == pytest.approx(E_MAC_FP32 * w.macs, rel=1e-9)
        assert ref["loihi"] == pytest.approx(E_SYNOP_LOIHI * w.synops + host, rel=1e-9)
        assert ref["snn_cmos45_fp32"] == pytest.approx(E_ADD_FP32 * w.synops + host, rel=1e-9)
        vo2 = sec["energy_per_inference_j"][m]
        for e, e_spike in zip(vo2, sec["energy_per_spike_j"], strict=True):
            assert math.isfinite(e_spike) and e_spike > 0
            assert e == pytest.approx(e_spike * w.spikes + E_SYN_VO2 * w.synops + host, rel=1e-9)
        # a smaller device costs less per inference (issue 11)
        assert all(a > b for a, b in zip(vo2, vo2[1:])), (m, vo2)


@pytest.mark.parametrize("target", ["cmos45_fp32", "loihi"])
def test_crossover_lies_between_the_straddling_sizes(section, target):
    _, sec = section
    L = sec["lengths_m"]
    for m in WORKLOADS:
        e = sec["energy_per_inference_j"][m]
        ref = sec["reference_energy_j"][m][target]
        k = _bracket(L, e, ref)
        assert k is not None, (m, target, e, ref)
        x = sec["crossover_size_m"][m][target]
        assert x is not None
        assert min(L) < x < max(L)
        assert L[k + 1] <= x <= L[k], (m, target, x, L[k], L[k + 1])
        # log E is linear in log L between the bracketing sizes
        f = math.log(ref / e[k]) / math.log(e[k + 1] / e[k])
        assert x == pytest.approx(L[k] * (L[k + 1] / L[k]) ** f, rel=1e-9)


def test_snn_on_cmos_has_no_crossover_in_range(section):
    _, sec = section
    for m in WORKLOADS:
        e = sec["energy_per_inference_j"][m]
        ref = sec["reference_energy_j"][m]["snn_cmos45_fp32"]
        assert _bracket(sec["lengths_m"], e, ref) is None
        assert sec["crossover_size_m"][m]["snn_cmos45_fp32"] is None


def test_summary_json_has_null_and_summary_md_has_the_table(section):
    _, sec = section
    summary = json.loads(dumps({"skipped": [], "energy_size": sec}))
    cross = summary["energy_size"]["crossover_size_m"]
    for m in WORKLOADS:
        assert cross[m]["snn_cmos45_fp32"] is None
        assert cross[m]["loihi"] == pytest.approx(sec["crossover_size_m"][m]["loihi"], rel=1e-12)
    md = _markdown({"skipped": [], "energy_size": sec})
    rows = [line for line in md.splitlines() if line.startswith(("| psdnet", "| dpdnet"))]
    assert len(rows) == 2
    for line in rows:
        assert line.count("none in range") >= 1  # SNN on CMOS
        assert " nm (" in line  # the CMOS fp32 and Loihi crossovers, sub-micrometre


def test_figure_is_a_png_that_decodes(section):
    out, sec = section
    (fig,) = sec["figures"]
    assert fig == str(out / "energy_vs_size.png")
    img = mpimg.imread(fig)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(np.ptp(img[..., :3])) > 0  # not a blank canvas
