"""The energy ledger follows the device (issue 11): with ``--device-size`` the VO2-x energy per spike is that of the
simulated device of that channel length (``vo2neuro.circuits.scaling.scale_study``), and the ledger adds it by the
recipe E = E_spike x Spikes + E_syn x SynOps + E_MAC,fp32 x (MACs_first + MACs_rest) (ml_zoo_papers.md section 14).

Workload: tddpg_rec (paper config), whose counts are known by hand (tests/unit/ml_zoo/test_energy.py): at the
default 0.1 spikes/step x 8 steps every presynaptic neuron of the layers >= 2 fires 0.8 times.
"""
from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("torch")

from vo2neuro.circuits.scaling import scale_study  # noqa: E402
from vo2neuro.cli import main  # noqa: E402
from vo2neuro.device import get_parameters  # noqa: E402
from vo2neuro.device.geometry import Geometry  # noqa: E402
from vo2neuro.ml_zoo.energy import (  # noqa: E402
    crossover_size,
    energy_size_study,
    energy_table,
    vo2_targets_from_sizes,
)

# tddpg_rec paper counts by hand (actor 2000x100 on the analog state; critic 2000x100, 100x100, 100x1; scoring
# 50 candidates x 100 as a functional matmul)
FIRST_MACS, REST_MACS = 2000 * 100, 50 * 100
SPIKES = 0.8 * (2000 + 100 + 100)
SYNOPS = 0.8 * (2000 * 100 + 100 * 100 + 100)
E_MAC_FP32, E_ADD_FP32 = 4.6e-12, 0.9e-12  # Horowitz ISSCC 2014, 45 nm


def _scale_study_energy(length: float, thickness: float, integration: str = "on-chip") -> float:
    """Energy per spike of vo2x (the pristine vo2 film at vo2x's vacancy level, 300 K) at a square channel."""
    g = Geometry(length=length, width=length, thickness=thickness, substrate="sapphire")
    rec = scale_study([g], base="vo2", delta=get_parameters("vo2x").delta, ambient=300.0, integration=integration)
    return rec[0].energy_per_spike_j


def test_energy_per_spike_is_the_scale_study_and_the_ledger_adds_it_by_hand():
    (sized,) = vo2_targets_from_sizes([200e-9], preset="vo2x", integration="on-chip")
    e_spike = _scale_study_energy(200e-9, 100e-9)
    assert math.isfinite(e_spike) and e_spike > 0
    assert sized.target.energy_per_spike_j == e_spike
    assert sized.record.thickness_m == 100e-9 and sized.record.width_m == 200e-9
    total = energy_table(["tddpg_rec"], targets=[sized.target]).rows[0].energy_j
    by_hand = SPIKES * e_spike + SYNOPS * E_ADD_FP32 + (FIRST_MACS + REST_MACS) * E_MAC_FP32
    assert total == pytest.approx(by_hand, rel=1e-12)


def test_cli_single_size_carries_the_device(capsys):
    rc = main(["zoo", "energy", "tddpg_rec", "--device-size", "50n", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    dev = out["device"]
    e_spike = _scale_study_energy(50e-9, 50e-9)  # thickness min(100 nm, L)
    assert dev["energy_per_spike_j"] == pytest.approx(e_spike, rel=1e-12)
    assert dev["preset"] == "vo2x" and dev["delta"] == pytest.approx(0.01)
    geo = dev["geometry"]
    assert geo["length_m"] == geo["width_m"] == geo["thickness_m"] == pytest.approx(50e-9, rel=1e-12)
    assert dev["integration"]["name"] == "on-chip"
    cap = dev["node_capacitance"]
    assert cap["parasitic_f"] == pytest.approx(3e-15)
    assert cap["total_f"] == pytest.approx(cap["device_f"] + cap["parasitic_f"] + cap["integration_f"])
    assert "simulated" in dev["energy_per_spike_source"] and "L=5e-08 m" in dev["energy_per_spike_source"]
    vo2 = next(r for r in out["rows"] if r["target"] == "vo2x")
    assert vo2["energy_j"] == pytest.approx(SPIKES * e_spike + SYNOPS * E_ADD_FP32
                                            + (FIRST_MACS + REST_MACS) * E_MAC_FP32, rel=1e-12)


def test_energy_per_inference_falls_with_device_size_on_chip():
    lengths = [1e-6, 300e-9, 100e-9, 30e-9]
    study = energy_size_study(["tddpg_rec"], lengths, integration="on-chip")
    e = study.vo2_energy["tddpg_rec"]
    assert all(math.isfinite(x) for x in e)
    assert all(a > b for a, b in zip(e, e[1:])), e
    # the VO2-x ledger is the SNN-on-CMOS recipe plus the neurons' spikes: never below it
    snn = next(r.energy_j for r in study.reference.rows if r.target == "snn_cmos45_fp32")
    for s, x in zip(study.sizes, e):
        assert x - snn == pytest.approx(SPIKES * s.record.energy_per_spike_j, rel=1e-9)
    assert study.crossovers["tddpg_rec"]["snn_cmos45_fp32"] is None
    md = study.to_markdown()
    assert "none in range" in md and "tddpg_rec" in md


def test_crossover_is_bracketed_and_straddled(tmp_path, capsys):
    png = tmp_path / "size.png"
    rc = main(["zoo", "energy", "tddpg_rec", "--device-size", "2u:60n:4", "--json", "--plot", str(png)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 0
    lengths = [s["geometry"]["length_m"] for s in out["sizes"]]
    e = [s["energy_per_inference_j"]["tddpg_rec"] for s in out["sizes"]]
    ref = {r["target"]: r["energy_j"] for r in out["reference_rows"]}
    cross = out["crossover_size_m"]["tddpg_rec"]
    assert cross["cmos45_fp32"] is not None and cross["loihi"] is not None
    for target in ("cmos45_fp32", "loihi"):
        x = cross[target]
        (i,) = [k for k in range(len(lengths) - 1) if lengths[k + 1] < x < lengths[k]]
        assert (e[i] - ref[target]) * (e[i + 1] - ref[target]) < 0
    # below the SNN-on-CMOS recipe (and int8 CMOS, lower still) VO2-x never goes: no crossover
    assert cross["snn_cmos45_fp32"] is None and cross["cmos45_int8"] is None


def test_crossover_interpolation_is_exact_for_a_power_law():
    lengths = [1e-6, 1e-7, 1e-8]
    energies = [2.0 * (L / 1e-6) ** 2.5 for L in lengths]
    x_true = 3e-7
    ref = 2.0 * (x_true / 1e-6) ** 2.5
    assert crossover_size(lengths, energies, ref) == pytest.approx(x_true, rel=1e-12)
    assert crossover_size(lengths[::-1], energies[::-1], ref) == pytest.approx(x_true, rel=1e-12)
    assert crossover_size(lengths, energies, 10.0) is None      # above every size
    assert crossover_size(lengths, energies, 1e-12) is None     # below every size
    assert crossover_size(lengths, [energies[0], math.nan, energies[2]], ref) == pytest.approx(x_true, rel=1e-12)
