"""Bad input of ``vo2neuro hw-eval --zoo NAME``: one line, exit 2, nothing on stdout or disk, before any training or
simulation (a run would train an ANN and simulate thousands of circuits)."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")


@pytest.mark.parametrize("argv,fragments", [
    (["--zoo", "resnet"], ("zoo", "'resnet'", "dpdnet, psdnet, tddpg_rec")),           # unknown name
    (["--zoo", "dpdnet", "--dataset", "cifar"], ("dataset", "digits, mnist")),         # bad choice
    (["--zoo", "dpdnet", "--n-images", "0"], ("n_images",)),                           # bad count
    (["--zoo", "dpdnet", "--n-images", "451"], ("n_images", "<= 450", "digits")),      # beyond the test split
    (["--zoo", "dpdnet", "--steps", "0"], ("steps",)),
    (["--zoo", "dpdnet", "--steps", "90000"], ("device-steps", "limit")),              # absurd work, estimate named
    (["--zoo", "dpdnet", "--epochs", "1.5"], ("epochs",)),
    (["--zoo", "dpdnet", "--vo2-devices", "0"], ("vo2-devices",)),
    (["--zoo", "dpdnet", "--d2d-sigma", "-1"], ("d2d_sigma", ">= 0")),                # bad float
    (["--zoo", "dpdnet", "--dt", "1"], ("dt", "R_m C")),                               # step cannot resolve the neuron
    (["--zoo", "dpdnet", "--preset", "nope"], ("preset", "vo2, vo2x")),
    (["--zoo", "dpdnet", "--params", "p.json"], ("params", "not supported with --zoo")),
    (["--zoo", "dpdnet", "--delta", "0.01"], ("delta", "not supported with --zoo")),
    (["--zoo", "dpdnet", "--config", "small"], ("config", "tddpg_rec")),               # option of another model
    (["--zoo", "tddpg_rec", "--dataset", "mnist"], ("dataset", "not used by tddpg_rec")),
    (["--zoo", "tddpg_rec", "--config", "huge"], ("config", "paper, small")),
    (["--zoo", "dpdnet", "--record", "out.txt"], ("record", ".json")),                 # wrong output kind
    (["--zoo", "dpdnet", "--cache-dir", "p.json"], ("cache-dir",)),                    # a file, not a folder
    (["--checkpoint", "p.json", "--epochs", "3"], ("epochs", "only used with --zoo")),
    (["--zoo", "dpdnet", "--checkpoint", "p.json"], ("not allowed with",)),            # two sources
])
def test_hw_eval_zoo_options(bad_input, argv, fragments):
    bad_input(["hw-eval", *argv], *fragments, inputs={"p.json": "{}"})


def test_hw_eval_zoo_record_unwritable(bad_input, unwritable):
    path, files = unwritable
    bad_input(["hw-eval", "--zoo", "tddpg_rec", "--record", path], "record", "blocker", inputs=files)


def test_cli_choices_are_the_library_models():
    from vo2neuro.cli.zoo_hw import _ZOO_CHOICES
    from vo2neuro.explore.zoo_hardware import ZOO_HW_MODELS

    assert _ZOO_CHOICES == ZOO_HW_MODELS
