"""Convolutional SNN of VO2 neurons (issue 13): architecture specs, forward shapes against a step-by-step
reference, training on digits, exact resume, checkpoints that record and check the architecture, CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from vo2neuro.snn import checkpoint as ckpt
from vo2neuro.snn.network import (ARCHITECTURES, VO2ConvNet, check_arch, conv_feature_shapes, parse_conv_spec)
from vo2neuro.snn.neuron import VO2Cell
from vo2neuro.snn.presets import neuron_params_for_preset
from vo2neuro.snn.train import TrainConfig, Trainer, check_memory, class_counts, train
from vo2neuro.units import ParameterError

#: A small convolutional network for the 8x8 digits: 16 maps of 6x6, max-pooled to 3x3, then the output layer.
DIGITS_ARCH = "16C3-MP2"


@pytest.fixture(scope="module")
def vo2x():
    """The device-derived neuron of the vo2x preset (the one `vo2neuro train` uses by default)."""
    return neuron_params_for_preset("vo2x")


# ------------------------------------------------------------------------------------------------ specs
def test_named_conv_is_the_snntorch_tutorial_stack():
    assert ARCHITECTURES["conv"] == "12C5-MP2-64C5-MP2" and ARCHITECTURES["conv-small"] == "12C5-MP2-32C5-MP2"
    assert [tuple(x) for x in parse_conv_spec("conv")] == [("conv", 12, 5), ("max", 0, 2), ("conv", 64, 5),
                                                          ("max", 0, 2)]
    # 28 -5+1 = 24, /2 = 12, -5+1 = 8, /2 = 4
    assert conv_feature_shapes(parse_conv_spec("conv-small"), (1, 28, 28)) == [(12, 24, 24), (12, 12, 12),
                                                                             (32, 8, 8), (32, 4, 4)]
    assert check_arch("12C5-MP2-32C5-MP2-FC") == "12C5-MP2-32C5-MP2"   # the output layer may be written
    assert check_arch("8C3-AP2") == "8C3-AP2" and check_arch("mlp") == "mlp" and check_arch("conv") == "conv"


@pytest.mark.parametrize("arch,needle", [
    ("cnn", "not an architecture"),
    ("", "token ''"),
    ("12X5", "token '12X5'"),
    ("12C5--MP2", "token ''"),
    ("12c5", "token '12c5'"),
    ("MP2", "no convolution"),
    ("0C3", "token '0C3'"),
    ("12C5-MP0", "token 'MP0'"),
])
def test_a_bad_spec_is_one_line_naming_arch(arch, needle):
    with pytest.raises(ParameterError) as exc:
        check_arch(arch)
    msg = str(exc.value)
    assert msg.startswith("arch: ") and needle in msg and "\n" not in msg


def test_a_spec_too_deep_for_the_images_names_the_layer():
    with pytest.raises(ParameterError, match=r"layer 3 \(64C5\) of conv \(digits\) needs an input of at least "
                                             r"5x5 but gets 2x2 from 1x8x8 images"):
        TrainConfig(dataset="digits", arch="conv")
    assert TrainConfig(dataset="mnist", arch="conv").hidden == ()          # no fully connected hidden layer
    assert TrainConfig(dataset="digits").hidden == (256,)                   # the MLP default is unchanged


# ------------------------------------------------------------------------------------------------ forward
def test_conv_forward_shapes_and_sizes(vo2x):
    net = VO2ConvNet((1, 28, 28), "conv-small", [], 40, vo2x)
    assert net.sizes == (784, 12 * 24 * 24, 32 * 8 * 8, 40)
    assert [tuple(c.weight.shape) for c in net.convs] == [(12, 1, 5, 5), (32, 12, 5, 5)]
    assert tuple(net.linears[0].weight.shape) == (40, 32 * 4 * 4)
    x = torch.rand(3, 1, 28, 28)
    out, spikes, finals = net(x, steps=4, return_all=True)
    assert out.shape == (4, 3, 40)
    assert [tuple(s.shape) for s in spikes] == [(4, 3, 12, 24, 24), (4, 3, 32, 8, 8), (4, 3, 40)]
    assert [tuple(f.v.shape) for f in finals] == [(3, 12, 24, 24), (3, 32, 8, 8), (3, 40)]
    # a flattened image is the same image
    assert torch.equal(net(x.flatten(1), steps=4), out)
    with pytest.raises(ParameterError, match=r"x must have shape \[T, B, 1, 28, 28\]"):
        net(torch.rand(3, 1, 8, 8), steps=4)


def _reference(net: VO2ConvNet, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Step-by-step reference of a ``<c>C<k>-MP<k>|AP<k>`` + hidden + output network: every layer one VO2Cell
    step per time step (no fused sequence, no time folding), the pooling written out per step."""
    cells = [VO2Cell(n.p, surrogate=n.surrogate, slope=n.slope) for n in net.neurons]
    states = [None] * len(cells)
    outs = []
    for _ in range(steps):
        h, k, j = x, 0, 0
        for layer in net.layers:
            if layer.kind == "conv":
                conv = net.convs[j]
                z, states[k] = cells[k](F.conv2d(h, conv.weight, conv.bias), states[k])
                h, k, j = z, k + 1, j + 1
            elif layer.kind == "max":
                h = F.max_pool2d(h, layer.kernel)
            else:
                h = F.avg_pool2d(h, layer.kernel)
        h = h.reshape(h.shape[0], -1)
        for lin in net.linears:
            z, states[k] = cells[k](h @ lin.weight.T + lin.bias, states[k])
            h, k = z, k + 1
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("arch,hidden", [("6C3-MP2-8C2", [12]), ("6C3-AP2", [])])
def test_conv_forward_equals_a_step_by_step_reference(vo2x, arch, hidden):
    torch.manual_seed(1)
    net = VO2ConvNet((1, 8, 8), arch, hidden, 20, vo2x, init_gain_input=3.0, init_gain_spiking=6.0).double()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        out = net(x, steps=12)
        ref = _reference(net, x, 12)
        seq = net(x.unsqueeze(0).expand(12, *x.shape))      # the same constant input given per step
    assert out.sum() > 0                                    # the output layer fires: the comparison can fail
    assert torch.equal(out, ref)
    assert torch.equal(seq, ref)


def test_gradients_reach_every_conv_weight(vo2x):
    torch.manual_seed(0)
    net = VO2ConvNet((1, 8, 8), "6C3-MP2-8C2", [], 20, vo2x, init_gain_input=3.0, init_gain_spiking=6.0)
    counts = class_counts(net, torch.rand(8, 64), encoding="current", steps=10, population=2, n_classes=10)
    F.cross_entropy(counts, torch.arange(8)).backward()
    for name, prm in net.named_parameters():
        assert prm.grad is not None and float(prm.grad.abs().sum()) > 0, name


# ------------------------------------------------------------------------------------------------ training
def test_conv_on_digits_learns(tmp_path):
    # 16C3-MP2 on the device-derived vo2x neuron, 6 epochs of T = 8. Measured 0.88-0.91 over seeds 0-3 (digits test
    # set, 450 images); another CPU changes the trajectory like another seed. Chance is 0.10; the bound leaves
    # more than five binomial sigmas (0.015 at p = 0.88).
    r = train(dataset="digits", arch=DIGITS_ARCH, epochs=6, steps=8, seed=1, out_dir=str(tmp_path), progress=False)
    assert r.test_accuracy >= 0.80
    assert r.config["arch"] == DIGITS_ARCH and r.config["hidden"] == []
    assert json.loads((tmp_path / "metrics.json").read_text())[-1]["test_accuracy"] == r.test_accuracy


@pytest.mark.parametrize("encoding", ["rate", "current"])
def test_killed_and_resumed_conv_run_equals_uninterrupted_run(tmp_path, killed_and_resumed, encoding):
    kw = dict(dataset="digits", arch="4C3-MP2", hidden=(8,), steps=5, epochs=3, batch_size=256, seed=3,
              encoding=encoding, progress=False)
    full = killed_and_resumed(kw)
    # determinism: another seed gives other weights (the equality above can fail)
    other = Trainer(TrainConfig(out_dir=str(tmp_path / "other"), **{**kw, "seed": 4, "epochs": 1}))
    assert not torch.equal(other.model.convs[0].weight, full.model.convs[0].weight)


_THREADS_SCRIPT = """
import sys, numba, torch
from vo2neuro.snn.train import TrainConfig, Trainer
torch.set_num_threads(1)
assert torch.get_num_threads() == 1  # (also torch's lazy per-thread init, which would reapply the 1)
Trainer(TrainConfig(dataset="digits", arch="4C3-MP2", out_dir=sys.argv[1], progress=False))
print(torch.get_num_threads(), numba.threading_layer())
"""


def test_a_trainer_keeps_the_callers_torch_thread_count(tmp_path):
    # Deriving the vo2x neuron runs the first parallel Numba kernel of a fresh process, which starts Numba's OpenMP
    # pool with omp_set_num_threads(NUMBA_NUM_THREADS) in the libgomp torch shares; without the guard in
    # Trainer.__init__ the caller's torch.set_num_threads(1) became 2 here, and a convolutional epoch trained
    # outside fit() summed its weight gradients in another order (weights apart by ~1e-7). A fresh process, since the
    # pool starts once per process.
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    threads, layer = out.stdout.split()
    assert threads == "1", f"torch threads {threads} after a Trainer (Numba threading layer {layer})"


def test_absurd_conv_network_is_refused_with_the_estimate(vo2x, tmp_path):
    cfg = TrainConfig(dataset="mnist", arch="999999C5", neuron=vo2x, out_dir=str(tmp_path), progress=False)
    with pytest.raises(ParameterError, match=r"needs about .* GiB \(layers 999999C5 \+ \[40\].*more than this"):
        check_memory(cfg, 784, 40)


# ------------------------------------------------------------------------------------------------ checkpoints
@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("conv")
    tr = Trainer(TrainConfig(dataset="digits", arch="4C3-MP2-6C2", hidden=(8,), steps=4, epochs=1, seed=2,
                             out_dir=str(out), progress=False))
    tr.fit()
    return tr


def _raw(trainer) -> dict:
    return torch.load(trainer.checkpoint_path, weights_only=True)


def test_checkpoint_records_the_architecture_and_rebuilds_the_network(conv_run):
    ck = ckpt.load(conv_run.checkpoint_path)
    assert ck.arch == "4C3-MP2-6C2" and _raw(conv_run)["config"]["arch"] == "4C3-MP2-6C2"
    # 8x8 -> 4C3: 4x6x6 = 144 neurons -> MP2: 3x3 -> 6C2: 6x2x2 = 24 neurons -> 8 -> 40
    assert ck.sizes == (64, 144, 24, 8, 40) and ck.n_classes == 10
    x = conv_run.x_test[:16]
    with torch.no_grad():
        ref = conv_run.model.eval()(x, steps=4)
        net = ck.model()
        assert isinstance(net, VO2ConvNet)
        assert torch.equal(net(x, steps=4), ref)


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["config"].update(arch="cnn"), "config: arch: 'cnn' is not an architecture"),
    (lambda d: d["config"].update(arch="conv"), "config: arch: layer 3 (64C5)"),         # too deep for digits
    (lambda d: d["config"].update(arch="5C3-MP2-6C2"), "convs.0.weight has shape (4, 1, 3, 3), the configured "
                                                       "architecture 5C3-MP2-6C2"),
    (lambda d: d["config"].update(arch="4C3-MP3-6C2"), "linears.0.weight has shape (8, 24)"),   # 1x1 maps: 6
    (lambda d: d["model"].update({"convs.1.weight": torch.zeros(6, 4, 3, 3)}), "convs.1.weight has shape"),
    (lambda d: d["model"].update({"convs.1.bias": torch.zeros(7)}), "convs.1.bias has shape (7,)"),
    (lambda d: d["model"].update({"linears.0.weight": torch.zeros(8, 25)}), "linears.0.weight has shape (8, 25)"),
    (lambda d: d["model"].update({"linears.1.weight": torch.zeros(40, 9)}), "linears.1.weight has shape"),
    (lambda d: d["model"].pop("convs.0.bias"), "model lacks convs.0.bias"),
    (lambda d: d["model"].update({"convs.2.weight": torch.zeros(1)}), "model has 'convs.2.weight'"),
    (lambda d: d["config"].update(hidden=[]), "model has 'linears.1.bias'"),
    (lambda d: d["config"].update(population=3), "not a multiple of the config's population 3"),
    (lambda d: d["model"]["convs.0.weight"].fill_(float("nan")), "convs.0.weight holds non-finite weights"),
    (lambda d: d.update(sizes=[64, 144, 24, 8, 41]), "'sizes'"),
    (lambda d: d["config"].pop("arch"), "model has 'convs.0.bias'"),   # read as an MLP: refused, not misread
])
def test_a_bad_conv_checkpoint_is_one_line_naming_the_file(conv_run, tmp_path, edit, needle):
    d = _raw(conv_run)
    edit(d)
    path = tmp_path / "bad.pt"
    torch.save(d, path)
    with pytest.raises(ParameterError) as exc:
        ckpt.load(path)
    msg = str(exc.value)
    assert needle in msg and str(path) in msg and "\n" not in msg


def test_checkpoints_without_an_arch_load_as_mlp(tmp_path):
    tr = Trainer(TrainConfig(dataset="digits", hidden=(6,), steps=3, epochs=1, out_dir=str(tmp_path),
                             progress=False))
    tr.fit()
    d = _raw(tr)
    assert d["config"]["arch"] == "mlp"
    del d["config"]["arch"]                                 # a file written before convolutional networks
    torch.save(d, tmp_path / "old.pt")
    ck = ckpt.load(tmp_path / "old.pt")
    assert ck.arch == "mlp" and ck.sizes == (64, 6, 40) and ck.config == tr.config


def test_resume_refuses_another_architecture(conv_run, tmp_path):
    cfg = TrainConfig(**{**conv_run.config.to_dict(), "arch": "mlp", "hidden": (8,), "out_dir": str(tmp_path)})
    (tmp_path / "checkpoint.pt").write_bytes(conv_run.checkpoint_path.read_bytes())
    with pytest.raises(ParameterError, match=r"different settings \(arch"):
        Trainer(cfg).load_checkpoint()


# ------------------------------------------------------------------------------------------------ CLI
def test_train_arch_json(tmp_path, capsys):
    from vo2neuro.cli import main

    out = tmp_path / "run"
    assert main(["train", "--arch", "4C3-MP2-FC", "--epochs", "1", "--steps", "3", "--out", str(out),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["arch"] == "4C3-MP2" and res["config"]["hidden"] == []
    assert 0.0 <= res["test_accuracy"] <= 1.0
    assert ckpt.load(out / "checkpoint.pt").sizes == (64, 144, 40)
