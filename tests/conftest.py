"""Shared test configuration (kept inside tests/ so the repo root never lands on sys.path)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(12345)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
