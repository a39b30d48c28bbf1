"""Conformance suite over every zoo entry (scikit-learn ``check_estimator`` spirit): one battery of API checks,
parametrised over the registry, on the small configurations."""
from __future__ import annotations

import dataclasses
import re

import pytest

torch = pytest.importorskip("torch")

from vo2neuro.ml_zoo import count_ops, create, get_spec, list_models  # noqa: E402

NAMES = list(list_models())

# Output shapes of the small configurations at batch B, written from the configs' documented sizes
# (e.g. cmal: 3 answers, 2 anchors, 6 regions, 8 tokens; lmd: 8x8 latent, patch 2 -> 16 patches of 2*2*4 values).
EXPECTED_SHAPES = {
    "cmal": lambda b: [(b, 3), (b, 2, 6), (b, 2, 8)],
    "ddpm_unet": lambda b: [(b, 3, 16, 16)],
    "dualvae": lambda b: [(b, 50), (b, 3, 8), (b, 3, 8)],
    "lgmrec": lambda b: [(b,)],
    "lmd": lambda b: [(), (b, 16, 16), (b, 16)],
    "wcl_bbcd": lambda b: [(b, 16, 9)],
    "lt_hgcf": lambda b: [(b,)],
    "tddpg_rec": lambda b: [(b, 16), (b, 12), (b, 1)],
    "psdnet": lambda b: [(b, 10)],
    "dpdnet": lambda b: [(b, 10)],
}


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _tensors(o)]


def _build(name, seed=0):
    torch.manual_seed(seed)
    return create(name, "small").eval()


def _run(model, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = model.example_inputs(batch, generator=gen)
    torch.manual_seed(seed)  # models that sample in eval (LMD's random masking) draw from the global generator
    with torch.no_grad():
        return _tensors(model(*inputs))


def test_registry_has_the_ten_entries():
    assert set(NAMES) == set(EXPECTED_SHAPES)
    assert len(NAMES) == 10


@pytest.mark.parametrize("name", NAMES)
def test_forward_small_finite_with_expected_shapes(name):
    outs = _run(_build(name), batch=2)
    assert [tuple(t.shape) for t in outs] == EXPECTED_SHAPES[name](2)
    for t in outs:
        assert t.is_floating_point() and torch.isfinite(t).all()


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one(name):
    outs = _run(_build(name), batch=1)
    assert [tuple(t.shape) for t in outs] == EXPECTED_SHAPES[name](1)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_and_ops(name):
    model = _build(name)
    n = sum(p.numel() for p in model.parameters())
    rep = count_ops(model, model.example_inputs(1, generator=torch.Generator().manual_seed(0)))
    assert n > 0 and rep.params == n
    assert rep.macs > 0
    assert rep.macs == sum(rep.by_type[k] for k in ("conv", "linear", "matmul", "spmm", "rnn"))
    assert sum(rep.by_child.values()) == rep.macs


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_in_eval(name):
    a = _run(_build(name, seed=1), seed=3)
    b = _run(_build(name, seed=1), seed=3)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    spec = get_spec(name)
    assert isinstance(spec.convertible, bool)
    assert spec.citation and spec.task and spec.dataset and spec.outputs
    assert set(spec.inputs) == {"paper", "small"}
    model = _build(name)
    # the documented small-config input shapes match the example inputs
    inputs = model.example_inputs(3)
    for s, x in zip(spec.inputs["small"], inputs, strict=True):
        dims = [3 if d.strip() == "B" else eval(d) for d in s.shape.strip("()").split(",") if d.strip()]
        assert list(x.shape) == dims, (s.name, x.shape)
    for r in spec.reported:
        assert re.fullmatch(r"\[(code|log|abs|est|verify)\]", r.source)
    assert spec.assumptions, "every entry states its assumptions"
    assert spec.to_dict()["name"] == name
    assert dataclasses.is_dataclass(model.config)
    for mod in spec.convertible_modules:
        assert isinstance(model.get_submodule(mod), torch.nn.Module)


def test_convertible_flags_follow_the_reference():
    # ml_zoo_papers.md §1: PSDNet/DPDNet fully convertible, the TDDPG actor the best target; the rest poor/partial.
    assert {n for n in NAMES if get_spec(n).convertible} == {"psdnet", "dpdnet", "tddpg_rec"}
    assert get_spec("tddpg_rec").convertible_modules == ("actor",)


@pytest.mark.parametrize("name", [n for n in NAMES if get_spec(n).meta_forward])
def test_meta_device_forward(name):
    model = create(name, "small", device="meta").eval()
    rep = count_ops(model, model.example_inputs(1))
    ref = _build(name)
    assert rep.macs == count_ops(ref, ref.example_inputs(1, generator=torch.Generator().manual_seed(0))).macs


def test_unknown_name_and_config():
    with pytest.raises(ValueError, match="valid: .*'cmal'.*'tddpg_rec'"):
        create("resnet")
    with pytest.raises(ValueError, match=r"valid: \['paper', 'small'\]"):
        create("dpdnet", "huge")
    with pytest.raises(ValueError, match="valid"):
        get_spec("nope")
