"""Run the docstring examples of every module through the installed package (no duplicate module copies)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vo2neuro

ROOTS = ["vo2neuro", "vo2neuro.device", "vo2neuro.circuits", "vo2neuro.data"]
EXTRA = ["vo2neuro.ml_zoo.convert", "vo2neuro.ml_zoo.measured"]


def _modules() -> list[str]:
    names: list[str] = []
    for root in ROOTS:
        pkg = importlib.import_module(root)
        names.append(root)
        if root == "vo2neuro":
            names += [f"vo2neuro.{m.name}" for m in pkgutil.iter_modules(vo2neuro.__path__)
                      if not m.name.startswith("cli") and m.name != "__main__"]
            continue
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{root}.")]
    return sorted(set(names) | set(EXTRA))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
