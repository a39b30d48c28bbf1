"""Shared matplotlib plumbing for every figure (Agg backend, PNG, parent folders created, figure closed)."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["pyplot", "save"]


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on first use only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | os.PathLike, *, dpi: int = 130) -> Path:
    """Tight layout, write ``path`` (PNG), close the figure; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
