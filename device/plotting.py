"""Figures of device characterisation (PNG). matplotlib is imported inside each function only."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from vo2neuro._plot import pyplot, save
from vo2neuro.device.characterize import IVCurve, RTLoop, VoltageSweep

__all__ = ["plot_rt", "plot_iv", "plot_sweep"]


def _pyplot():
    return pyplot()


def _save(fig, path: str | os.PathLike) -> Path:
    return save(fig, path)


def plot_rt(loops: Sequence[RTLoop], path: str | os.PathLike) -> Path:
    """R(T) hysteresis loops (log R) with T_IMT marks; minor-loop paths dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, lp in enumerate(loops):
        c = f"C{i}"
        label = f"{lp.preset} (delta={lp.delta:g})"
        ax.semilogy(lp.T_heat, lp.R_heat, color=c, label=f"{label} heating")
        ax.semilogy(lp.T_cool, lp.R_cool, color=c, ls=":", label=f"{label} cooling")
        if lp.T_minor.size:
            ax.semilogy(lp.T_minor, lp.R_minor, color=c, ls="--", lw=1, label=f"{label} minor loop")
        for T in (lp.t_imt_heating_k, lp.t_imt_cooling_k):
            ax.axvline(T, color=c, lw=0.5, alpha=0.5)
    ax.set_xlabel("T [K]")
    ax.set_ylabel("R [Ohm]")
    ax.set_title("Resistance-temperature hysteresis")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_iv(curves: Sequence[IVCurve], path: str | os.PathLike) -> Path:
    """Steady-state S-shaped I-V curves with (V_th, I_th) and (V_h, I_h) marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, iv in enumerate(curves):
        c = f"C{i}"
        label = f"{iv.preset} (delta={iv.delta:g}, {iv.ambient_k:g} K)"
        mh, mc = iv.I_heat > 0, iv.I_cool > 0  # the rest point I = 0 has no place on a log axis
        ax.plot(iv.I_heat[mh] * 1e3, iv.V_heat[mh], color=c, label=f"{label} heating")
        ax.plot(iv.I_cool[mc] * 1e3, iv.V_cool[mc], color=c, ls=":", label=f"{label} cooling")
        if iv.has_ndr:
            ax.plot([iv.i_th_a * 1e3], [iv.v_th_v], "o", color=c)
            ax.plot([iv.i_h_a * 1e3], [iv.v_h_v], "s", color=c)
            ax.annotate(f"V_th={iv.v_th_v:.2f} V", (iv.i_th_a * 1e3, iv.v_th_v), fontsize=7,
                        xytext=(5, 5), textcoords="offset points")
            ax.annotate(f"V_h={iv.v_h_v:.2f} V", (iv.i_h_a * 1e3, iv.v_h_v), fontsize=7,
                        xytext=(5, -12), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("I [mA]")
    ax.set_ylabel("V [V]")
    ax.set_title("Steady-state current-driven I-V")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_sweep(sweeps: Sequence[VoltageSweep], path: str | os.PathLike) -> Path:
    """Transient I-V of a triangular voltage sweep through a series resistor (hysteresis)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, sw in enumerate(sweeps):
        ax.plot(sw.v_src, sw.i_dev * 1e3, color=f"C{i}",
                label=f"{sw.preset}, R_s={sw.r_series_ohm:g} Ohm, {sw.ambient_k:g} K")
    ax.set_xlabel("V_source [V]")
    ax.set_ylabel("I [mA]")
    ax.set_title("Transient voltage sweep")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)
