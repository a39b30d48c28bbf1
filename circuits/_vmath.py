"""Vectorisable double-precision exp, expm1, logistic and sin for the Numba kernels (private).

``math.exp`` & co. compile to calls into the C library, which stop LLVM from vectorising a loop. The functions
here are plain arithmetic (Cody-Waite range reduction, a Taylor polynomial evaluated by Horner's rule, and the
scale 2^n built from the exponent bits), so a loop over a block of neurons that uses them compiles to SIMD code
(AVX2 / AVX-512 where the CPU has them). Accuracy: a few ulp over the ranges stated in each docstring
(``tests/unit/circuits/test_vmath.py`` checks them against ``math``).

References: W. J. Cody and W. Waite, *Software Manual for the Elementary Functions* (1980), ch. 6 and 8
(argument reduction with a two-part constant); J.-M. Muller, *Elementary Functions*, 3rd ed. (2016), ch. 11.
"""
from __future__ import annotations

import math

from numba import njit, types
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
_LN2_HI = 0.693147180369123816490     # ln 2 split so that n * _LN2_HI is exact for |n| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_PI_HI = 3.14159265346825122834       # pi split likewise: 33 significant bits (fdlibm's 2 pio2_1)
_PI_LO = 1.21542010130123844986e-10   # pi - _PI_HI (fdlibm's 2 pio2_1t)
_INV_PI = 0.3183098861837907
_X_MAX = 700.0                        # |x| bound of vexp: e^700 ~ 1e304 stays a normal double

# Taylor coefficients 1/k!, k = 2 .. 13: on |r| <= ln2/2 the truncation error is r^14/14! < 5e-18 relative.
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = (1.0 / math.factorial(k) for k in range(2, 14))


@intrinsic
def _f64_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (LLVM bitcast; vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@njit(cache=True, inline="always")
def _expm1_poly(r: float) -> float:
    """e^r - 1 on |r| <= ln2/2 (Taylor to r^13, Horner)."""
    p = _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    return r + r * r * p


@njit(cache=True, inline="always")
def _exp_parts(x: float) -> tuple[float, float]:
    """(2^n, e^r - 1) with x = n ln2 + r, |r| <= ln2/2, for x clamped to |x| <= 700 [-]."""
    if x > _X_MAX:
        x = _X_MAX
    elif x < -_X_MAX:
        x = -_X_MAX
    n = math.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    return _f64_from_bits((int(n) + 1023) << 52), _expm1_poly(r)


@njit(cache=True, inline="always")
def vexp(x: float) -> float:
    """e^x for |x| <= 700 (clamped outside) [-]: x = n ln2 + r, e^x = 2^n (1 + expm1(r))."""
    scale, p = _exp_parts(x)
    return scale + scale * p


@njit(cache=True, inline="always")
def vexpm1(x: float) -> float:
    """e^x - 1 for x <= 700 [-], without cancellation for small |x|.

    One polynomial: x = n ln2 + r, e^x - 1 = (2^n - 1) + 2^n expm1(r). For |x| < ln2/2, n = 0 and r = x exactly,
    so the result is the polynomial itself (no cancellation); for |n| >= 1, |e^x - 1| > 0.29 and the sum loses at
    most a bit.
    """
    scale, p = _exp_parts(x)
    return (scale - 1.0) + scale * p


@njit(cache=True, inline="always")
def vlogistic(y: float) -> float:
    """1/2 + 1/2 tanh(y) = 1/(1 + e^{-2y}) [-], accurate in relative terms at both ends (|y| <= 350)."""
    return 1.0 / (1.0 + vexp(-2.0 * y))


@njit(cache=True, inline="always")
def vsin(x: float) -> float:
    """sin(x) for |x| <= 1e6 [-]: x = k pi + r, |r| <= pi/2, sin x = (-1)^k sin r (odd Taylor to r^21).

    k pi is subtracted in two parts (k _PI_HI exact for |k| < 2^20), so the reduced argument keeps full
    precision over the stated range.
    """
    k = math.floor(x * _INV_PI + 0.5)
    r = (x - k * _PI_HI) - k * _PI_LO
    r2 = r * r
    # sin r = r (1 - r^2/3! + r^4/5! - ... - r^20/21!): truncation (pi/2)^23/23! < 2e-17 relative to sin r ~ 1
    p = -1.0 / 51090942171709440000.0
    p = p * r2 + 1.0 / 121645100408832000.0
    p = p * r2 - 1.0 / 355687428096000.0
    p = p * r2 + 1.0 / 1307674368000.0
    p = p * r2 - 1.0 / 6227020800.0
    p = p * r2 + 1.0 / 39916800.0
    p = p * r2 - 1.0 / 362880.0
    p = p * r2 + 1.0 / 5040.0
    p = p * r2 - 1.0 / 120.0
    p = p * r2 + 1.0 / 6.0
    s = r - r * r2 * p
    odd = k - 2.0 * math.floor(0.5 * k)
    return s - 2.0 * odd * s
