"""The data flow is one-way: device -> circuits -> snn -> ml_zoo -> explore -> cli (CONTRIBUTING.md).

Every ``import`` in the source, including the deferred imports inside functions, is read with ``ast``; a module may
import its own layer, any lower layer and the package-root utilities (units, I/O, plotting, citations, data), never a
higher layer. The physics layers must not import torch at all (not even lazily), so that the torch-free install works.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: layer order; the package root's utility modules and the data tables sit below everything
LAYERS = ["device", "circuits", "snn", "ml_zoo", "explore", "cli"]
BASE = {"vo2neuro", "vo2neuro.units", "vo2neuro._io", "vo2neuro._plot", "vo2neuro.citations", "vo2neuro._version",
        "vo2neuro.data"}
FOLDERS = {"device": REPO / "device", "circuits": REPO / "circuits", "snn": REPO / "snn", "ml_zoo": REPO / "ml_zoo",
           "explore": REPO / "explore", "cli": REPO / "vo2neuro" / "cli"}


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # `from vo2neuro import explore` names a layer through the package root
            if node.module == "vo2neuro":
                out += [(node.lineno, f"vo2neuro.{a.name}") for a in node.names]
    return out


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "vo2neuro" or module in BASE or ".".join(parts[:2]) in BASE:
        return None
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_points_up_the_layers(layer):
    rank = LAYERS.index(layer)
    bad = []
    for path in sorted(FOLDERS[layer].rglob("*.py")):
        for line, mod in _imports(path):
            target = _layer_of(mod)
            if target is not None and target > rank:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod} ({LAYERS[target]} is above {layer})")
    assert not bad, "\n".join(bad)


def test_every_source_module_belongs_to_a_known_layer():
    # a new top-level folder or root module must be placed in the diagram, not slip past this test
    root_modules = {p.stem for p in (REPO / "vo2neuro").glob("*.py")}
    assert root_modules <= {"__init__", "__main__", "units", "_io", "_plot", "citations", "_version"}, sorted(root_modules)
    assert {p.name for p in (REPO / "vo2neuro").iterdir() if p.is_dir() and p.name != "__pycache__"} == {"cli"}


@pytest.mark.parametrize("layer", ["device", "circuits"])
def test_physics_layers_never_import_torch(layer):
    bad = [f"{p.relative_to(REPO)}:{ln} imports {m}" for p in sorted(FOLDERS[layer].rglob("*.py"))
           for ln, m in _imports(p) if m.split(".")[0] in ("torch", "snntorch")]
    assert not bad, "\n".join(bad)


def test_the_test_can_fail(tmp_path):
    # the checker itself: an upward import in a fake device module is reported
    fake = tmp_path / "bad.py"
    fake.write_text("def f():\n    from vo2neuro.snn import train\n")
    assert [(2, "vo2neuro.snn")] == _imports(fake)
    assert _layer_of("vo2neuro.snn") > LAYERS.index("device")
    assert _layer_of("vo2neuro.units") is None
