"""Energy ledger against hand-computed recipes (Horowitz ISSCC 2014 constants; the SNN recipe of
``ml_zoo_papers.md`` §14 as in SpikingJelly's ``estimate_compute_energy``: (ACs*0.9 + MACs*4.6) pJ)."""
from __future__ import annotations

import csv
import io
import math

import pytest

torch = pytest.importorskip("torch")

from vo2neuro.ml_zoo import energy  # noqa: E402
from vo2neuro.ml_zoo.energy import (  # noqa: E402
    CMOSTarget,
    NeuromorphicTarget,
    SNNOnCMOSTarget,
    VO2Target,
    energy_table,
    workload,
)

# TDDPG paper config, counted by hand from the official layer sizes (d = 100, 20 items, 50 candidates):
ACTOR = 2000 * 100                    # first synaptic layer: actor.fc on the analog state
CRITIC_S, CRITIC_A, CRITIC_OUT = 2000 * 100, 100 * 100, 100
SCORING = 50 * 100                    # candidate dot products (functional matmul)


def test_tddpg_workload_by_hand():
    w = workload("tddpg_rec", firing_rate=0.25, timesteps=4)
    assert w.macs == ACTOR + CRITIC_S + CRITIC_A + CRITIC_OUT + SCORING
    assert w.first_layer_macs == ACTOR
    assert w.rest_macs == SCORING
    # 1 spike per presynaptic neuron: critic.state_proj (2000 in x 100), action_proj (100 x 100), out (100 x 1)
    assert w.spikes == pytest.approx(2000 + 100 + 100)
    assert w.synops == pytest.approx(CRITIC_S + CRITIC_A + CRITIC_OUT)


def test_targets_follow_the_recipes():
    w = workload("tddpg_rec", firing_rate=0.1, timesteps=8)
    assert CMOSTarget("fp32").energy(w) == pytest.approx(4.6e-12 * w.macs)
    assert CMOSTarget("int8").energy(w) == pytest.approx(0.23e-12 * w.macs)
    mem = CMOSTarget("fp32", memory="dram").energy(w) - CMOSTarget("fp32").energy(w)
    assert mem == pytest.approx(1.3e-9 * math.ceil(w.params * 32 / 64))   # whole 64-bit words
    snn = SNNOnCMOSTarget("fp32").energy(w)
    assert snn == pytest.approx((0.9 * 0.8 * (CRITIC_S + CRITIC_A + CRITIC_OUT) + 4.6 * (ACTOR + SCORING)) * 1e-12)
    assert NeuromorphicTarget(energy_per_synop_j=2e-12).energy(w) == pytest.approx(
        2e-12 * w.synops + 4.6e-12 * (ACTOR + SCORING))
    v = VO2Target(energy_per_spike_j=1e-9, energy_per_synaptic_event_j=0.0)
    assert v.energy(w) == pytest.approx(1e-9 * 0.8 * 2200 + 4.6e-12 * (ACTOR + SCORING))


def test_measured_spikes_replace_the_assumed_rate():
    w = workload("tddpg_rec", measured_spikes={"critic.out": 10.0})
    assert w.rate_source == "measured" and w.synops == pytest.approx(10.0) and w.spikes == 10.0


def test_table_text_lists_constants_sources_and_assumptions():
    t = energy_table(["tddpg_rec", "dpdnet"], config="small")
    assert len(t.rows) == 2 * 5
    md = t.to_markdown()
    assert "Horowitz, ISSCC 2014" in md and "Loihi" in md and "assumption" in md
    assert "spikes/neuron/step" in md
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert rows[0][:4] == ["model", "config", "target", "energy_j"]
    body = [r for r in rows[1:] if not r[0].startswith("#")]
    assert {r[2] for r in body} == {"cmos45_fp32", "cmos45_int8", "snn_cmos45_fp32", "loihi", "vo2x"}
    d = t.to_dict()
    assert {c["name"] for c in d["constants"]} >= {"fp32_mac", "fp32_add", "vo2x_spike", "vo2x_synaptic_event"}


def test_vo2_energy_is_linear_in_its_parameters():
    base = energy_table(["dpdnet"], config="small", targets=[VO2Target(energy_per_spike_j=0.0,
                                                                          energy_per_synaptic_event_j=0.0)])
    one = energy_table(["dpdnet"], config="small", targets=[VO2Target(energy_per_spike_j=1e-12,
                                                                         energy_per_synaptic_event_j=0.0)])
    w = base.workloads[0]
    assert one.rows[0].energy_j - base.rows[0].energy_j == pytest.approx(1e-12 * w.spikes)


def test_validation():
    with pytest.raises(ValueError, match=r"valid: \['fp16', 'fp32', 'int8'\]"):
        CMOSTarget("fp64")
    with pytest.raises(ValueError, match="J"):
        VO2Target(energy_per_spike_j=-1.0)
    with pytest.raises(ValueError):
        energy_table(["dpdnet"], measured_spikes={"cmal": {}})
    assert energy.HOROWITZ_45NM["fp32_mac"].value_j == 4.6e-12


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    t = energy_table(["tddpg_rec"], config="small")
    path = tmp_path / "e.png"
    energy.plot_energy_table(t, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
