"""Citations registered on use (PyBaMM style): ``register(key)`` when a parameter set or model is used,
``print_citations()`` prints the BibTeX entries of what was used in this process."""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["register", "print_citations", "bibtex", "known_keys", "used_keys"]

_USED: list[str] = []


@lru_cache(maxsize=1)
def _entries() -> dict[str, str]:
    text = Path(__file__).with_name("CITATIONS.bib").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for m in re.finditer(r"@\w+\{([^,]+),.*?\n\}", text, flags=re.S):
        out[m.group(1).strip()] = m.group(0)
    return out


def known_keys() -> list[str]:
    """All citation keys in ``CITATIONS.bib``."""
    return sorted(_entries())


def bibtex(key: str) -> str:
    """The BibTeX entry of ``key``; ``KeyError`` listing valid keys if unknown."""
    try:
        return _entries()[key]
    except KeyError:
        raise KeyError(f"unknown citation {key!r}; valid: {known_keys()}") from None


def register(key: str) -> None:
    """Record that functionality backed by ``key`` was used (validated against the bib file)."""
    bibtex(key)
    if key not in _USED:
        _USED.append(key)


def used_keys() -> list[str]:
    """Keys registered so far in this process, in order of first use."""
    return list(_USED)


def print_citations(file=None) -> None:
    """Print the BibTeX of every citation registered in this process."""
    file = file or sys.stdout
    for key in _USED:
        print(bibtex(key), file=file)
