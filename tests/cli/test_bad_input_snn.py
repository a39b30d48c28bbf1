"""Bad input of ``train``, ``hw-eval``, ``compare`` and ``codesign``: exit 2, one line on stderr, nothing on stdout,
nothing written. No training runs here: checkpoints are tiny dicts written with torch.save."""
from __future__ import annotations

import io
import json

import pytest

torch = pytest.importorskip("torch")

from vo2neuro.device import get_parameters  # noqa: E402
from vo2neuro.device.select import select  # noqa: E402
from vo2neuro.snn.checkpoint import FORMAT_VERSION, device_record  # noqa: E402
from vo2neuro.snn.presets import EXAMPLE_NEURON  # noqa: E402
from vo2neuro.snn.train import TrainConfig  # noqa: E402

UNWRITABLE_PNG = "blocker/fig.png"


def _checkpoint(edit=None, *, hidden=(4,)) -> bytes:
    """A structurally valid checkpoint of a digits network (64 -> hidden -> 10, population 1), as bytes."""
    cfg = TrainConfig(hidden=hidden, population=1, steps=3, out_dir="run").to_dict()
    sizes = [64, *hidden, 10]
    model = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        model[f"linears.{k}.weight"] = torch.zeros(b, a)
        model[f"linears.{k}.bias"] = torch.zeros(b)
    d = {"format": FORMAT_VERSION, "epoch": 1, "model": model, "optimizer": {}, "scheduler": {}, "history": [],
         "train_seconds": 0.0, "config": cfg, "neuron": EXAMPLE_NEURON.to_dict(), "sizes": sizes,
         "device": device_record(select("vo2x")), "rng": {}}
    if edit is not None:
        edit(d)
    buf = io.BytesIO()
    torch.save(d, buf)
    return buf.getvalue()


def _params(**changes) -> str:
    return json.dumps({**get_parameters("vo2").to_dict(), **changes})


NEGATIVE_FIELD = {"bad.json": _params(R_m=-5.0)}
NOT_JSON = {"bad.json": "R_m = 5"}


# ---------------------------------------------------------------------------------------------------------- train
@pytest.mark.parametrize("argv,fragments", [
    (["--epochs", "0"], ("epochs",)),                                 # count below its minimum
    (["--hidden", "1.5"], ("hidden",)),                               # count that is not whole
    (["--steps", "many"], ("steps",)),                                # count that is not a number
    (["--batch-size", "-3"], ("batch_size",)),
    (["--seed", "-1"], ("seed",)),
    (["--lr", "fast"], ("lr",)),                                      # bad float
    (["--lr=-1m"], ("lr", "> 0")),
    (["--dataset", "cifar"], ("dataset", "cifar", "digits, mnist")),  # bad choice lists the valid names
    (["--encoding", "poisson"], ("encoding", "current, rate, latency")),
    (["--device", "tpu"], ("device", "cpu, cuda")),
    (["--preset", "nope"], ("preset", "nope", "vo2, vo2x, zhang2024")),
    (["--preset", "vo2", "--delta", "0.5"], ("delta", "0.03")),       # impossible delta
    (["--params", "missing.json"], ("params", "not found")),          # missing file
    (["--params", "."], ("params", "folder")),                        # wrong file kind
    (["--data-dir", "missing"], ("data-dir", "not found")),
    (["--preset", "vo2", "--params", "bad.json"], ("not both",)),
    (["--arch", "cnn"], ("arch", "'cnn' is not an architecture", "conv")),  # unknown name lists the valid ones
    (["--arch", "12X5-MP2"], ("arch", "token '12X5'")),                    # malformed spec
    (["--arch", "MP2"], ("arch", "no convolution")),
    (["--arch", "conv"], ("arch", "64C5", "2x2", "1x8x8")),                # too deep for the 8x8 digits
    (["--arch", "999999C3", "--epochs", "1"], ("GiB", "more than this machine")),   # absurd conv network
])
def test_train_options(bad_input, argv, fragments):
    bad_input(["train", *argv], *fragments, inputs={"bad.json": _params()})


@pytest.mark.parametrize("inputs,fragments", [
    (NEGATIVE_FIELD, ("bad.json", "R_m", "> 0")),
    (NOT_JSON, ("bad.json", "not valid JSON")),
    ({"bad.json": json.dumps({"T_c": 330.0})}, ("params", "bad.json")),     # fields missing
    ({"bad.json": _params(T_c="hot")}, ("params", "bad.json")),              # a field of the wrong type
])
def test_train_bad_params_file(bad_input, inputs, fragments):
    bad_input(["train", "--params", "bad.json"], *fragments, inputs=inputs)


def test_train_unwritable_output(bad_input, unwritable):
    path, files = unwritable
    bad_input(["train", "--out", path], "out", inputs=files)


def test_train_absurd_network_is_refused_with_its_memory_estimate(bad_input):
    bad_input(["train", "--hidden", "1G", "--epochs", "1"], "GiB", "more than this machine")


def test_train_resume_from_a_checkpoint_of_another_architecture(bad_input):
    # the folder's checkpoint.pt says hidden (4,) but holds weights of 5 neurons
    bad = _checkpoint(lambda d: d["config"].update(hidden=[5]))
    bad_input(["train", "--out", "run", "--resume", "--epochs", "1"], "checkpoint", "another architecture",
              inputs={"run/checkpoint.pt": bad})


def test_train_resume_from_a_conv_checkpoint_with_a_wrong_shape(bad_input):
    # the folder's checkpoint.pt says 4C3-MP2 but its first convolution has 5 maps
    def conv(d):
        d["config"].update(arch="4C3-MP2", hidden=[])
        d["model"] = {"convs.0.weight": torch.zeros(5, 1, 3, 3), "convs.0.bias": torch.zeros(5),
                      "linears.0.weight": torch.zeros(10, 36), "linears.0.bias": torch.zeros(10)}
        d["sizes"] = [64, 144, 10]

    bad_input(["train", "--arch", "4C3-MP2", "--out", "run", "--resume", "--epochs", "1"], "checkpoint",
              "convs.0.weight has shape (5, 1, 3, 3)", inputs={"run/checkpoint.pt": _checkpoint(conv)})


# -------------------------------------------------------------------------------------------------------- hw-eval
@pytest.mark.parametrize("argv,fragments", [
    (["--n-images", "0"], ("n_images",)),                             # bad count
    (["--n-images", "ten"], ("n_images",)),
    (["--seed", "1.5"], ("seed",)),
    (["--d2d-sigma", "-0.1"], ("d2d_sigma", ">= 0")),                  # bad float
    (["--c2c-sigma", "x"], ("c2c_sigma",)),
    (["--dt", "0"], ("dt", "> 0")),
    (["--dt", "1"], ("dt", "ns", "R_m C")),                           # absurd step: cannot resolve the neuron
    (["--dt", "1e-30"], ("neuron-steps", "limit")),                   # absurd work size, estimate named
    (["--preset", "nope"], ("preset", "vo2, vo2x, zhang2024")),        # bad choice
    (["--preset", "vo2", "--delta", "0.5"], ("delta", "0.03")),
    (["--delta", "0.01"], ("delta", "--preset or --params")),
    (["--params", "missing.json"], ("params", "not found")),
    (["--params", "bad.json"], ("bad.json", "R_m")),                  # bad --params file
    (["--data-dir", "ck.pt"], ("data-dir", "expected a folder")),
])
def test_hw_eval_options(bad_input, argv, fragments):
    bad_input(["hw-eval", "--checkpoint", "ck.pt", *argv], *fragments,
              inputs={"ck.pt": _checkpoint(), **NEGATIVE_FIELD})


@pytest.mark.parametrize("name,content,fragments", [
    ("missing.pt", None, ("checkpoint", "not found")),                           # missing file
    ("notes.txt", "hello", ("notes.txt", "cannot be read as a torch checkpoint")),  # wrong file kind
    ("arch.pt", _checkpoint(lambda d: d["config"].update(hidden=[8])), ("arch.pt", "another architecture")),
    ("chain.pt", _checkpoint(lambda d: d["model"].update({"linears.1.weight": torch.zeros(10, 7)})),
     ("chain.pt", "takes 7 inputs")),
    ("nokeys.pt", _checkpoint(lambda d: d.pop("model")), ("nokeys.pt", "lacks key(s) 'model'")),
    ("nobias.pt", _checkpoint(lambda d: d["model"].pop("linears.0.bias")), ("nobias.pt", "linears.0.bias")),
    ("noneuron.pt", _checkpoint(lambda d: d["neuron"].pop("v_th")), ("noneuron.pt", "v_th [V]")),
    ("future.pt", _checkpoint(lambda d: d.update(format=99)), ("future.pt", "format version 99")),
    ("list.pt", None, ("list.pt", "holds a list")),
    ("hand.pt", _checkpoint(lambda d: d.update(device=None) or d["config"].update(
        neuron=EXAMPLE_NEURON.to_dict())), ("hand.pt", "set by hand")),
    ("rate.pt", _checkpoint(lambda d: d["config"].update(encoding="rate")), ("rate.pt", "--encoding current")),
])
def test_hw_eval_checkpoints(bad_input, name, content, fragments):
    inputs = {}
    if name == "list.pt":
        buf = io.BytesIO()
        torch.save([1, 2, 3], buf)
        inputs[name] = buf.getvalue()
    elif content is not None:
        inputs[name] = content
    bad_input(["hw-eval", "--checkpoint", name], *fragments, inputs=inputs)


def test_hw_eval_checkpoint_that_is_a_folder(bad_input):
    bad_input(["hw-eval", "--checkpoint", "."], "checkpoint", "folder")


def test_hw_eval_neuron_not_derived_from_its_device(bad_input):
    # structurally fine, but the stored neuron is not the vo2x circuit's (checked before loading data)
    bad_input(["hw-eval", "--checkpoint", "ck.pt"], "ck.pt", "not the one derived", inputs={"ck.pt": _checkpoint()})


# -------------------------------------------------------------------------------------------------------- compare
@pytest.mark.parametrize("argv,fragments", [
    (["--epochs", "0"], ("epochs",)),
    (["--n-images", "1.5k5"], ("n_images",)),
    (["--hidden", "0"], ("hidden",)),
    (["--seed", "x"], ("seed",)),
    (["--d2d-sigma", "-1"], ("d2d_sigma",)),
    (["--c2c-sigma", "abc"], ("c2c_sigma",)),
    (["--dataset", "cifar"], ("dataset", "digits, mnist")),
    (["--presets", "vo2", "nope"], ("nope", "vo2, vo2x, zhang2024")),
    (["--presets", "vo2", "--delta", "0.5"], ("delta", "0.03")),
    (["--presets", "vo2", "--delta", "0.03"], ("does not oscillate",)),  # impossible film, before any training
    (["--params", "missing.json"], ("params", "not found")),
    (["--params", "."], ("params", "folder")),
    (["--params", "bad.json"], ("bad.json", "R_m")),
    (["--params", "short.json"], ("params", "short.json")),
    (["--data-dir", "bad.json"], ("data-dir",)),
])
def test_compare_options(bad_input, argv, fragments):
    bad_input(["compare", *argv], *fragments, inputs={**NEGATIVE_FIELD, "short.json": json.dumps({"T_c": 330.0})})


def test_compare_unwritable_output(bad_input, unwritable):
    path, files = unwritable
    bad_input(["compare", "--out", path], "out", inputs=files)


# ------------------------------------------------------------------------------------------------------- codesign
@pytest.mark.parametrize("argv,fragments", [
    (["--deltas", "0.5"], ("deltas", "0.03")),                        # outside DELTA_MAX: at parse time
    (["--deltas", "-0.01"], ("deltas", ">= 0")),
    (["--deltas", "0.03"], ("deltas", "0.03", "does not oscillate")),  # cannot oscillate: before training
    (["--epochs", "0"], ("epochs",)),
    (["--hidden", "x"], ("hidden",)),
    (["--n-images", "-5"], ("n_images",)),
    (["--seed", "0.5"], ("seed",)),
    (["--d2d-sigma", "big"], ("d2d_sigma",)),
    (["--dataset", "cifar"], ("dataset", "digits, mnist")),
    (["--preset", "nope", "--deltas", "0"], ("preset", "vo2, vo2x, zhang2024")),
    (["--preset", "vo2", "--params", "bad.json"], ("not both",)),
    (["--params", "missing.json"], ("params", "not found")),
    (["--params", "."], ("params", "folder")),
    (["--params", "bad.json", "--deltas", "0"], ("bad.json", "R_m")),
    (["--params", "doped.json", "--deltas", "0.01"], ("already has delta",)),  # not a pristine film
    (["--plot", "fig.pdf"], ("plot", ".png")),
])
def test_codesign_options(bad_input, argv, fragments):
    bad_input(["codesign", *argv], *fragments, inputs={**NEGATIVE_FIELD, "doped.json": _params(delta=0.01)})


@pytest.mark.parametrize("option,path", [("--out", None), ("--plot", UNWRITABLE_PNG)])
def test_codesign_unwritable_outputs(bad_input, unwritable, option, path):
    default, files = unwritable
    bad_input(["codesign", option, path or default], option.lstrip("-"), inputs=files)


# ------------------------------------------------------------------------------------ --device-size/--integration
GOOD_PARAMS = {"good.json": _params()}


@pytest.mark.parametrize("command,argv,fragments", [
    ("train", ["--integration", "on-chip"], ("integration", "--device-size")),       # scenario without a size
    ("train", ["--device-size", "100n", "--integration", "wafer"], ("integration", "on-chip, probe-station")),
    ("train", ["--device-size", "0"], ("device-size", "> 0")),                         # bad size
    ("train", ["--device-size", "tiny"], ("device-size",)),
    ("train", ["--params", "good.json", "--device-size", "100n"], ("device-size", "--preset")),
    ("train", ["--device-size", "1p"], ("device_size", "1e-12 m")),                   # no neuron at that size
    ("hw-eval", ["--integration", "probe-station"], ("integration", "--device-size")),
    ("hw-eval", ["--device-size=-1n"], ("device-size", "> 0")),
    ("hw-eval", ["--params", "good.json", "--device-size", "100n"], ("device-size", "--preset")),
    ("hw-eval", ["--device-size", "1p"], ("device_size", "1e-12 m")),
    ("compare", ["--integration", "on-chip"], ("integration", "--device-size")),
    ("compare", ["--device-size", "x"], ("device-size",)),
    ("compare", ["--params", "good.json", "--device-size", "100n"], ("device-size", "--presets")),
    ("compare", ["--presets", "vo2x", "--device-size", "1p"], ("device_size", "1e-12 m")),
    ("codesign", ["--integration", "on-chip"], ("integration", "--device-size")),
    ("codesign", ["--device-size", "0"], ("device-size", "> 0")),
    ("codesign", ["--params", "good.json", "--device-size", "100n"], ("device-size", "--preset")),
    ("codesign", ["--deltas", "0", "--device-size", "1p"], ("deltas", "device_size", "1e-12 m")),
])
def test_device_size_options(bad_input, command, argv, fragments):
    extra = ["--checkpoint", "ck.pt"] if command == "hw-eval" else []
    bad_input([command, *extra, *argv], *fragments, inputs={"ck.pt": _checkpoint(), **GOOD_PARAMS})
