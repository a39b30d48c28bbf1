"""Every citation key used by a parameter set or a zoo model exists in CITATIONS.bib; use registers it."""
from __future__ import annotations

from vo2neuro import citations
from vo2neuro.device import PARAMETER_SETS, get_parameters


def test_preset_keys_exist_and_register_on_use():
    for name, info in PARAMETER_SETS.items():
        citations.bibtex(info.citation)
        get_parameters(name)
        assert info.citation in citations.used_keys()


def test_zoo_keys_exist():
    from vo2neuro.ml_zoo.registry import CITATION_KEYS, list_models

    assert set(CITATION_KEYS) == set(list_models())
    for keys in CITATION_KEYS.values():
        for key in keys:
            assert "@" in citations.bibtex(key)
