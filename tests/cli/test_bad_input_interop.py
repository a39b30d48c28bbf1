"""Bad input of ``export`` and ``hw-eval --nir``: exit 2, one line on stderr, nothing on stdout, nothing written.
No training runs here: checkpoints are the tiny structurally valid ones of test_bad_input_snn.py, NIR graphs are
built by hand."""
from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")
pytest.importorskip("torch")

# the tiny checkpoint builder of the snn bad-input suite (test modules are not importable by name here)
_checkpoint = runpy.run_path(str(Path(__file__).with_name("test_bad_input_snn.py")))["_checkpoint"]


def _graph_bytes(tmp_path_factory, *nodes) -> bytes:
    f = tmp_path_factory.mktemp("g") / "g.nir"
    nir.write(str(f), nir.NIRGraph.from_list(*nodes))
    return f.read_bytes()


def _lif(n):
    return nir.LIF(tau=np.full(n, 5e-4), r=np.full(n, 5.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                   v_reset=np.zeros(n))


def _affine(n_out, n_in):
    return nir.Affine(weight=np.ones((n_out, n_in), np.float32), bias=np.zeros(n_out, np.float32))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return {
        "good": _graph_bytes(tmp_path_factory, _affine(10, 64), _lif(10)),
        "threshold": _graph_bytes(tmp_path_factory, _affine(10, 64), nir.Threshold(threshold=np.ones(10))),
        "ten_inputs": _graph_bytes(tmp_path_factory, _affine(10, 10), _lif(10)),
        "seven_outputs": _graph_bytes(tmp_path_factory, _affine(7, 64), _lif(7)),
        "wide": _graph_bytes(tmp_path_factory, _affine(100, 64), _lif(100), _affine(10, 100), _lif(10)),
    }


# --------------------------------------------------------------------------------------------------------- export
CKPT = {"ck.pt": _checkpoint()}


def _rate(d):
    d["config"]["encoding"] = "rate"


@pytest.mark.parametrize("argv,fragments,inputs", [
    (["--checkpoint", "missing.pt", "-o", "n.nir"], ("checkpoint", "not found"), {}),            # missing input
    (["--checkpoint", "ck.pt", "-o", "n.h5"], ("output", ".nir"), CKPT),                         # output suffix
    (["--checkpoint", "ck.pt", "-o", "n.nir", "--nir-dt", "0"], ("nir-dt", "> 0"), CKPT),       # bad float
    (["--checkpoint", "ck.pt", "-o", "n.nir", "--nir-dt", "slow"], ("nir-dt",), CKPT),
    (["--checkpoint", "bad.pt", "-o", "n.nir"], ("checkpoint",), {"bad.pt": "not a checkpoint"}),  # schema
    (["--checkpoint", "ck.pt", "-o", "n.nir"], ("encoding", "rate"), {"ck.pt": _checkpoint(_rate)}),
    (["-o", "n.nir"], ("--checkpoint",), {}),                                                    # required option
])
def test_export_bad_input(bad_input, argv, fragments, inputs):
    bad_input(["export", *argv], *fragments, inputs=inputs)


def test_export_unwritable_output(bad_input, unwritable):
    path, files = unwritable
    bad_input(["export", "--checkpoint", "ck.pt", "-o", path.replace(".json", ".nir")], "output",
              inputs={**files, **CKPT})


# --------------------------------------------------------------------------------------------------- hw-eval --nir
@pytest.mark.parametrize("argv,fragments,graph", [
    (["--nir", "missing.nir", "--dataset", "digits"], ("nir", "not found"), None),
    (["--nir", "g.nir", "--dataset", "digits"], ("not a readable NIR graph",), "junk"),
    (["--nir", "g.nir"], ("dataset", "--nir"), "good"),                                       # missing dataset
    (["--nir", "g.nir", "--dataset", "cifar"], ("dataset", "digits, mnist"), "good"),         # bad choice
    (["--nir", "g.nir", "--dataset", "digits", "--steps", "0"], ("steps",), "good"),          # bad count
    (["--nir", "g.nir", "--dataset", "digits", "--nir-dt", "-1"], ("nir-dt",), "good"),       # bad float
    (["--nir", "g.nir", "--dataset", "digits"], ("node 'threshold'", "Threshold"), "threshold"),   # unsupported
    (["--nir", "g.nir", "--dataset", "digits"], ("10 inputs", "digits images have 64"), "ten_inputs"),  # shapes
    (["--nir", "g.nir", "--dataset", "digits"], ("7 neurons", "10 classes"), "seven_outputs"),
    (["--nir", "g.nir", "--dataset", "digits", "--device-size", "100n"], ("device-size", "--nir"), "good"),
    (["--nir", "g.nir", "--dataset", "digits", "--delta", "0.01"], ("delta", "--preset"), "good"),
    (["--nir", "g.nir", "--dataset", "digits", "--preset", "nope"], ("preset", "nope"), "good"),
    (["--nir", "g.nir", "--checkpoint", "ck.pt"], ("not allowed with",), "good"),               # one source
    (["--nir", "g.nir", "--dataset", "digits", "--steps", "100k", "--n-images", "450"], ("neuron-steps",),
     "wide"),                                                                                   # absurd work size
])
def test_hw_eval_nir_bad_input(bad_input, graphs, argv, fragments, graph):
    inputs = {} if graph is None else {"g.nir": b"junk" if graph == "junk" else graphs[graph]}
    if "--checkpoint" in argv:
        inputs.update(CKPT)
    bad_input(["hw-eval", *argv], *fragments, inputs=inputs)


def test_hw_eval_nir_only_options_need_nir(bad_input):
    bad_input(["hw-eval", "--checkpoint", "ck.pt", "--dataset", "digits"], "dataset", "only used with --nir",
              inputs=CKPT)
    bad_input(["hw-eval", "--checkpoint", "ck.pt", "--steps", "10"], "steps", "only used with --nir", inputs=CKPT)
