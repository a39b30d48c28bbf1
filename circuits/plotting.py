"""Figures of the circuit layer (PNG; matplotlib imported inside the functions, Agg backend)."""
from __future__ import annotations

from vo2neuro._plot import pyplot, save

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["plot_traces", "plot_transfer"]


def _plt():
    return pyplot()


def plot_traces(result, path: str | Path, *, title: str = "") -> Path:
    """Node voltage [V], device current [mA] and device temperature [K] of the recorded neurons versus time [us].

    ``result`` is a :class:`~vo2neuro.circuits.simulate.SimulationResult` with a trace.
    """
    if result.trace is None:
        from vo2neuro.units import ParameterError

        raise ParameterError("result: has no trace; simulate with record=[...]")
    plt = _plt()
    tr = result.trace
    has_T = np.isfinite(tr.T).any()
    fig, axes = plt.subplots(3 if has_T else 2, 1, sharex=True, figsize=(7, 6.5 if has_T else 4.8))
    t_us = tr.t * 1e6
    for j, n in enumerate(tr.neurons):
        axes[0].plot(t_us, tr.V[j], lw=0.8, label=f"neuron {n}")
        axes[1].plot(t_us, tr.I[j] * 1e3, lw=0.8)
        if has_T:
            axes[2].plot(t_us, tr.T[j], lw=0.8)
    axes[0].set_ylabel("node voltage V [V]")
    axes[1].set_ylabel("device current [mA]")
    if has_T:
        axes[2].set_ylabel("device temperature [K]")
    axes[-1].set_xlabel("time [us]")
    if len(tr.neurons) > 1:
        axes[0].legend(fontsize=7)
    fig.suptitle(title or f"{result.model} device, {result.drive} drive")
    return save(fig, path, dpi=120)


def plot_transfer(curves: Sequence, path: str | Path, *, labels: Sequence[str] | None = None) -> Path:
    """Frequency [kHz] (and the PWL closed form, dashed) and source energy per spike [pJ] versus the swept value."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=(6.5, 5.5))
    for j, c in enumerate(curves):
        lab = labels[j] if labels else f"{c.model}"
        a1.plot(c.values, c.frequency_hz / 1e3, "o-", ms=3, label=lab)
        if np.isfinite(c.closed_form_hz).any():
            a1.plot(c.values, c.closed_form_hz / 1e3, "k--", lw=0.8, label=f"{lab} closed form")
        a2.plot(c.values, c.energy_per_spike_j * 1e9, "o-", ms=3)
    c0 = curves[0]
    a1.set_ylabel("frequency [kHz]")
    a2.set_ylabel("source energy / spike [nJ]")
    a2.set_xlabel(f"{c0.parameter} [{c0.unit}]")
    a1.legend(fontsize=7)
    return save(fig, path, dpi=120)
