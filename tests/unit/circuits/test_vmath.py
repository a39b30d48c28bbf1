"""Vectorisable elementary functions of ``circuits._vmath`` against numpy's libm (the independent reference)."""
from __future__ import annotations

import numpy as np
from numba import njit

from vo2neuro.circuits._vmath import vexp, vexpm1, vsin


@njit(cache=True, error_model="numpy")
def _apply(x, out):
    for i in range(x.size):
        out[0, i] = vexp(x[i])
        out[1, i] = vexpm1(x[i])
        out[2, i] = vsin(x[i])


def _eval(x):
    out = np.empty((3, x.size))
    _apply(x, out)
    return out


def test_exp_expm1_relative_error():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-700, 700, 20000), rng.uniform(-1, 1, 20000), rng.uniform(-1e-9, 1e-9, 2000),
                        [0.0, -0.3465, 0.3466, 1e-300]])
    v = _eval(x)
    assert np.max(np.abs(v[0] / np.exp(x) - 1)) < 1e-15
    nz = x != 0.0
    assert np.max(np.abs(v[1][nz] / np.expm1(x[nz]) - 1)) < 1e-15 and np.all(v[1][~nz] == 0.0)


def test_exp_clamps_instead_of_overflowing():
    v = _eval(np.array([800.0, -800.0]))
    assert np.isfinite(v[0]).all() and v[0, 0] > 1e300 and 0.0 < v[0, 1] < 1e-300


def test_sin_absolute_error():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-10, 10, 20000), rng.uniform(-1e5, 1e5, 20000), [0.0, np.pi, -np.pi / 2]])
    assert np.max(np.abs(_eval(x)[2] - np.sin(x))) < 1e-15
