"""Checkpoints: one checked path from a file to the network (vo2neuro.snn.checkpoint), used by hw-eval and resume;
stale temporary files; the circuit step bound; the memory estimate."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from vo2neuro.device import get_parameters
from vo2neuro.device.select import select
from vo2neuro.snn import checkpoint as ckpt
from vo2neuro.snn.hardware import check_circuit_dt, hw_eval, max_circuit_dt
from vo2neuro.snn.presets import circuit_neuron_for_preset
from vo2neuro.snn.train import TrainConfig, Trainer
from vo2neuro.units import ParameterError

N_IMAGES = 24


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny network trained for one epoch on a preset-derived neuron, and the trainer that holds it."""
    out = tmp_path_factory.mktemp("run")
    tr = Trainer(TrainConfig(dataset="digits", preset="vo2x", hidden=(16,), steps=5, epochs=1, seed=2,
                             out_dir=str(out), progress=False, threads=1))
    tr.fit()
    return tr


def _raw(trainer) -> dict:
    return torch.load(trainer.checkpoint_path, weights_only=True)


def _save(d, path):
    torch.save(d, path)
    return path


def test_load_returns_the_trained_network(trained):
    ck = ckpt.load(trained.checkpoint_path)
    assert ck.format_version == ckpt.FORMAT_VERSION == 2
    assert ck.config == trained.config and ck.neuron == trained.neuron
    assert ck.sizes == (64, 16, 40) and ck.n_classes == 10 and ck.epoch == 1
    # the device record is the full field dict of the preset's device at its bath temperature
    assert ck.device.params == get_parameters("vo2x") and ck.device.ambient_k == select("vo2x").ambient_k
    assert ck.device.source == "preset:vo2x"
    x = trained.x_test[:32]
    with torch.no_grad():
        ref = trained.model.eval()(x, steps=5)
        out = ck.model()(x, steps=5)
    assert torch.equal(out, ref)


def test_hw_eval_evaluates_exactly_the_file_given(trained, tmp_path):
    # a copy named best.pt in a folder without checkpoint.pt: hw-eval must read that file, not <folder>/checkpoint.pt
    best = tmp_path / "elsewhere" / "best.pt"
    best.parent.mkdir()
    shutil.copy(trained.checkpoint_path, best)
    assert not (best.parent / "checkpoint.pt").exists()
    ref = trained.evaluate(trained.x_test[:N_IMAGES], trained.y_test[:N_IMAGES])
    hw = hw_eval(best, n_images=N_IMAGES, progress=False)
    assert hw.software_accuracy == ref
    assert hw.checkpoint == str(best) and hw.device_source == "preset:vo2x" and not hw.device_override
    # a network with other weights (another seed) scores differently on these images: the check can fail
    other = Trainer(dataclasses.replace(trained.config, seed=5, out_dir=str(tmp_path / "o")))
    assert other.evaluate(other.x_test[:N_IMAGES], other.y_test[:N_IMAGES]) != ref


def test_hw_eval_on_another_device_rederives_the_neuron(trained):
    vo2 = circuit_neuron_for_preset("vo2")
    hw = hw_eval(trained.checkpoint_path, n_images=8, progress=False, device=select("vo2"))
    assert hw.device_override and hw.device_source == "preset:vo2" and hw.trained_device_source == "preset:vo2x"
    assert hw.network_dt_s == vo2.params.dt and hw.supply_v == vo2.supply_v
    assert hw.window_s == pytest.approx(5 * vo2.params.dt)
    # the software accuracy is still the trained network's
    assert hw.software_accuracy == trained.evaluate(trained.x_test[:8], trained.y_test[:8])


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["config"].update(hidden=[12]), "another architecture"),
    (lambda d: d["model"].update({"linears.1.weight": torch.zeros(40, 9)}), "takes 9 inputs"),
    (lambda d: d["config"].update(population=3), "not a multiple of the config's population 3"),
    (lambda d: d["model"].pop("linears.1.bias"), "model lacks linears.1.bias"),
    (lambda d: d["model"].update({"linears.2.weight": torch.zeros(3, 3)}), "model has 'linears.2.weight'"),
    (lambda d: d.pop("neuron"), "lacks key(s) 'neuron'"),
    (lambda d: d.update(extra=1), "unknown key(s) 'extra'"),
    (lambda d: d.update(format=7), "format version 7 is not supported"),
    (lambda d: d.pop("format"), "lacks the key 'format'"),
    (lambda d: d["neuron"].pop("i_max"), "neuron lacks i_max [A]"),
    (lambda d: d["config"].update(hiden=[16]), "config has unknown key(s) 'hiden' (did you mean 'hidden'?)"),
    (lambda d: d["config"].pop("steps"), "config lacks key(s) 'steps'"),
    (lambda d: d["device"]["params"].update(R_m=-1.0), "R_m must be > 0"),
    (lambda d: d.update(sizes=[64, 16, 41]), "'sizes'"),
])
def test_a_bad_checkpoint_is_one_line_naming_the_file(trained, tmp_path, edit, needle):
    d = _raw(trained)
    edit(d)
    path = _save(d, tmp_path / "bad.pt")
    with pytest.raises(ParameterError) as exc:
        ckpt.load(path)
    msg = str(exc.value)
    assert needle in msg and str(path) in msg and "\n" not in msg
    with pytest.raises(ParameterError):
        hw_eval(path, n_images=2, progress=False)


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    text = tmp_path / "metrics.json"
    text.write_text("[]")
    with pytest.raises(ParameterError, match="cannot be read as a torch checkpoint"):
        ckpt.load(text)
    with pytest.raises(ParameterError, match="holds a list"):
        ckpt.load(_save([1, 2], tmp_path / "list.pt"))
    with pytest.raises(ParameterError, match="file not found"):
        ckpt.load(tmp_path / "missing.pt")


def test_format_1_checkpoints_still_load(trained, tmp_path):
    # written by the previous release: no sizes, no device record, config without the device fields
    d = _raw(trained)
    d["format"] = 1
    del d["sizes"], d["device"]
    for k in ("device_params", "ambient_k", "device_source"):
        del d["config"][k]
    ck = ckpt.load(_save(d, tmp_path / "old.pt"))
    assert ck.format_version == 1 and ck.sizes == (64, 16, 40)
    assert ck.device.params == get_parameters("vo2x") and ck.device.source == "preset:vo2x"


def test_resume_reads_through_load_and_refuses_another_architecture(trained, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    d = _raw(trained)
    d["config"]["hidden"] = [12]
    _save(d, folder / "checkpoint.pt")
    tr = Trainer(dataclasses.replace(trained.config, out_dir=str(folder)))
    with pytest.raises(ParameterError, match="another architecture.*choose another --out"):
        tr.load_checkpoint()


def test_a_checkpoint_trained_on_a_parameter_file_is_self_contained(p, tmp_path):
    fields = {**get_parameters("vo2x").to_dict(), "name": "my-film"}
    pfile = tmp_path / "film.json"
    pfile.write_text(json.dumps({"device": fields, "calibration": {"ambient_k": 301.0}}))
    sel = select(params_file=pfile)
    cfg = TrainConfig(dataset="digits", preset=None, device_params=sel.params.to_dict(), ambient_k=sel.ambient_k,
                      device_source=sel.source, hidden=(8,), steps=4, epochs=1, out_dir=str(tmp_path / "run"),
                      progress=False)
    tr = Trainer(cfg)
    tr.fit()
    pfile.unlink()  # the checkpoint must not need the file any more
    ck = ckpt.load(tr.checkpoint_path)
    assert ck.device.params.name == "my-film" and ck.device.ambient_k == 301.0
    assert ck.device.source == f"file:{pfile}" and ck.device.params == sel.params
    hw = hw_eval(tr.checkpoint_path, n_images=4, progress=False)
    assert hw.ambient_k == 301.0 and hw.preset == "my-film"


def test_stale_temporaries_are_removed_when_a_run_starts(p, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".checkpoint.pt.ab12cd_9.tmp", out / ".metrics.json.zzzzzzzz.tmp",
             out / ".training_curve.png.q1w2e3r4.tmp"]
    keep = [out / ".notes.txt.ab12cd_9.tmp", out / "checkpoint.pt.tmp", out / ".checkpoint.pt.tmp",
            out / ".checkpoint.pt.toolongname.tmp", out / "mine.tmp"]
    for f in stale + keep:
        f.write_bytes(b"x")
    tr = Trainer(TrainConfig(dataset="digits", hidden=(4,), steps=3, epochs=1, neuron=p, out_dir=str(out),
                             progress=False))
    tr.fit(resume=True)
    assert not any(f.exists() for f in stale)
    assert all(f.exists() for f in keep)
    assert (out / "checkpoint.pt").is_file()


def test_a_kill_during_a_checkpoint_write_leaves_no_temporary(p, tmp_path, monkeypatch):
    out = tmp_path / "run"
    tr = Trainer(TrainConfig(dataset="digits", hidden=(4,), steps=3, epochs=2, neuron=p, out_dir=str(out),
                             progress=False))
    tr.train_epoch()
    tr.save_checkpoint()
    tr.train_epoch()
    real_save = torch.save

    def killed(obj, f, *a, **k):  # half the file written, then SIGTERM (main() raises KeyboardInterrupt)
        real_save(obj, f, *a, **k)
        f.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint()
    monkeypatch.setattr(torch, "save", real_save)
    assert sorted(f.name for f in out.iterdir()) == ["checkpoint.pt"]
    assert ckpt.load(out / "checkpoint.pt").epoch == 1  # the previous checkpoint is intact


def test_circuit_step_bound_names_the_time_scale():
    dev = get_parameters("vo2x")
    bound, scale = max_circuit_dt(dev, 145.35e-12)
    # R_m C = 1286 Ohm x 145.35 pF = 187 ns is shorter than C_th/S_e = 241 ns: a quarter of it
    assert bound == pytest.approx(dev.R_m * 145.35e-12 / 4) and "R_m C" in scale
    assert dev.R_m * 145.35e-12 < dev.C_th / dev.S_e
    assert check_circuit_dt(20e-9, dev) == 20e-9
    with pytest.raises(ParameterError, match=r"dt must be <= 46.7 ns \[s\].*R_m C = 187 ns.*got 1 s"):
        check_circuit_dt(1.0, dev)


def test_absurd_network_size_is_refused_with_the_estimate(p, tmp_path):
    with pytest.raises(ParameterError, match=r"needs about .* GiB .*more than this machine"):
        Trainer(TrainConfig(dataset="digits", hidden=(10**9,), neuron=p, out_dir=str(tmp_path), progress=False))
    assert not any(tmp_path.iterdir())


def test_hw_eval_refuses_an_absurd_simulation(trained):
    with pytest.raises(ParameterError, match="neuron-steps"):
        hw_eval(trained.checkpoint_path, dt_circuit=1e-30, progress=False)


def test_hand_set_neuron_needs_a_device_for_hardware(p, tmp_path):
    tr = Trainer(TrainConfig(dataset="digits", hidden=(4,), steps=3, epochs=1, neuron=p, out_dir=str(tmp_path),
                             progress=False))
    tr.fit()
    assert ckpt.load(tr.checkpoint_path).device is None
    with pytest.raises(ParameterError, match="set by hand.*--preset or --params"):
        hw_eval(tr.checkpoint_path, progress=False)
    # on a device, the weights (in rheobase units) run on that device's neuron
    hw = hw_eval(tr.checkpoint_path, n_images=3, progress=False, device=select("vo2x"))
    assert hw.device_override and np.isfinite(hw.energy_per_inference_j)


def test_a_drive_above_the_oscillation_window_is_diagnosed(trained, tmp_path):
    # first-layer weights scaled x50: most drives exceed i_max, where a VO2 device latches metallic
    d = _raw(trained)
    d["model"]["linears.0.weight"] = d["model"]["linears.0.weight"] * 50.0
    d["model"]["linears.0.bias"] = d["model"]["linears.0.bias"] * 50.0
    path = _save(d, tmp_path / "hot.pt")
    hw = hw_eval(path, n_images=8, progress=False)
    p = trained.neuron
    w, b = d["model"]["linears.0.weight"].double(), d["model"]["linears.0.bias"].double()
    drive = (trained.x_test[:8].double() @ w.T + b) * p.rheobase
    above = float((drive > p.i_max).double().mean())
    assert above > 0.2 and hw.first_layer_above_window_fraction == pytest.approx(above)
    assert "latch" in hw.diagnosis and "i_max" in hw.diagnosis
    healthy = hw_eval(trained.checkpoint_path, n_images=8, progress=False)
    assert healthy.first_layer_above_window_fraction < 0.2


def test_hw_eval_json_shows_progress_on_stderr_unless_quiet(trained, capsys):
    from vo2neuro.cli import main

    argv = ["hw-eval", "--checkpoint", str(trained.checkpoint_path), "--n-images", "4", "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["n_images"] == 4          # stdout holds only the JSON
    assert "hw-eval" in err and "4/4" in err            # the progress bar went to stderr
    assert main([*argv, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["n_images"] == 4 and err == ""
