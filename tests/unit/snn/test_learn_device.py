"""Gradient co-design: delta learned with the weights (vo2neuro.snn.learn_device).

What could go wrong and is checked: the energy term must pull delta towards the lower-energy films (the circuit's
energy per spike falls with delta, tests/unit/snn/test_device_map.py); runs must be deterministic and an
interrupted run must resume to the same result; the fine-tuned network must be an ordinary checkpoint at the learned
delta that runs at circuit level.
"""
import json

import pytest

from vo2neuro.snn import learn_device as ld
from vo2neuro.units import ParameterError

SMALL = dict(hidden=(32,), steps=10, epochs=2, finetune_epochs=0, progress=False, map_points=6)


def test_energy_term_pulls_delta_up_and_runs_are_deterministic(tmp_path):
    plain = ld.learn_device(out_dir=str(tmp_path / "a"), **SMALL)
    again = ld.learn_device(out_dir=str(tmp_path / "b"), **SMALL)
    frugal = ld.learn_device(out_dir=str(tmp_path / "c"), energy_weight=2.0, **SMALL)
    assert plain.delta == again.delta
    assert [r["train_loss"] for r in plain.trajectory] == [r["train_loss"] for r in again.trajectory]
    lo, hi = plain.delta_range
    start = 0.5 * (lo + hi)
    assert frugal.delta > start + 0.05 * (hi - lo)
    assert frugal.delta > plain.delta
    assert frugal.trajectory[-1]["energy_per_inference_j"] < plain.trajectory[-1]["energy_per_inference_j"]
    saved = json.loads((tmp_path / "c" / ld.LEARN_NAME).read_text())
    assert saved["delta"] == frugal.delta and saved["map"]["deltas"][-1] == pytest.approx(hi)
    # a run that reuses the saved map is the same run
    reused = ld.learn_device(out_dir=str(tmp_path / "d"), energy_weight=2.0,
                             map_file=str(tmp_path / "c" / ld.MAP_NAME), **SMALL)
    assert reused.delta == frugal.delta and reused.map == frugal.map


def test_map_file_is_checked(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"preset": "vo2", "ambient_k": 300.0, "deltas": [0, 0.01],
                                                 "values": {}}))
    with pytest.raises(ParameterError, match="map_file: .*not a neuron map"):
        ld.learn_device(out_dir=str(tmp_path / "o"), map_file=str(tmp_path / "m.json"), **SMALL)
    with pytest.raises(ParameterError, match="map_file: file not found"):
        ld.learn_device(out_dir=str(tmp_path / "o"), map_file=str(tmp_path / "none.json"), **SMALL)


def test_interrupted_joint_phase_resumes_to_the_same_result(tmp_path, monkeypatch):
    full = ld.learn_device(out_dir=str(tmp_path / "full"), energy_weight=1.0, **SMALL)
    real = ld.atomic_write
    calls = []

    def dying(path, write):
        out = real(path, write)
        if path.name == ld.JOINT_CHECKPOINT:
            calls.append(path)
        if calls and len(calls) == 1 and path.name == ld.JOINT_CHECKPOINT:
            raise KeyboardInterrupt  # killed right after the first epoch's checkpoint
        return out

    monkeypatch.setattr(ld, "atomic_write", dying)
    with pytest.raises(KeyboardInterrupt):
        ld.learn_device(out_dir=str(tmp_path / "cut"), energy_weight=1.0, **SMALL)
    monkeypatch.setattr(ld, "atomic_write", real)
    resumed = ld.learn_device(out_dir=str(tmp_path / "cut"), energy_weight=1.0, resume=True, **SMALL)
    assert resumed.delta == full.delta
    assert [r["train_loss"] for r in resumed.trajectory] == [r["train_loss"] for r in full.trajectory]
    with pytest.raises(ParameterError, match="different settings"):
        ld.learn_device(out_dir=str(tmp_path / "cut"), energy_weight=0.5, resume=True, **SMALL)


def test_finetuned_network_is_a_checkpoint_at_the_learned_delta(tmp_path):
    from vo2neuro.snn.checkpoint import load
    from vo2neuro.snn.hardware import hw_eval

    res = ld.learn_device(out_dir=str(tmp_path), **{**SMALL, "finetune_epochs": 1})
    ck = load(res.checkpoint)
    assert ck.config.delta == pytest.approx(res.delta, abs=1e-6)
    hw = hw_eval(res.checkpoint, n_images=12, progress=False)
    assert hw.n_images == 12 and 0.0 <= hw.accuracy <= 1.0 and hw.spikes_per_inference > 0


@pytest.mark.parametrize("kw, fragment", [
    ({"learn": ("r_load",)}, "learn: unknown device parameter r_load; valid: delta"),
    ({"energy_weight": -1.0}, "energy_weight must be a finite number >= 0"),
    ({"lr_delta": 0.0}, "lr_delta must be a finite number > 0"),
    ({"epochs": 0}, "epochs must be a whole number >= 1"),
    ({"finetune_epochs": -1}, "finetune_epochs must be a whole number >= 0"),
])
def test_bad_settings(kw, fragment):
    with pytest.raises(ParameterError, match=fragment):
        ld.LearnConfig(**kw)


def test_start_outside_the_oscillating_range(tmp_path):
    with pytest.raises(ParameterError, match=r"delta_init must be in \[0, 0.0"):
        ld.learn_device(out_dir=str(tmp_path), delta_init=0.029, **SMALL)


def test_pareto_position():
    pos = ld.pareto_position(0.012, [0.0, 0.005, 0.01, 0.015, 0.02], [0.01, 0.02])
    assert pos["nearest_pareto_delta"] == 0.01 and pos["distance_in_steps"] == pytest.approx(0.4)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("top", [0.9, 1.4])   # drives below the latch only; and reaching into it
def test_fast_sequence_equals_autograd_reference(top, compiled):
    import torch

    torch.manual_seed(3)
    m0 = 3.0
    x = (torch.rand(30, 5, 11, dtype=torch.float64) * top * m0).requires_grad_(True)
    leaves = {"tau": torch.tensor(0.9e-6, dtype=torch.float64), "dt": torch.tensor(0.8e-6, dtype=torch.float64),
              "t_ref": torch.tensor(1.7e-6, dtype=torch.float64), "u_h": torch.tensor(-0.7, dtype=torch.float64),
              "m": torch.tensor(m0, dtype=torch.float64)}
    for v in leaves.values():
        v.requires_grad_(True)
    w = torch.randn(30, 5, 11, dtype=torch.float64)
    names = ("tau", "dt", "u_h", "m")
    ref = ld.map_neuron_sequence(x, leaves)
    g_ref = torch.autograd.grad((ref * w).sum(), [x, *[leaves[n] for n in names]], allow_unused=True)
    fast = ld.fast_map_neuron_sequence(x, leaves, compiled=compiled)
    g_fast = torch.autograd.grad((fast * w).sum(), [x, *[leaves[n] for n in names]], allow_unused=True)
    assert torch.equal(ref, fast) and ref.sum() > 10
    for name, a, b in zip(("x", *names), g_ref, g_fast):
        a = torch.zeros(()) if a is None else a
        b = torch.zeros(()) if b is None else b
        assert torch.allclose(a.double(), b.double(), rtol=1e-9, atol=1e-9 * float(a.abs().max())), name
    if top > 1:
        assert float(g_ref[-1]) != 0.0   # the latch carries a gradient to m
