"""Vectorisable double-precision exp, expm1 and sin for the Numba kernels (private).

``math.exp`` & co. compile to calls into the C library, which stop LLVM from vectorising a loop. The functions
here are plain arithmetic (Cody-Waite range reduction, a near-minimax polynomial, and the scale 2^n built from the
exponent bits), so a loop over a block of neurons that uses them compiles to SIMD code
(AVX2 / AVX-512 where the CPU has them). Accuracy: a few ulp over the ranges stated in each docstring
(``tests/unit/circuits/test_vmath.py`` checks them against ``math``).

References: W. J. Cody and W. Waite, *Software Manual for the Elementary Functions* (1980), ch. 6 and 8
(argument reduction with a two-part constant); J.-M. Muller, *Elementary Functions*, 3rd ed. (2016), ch. 3
(polynomial approximation, Chebyshev interpolation) and ch. 11; D. E. Knuth, *TAOCP* vol. 2, 4.6.4 (Estrin).
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

# Polynomial coefficients: Chebyshev interpolants (near-minimax) computed in 50-digit arithmetic (mpmath) and
# rounded to double; fewer terms than the Taylor series for the same accuracy, which matters because the
# electro-thermal kernel is bound by floating-point throughput. P is evaluated by Estrin's scheme (shorter
# dependency chains: 7 % faster kernel), Q by Horner's rule (Estrin measured slower there). Max errors of the
# rounded polynomials, evaluated exactly, on 2000 points:
# e^r - 1 = r + r^2 P(r), |r| <= ln2/2, P of degree 9: 4.1e-17 relative;
# sin r = r + r^3 Q(r^2), |r| <= pi/2, Q of degree 7: 3.6e-17 absolute.
_P = (0.5000000000000001, 0.16666666666666669, 0.041666666666624164, 0.008333333333330065, 0.0013888888917196719,
      0.00019841269863040545, 2.4801521322368692e-05, 2.7557268480310024e-06, 2.7620075879983367e-07,
      2.5100375832561234e-08)
_Q = (-0.16666666666666666, 0.008333333333333316, -0.00019841269841254974, 2.7557319219163234e-06,
      -2.5052107616996182e-08, 1.6058977312464087e-10, -7.643970296798572e-13, 2.7314447669863995e-15)
_P0, _P1, _P2, _P3, _P4, _P5, _P6, _P7, _P8, _P9 = _P
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7 = _Q


@intrinsic
def _f64_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (LLVM bitcast; vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a b + c rounded once (llvm.fma: one vfmadd instruction; vectorisable).

    Written out instead of letting the compiler contract ``a * b + c`` (``fastmath={"contract"}``): contraction is
    decided at code generation, and Numba's cached and freshly compiled kernels were seen to contract different
    expressions, so the last bits of a seeded run depended on whether the kernel came from the cache.
    """
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])

    return sig, codegen


@njit(cache=True, inline="always")
def _expm1_poly(r: float) -> float:
    """e^r - 1 on |r| <= ln2/2 (r + r^2 P(r), Estrin)."""
    r2 = r * r
    r4 = r2 * r2
    a0 = _fma(_P1, r, _P0)
    a1 = _fma(_P3, r, _P2)
    a2 = _fma(_P5, r, _P4)
    a3 = _fma(_P7, r, _P6)
    a4 = _fma(_P9, r, _P8)
    p = _fma(a4, r4 * r4, _fma(_fma(a3, r2, a2), r4, _fma(a1, r2, a0)))
    return _fma(r2, p, r)


@njit(cache=True, inline="always")
def _exp_parts(x: float) -> tuple[float, float]:
    """(2^n, e^r - 1) with x = n ln2 + r, |r| <= ln2/2, for x clamped to |x| <= 700 [-]."""
    if x > _X_MAX:
        x = _X_MAX
    elif x < -_X_MAX:
        x = -_X_MAX
    n = math.floor(_fma(x, _LOG2E, 0.5))
    r = _fma(-n, _LN2_LO, _fma(-n, _LN2_HI, x))
    return _f64_from_bits((int(n) + 1023) << 52), _expm1_poly(r)


@njit(cache=True, inline="always")
def vexp(x: float) -> float:
    """e^x for |x| <= 700 (clamped outside) [-]: x = n ln2 + r, e^x = 2^n (1 + expm1(r))."""
    scale, p = _exp_parts(x)
    return _fma(scale, p, scale)


@njit(cache=True, inline="always")
def vexpm1(x: float) -> float:
    """e^x - 1 for x <= 700 [-], without cancellation for small |x|.

    One polynomial: x = n ln2 + r, e^x - 1 = (2^n - 1) + 2^n expm1(r). For |x| < ln2/2, n = 0 and r = x exactly,
    so the result is the polynomial itself (no cancellation); for |n| >= 1, |e^x - 1| > 0.29 and the sum loses at
    most a bit.
    """
    scale, p = _exp_parts(x)
    return _fma(scale, p, scale - 1.0)


@njit(cache=True, inline="always")
def _sin_reduced(x: float, k: float) -> float:
    """sin(r) with r = x - k pi (k pi subtracted in two parts), |r| <= pi/2: r + r^3 Q(r^2) [-]."""
    r = _fma(-k, _PI_LO, _fma(-k, _PI_HI, x))
    r2 = r * r
    q = _fma(_Q7, r2, _Q6)
    q = _fma(q, r2, _Q5)
    q = _fma(q, r2, _Q4)
    q = _fma(q, r2, _Q3)
    q = _fma(q, r2, _Q2)
    q = _fma(q, r2, _Q1)
    q = _fma(q, r2, _Q0)
    return _fma(r * r2, q, r)


@njit(cache=True, inline="always")
def vsin(x: float) -> float:
    """sin(x) for |x| <= 1e6 [-]: x = k pi + r, |r| <= pi/2, sin x = (-1)^k sin r (r + r^3 Q(r^2)).

    k pi is subtracted in two parts (k _PI_HI exact for |k| < 2^20), so the reduced argument keeps full
    precision over the stated range.
    """
    k = math.floor(_fma(x, _INV_PI, 0.5))
    s = _sin_reduced(x, k)
    odd = k - 2.0 * math.floor(0.5 * k)
    return _fma(-2.0 * odd, s, s)
