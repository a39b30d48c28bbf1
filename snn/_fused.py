r"""Compiled CPU kernel of the VO2 neuron recursion (forward and BPTT backward in one loop each).

The pure-torch :class:`vo2neuro.snn.neuron._VO2Sequence` launches ~10 small ATen operations per time step in
the forward and ~3 in the backward, plus ~15 vectorised ones over ``[T, ...]``; at snntorch-sized layers
(``B N = 3e4``, ``T = 25``) those launches and the intermediate ``[T, B, N]`` tensors cost more than the
network's matrix products. Here the same recursion is one C++ loop per direction, over the flattened state
``M = prod(S)`` in the inner (vectorisable) loop, the time axis in the middle loop and chunks of ``M`` across
``at::parallel_for`` (torch's own thread pool and thread count). Only the pre-reset voltage ``c`` and the
Only the pre-reset voltage ``c`` is stored for the backward (the integrating mask is recomputed there from
``c``, the input and the initial refractory count); the spike train ``z`` is the output. The input may be given
in units of ``scale`` amperes (``I = x scale``, the modules' rheobase units), which saves the separate
``[T, ...]`` multiplication and its backward.
The row loops are branch-free and built for AVX-512, AVX2 and baseline x86-64 (``target_clones``).

The extension is built at first use with :func:`torch.utils.cpp_extension.load_inline` (ATen headers only, no
pybind11; a few tens of seconds with gcc) and cached in ``$VO2NEURO_CACHE_DIR`` or
``$XDG_CACHE_HOME/vo2neuro/torch_extensions`` (default ``~/.cache/vo2neuro/torch_extensions``); later
processes load the cached library in well under a second. If the build or the load fails, :func:`ops` prints
one line to stderr and returns None, and the caller uses the pure-torch path (same values and gradients).
``VO2NEURO_FUSED=0`` disables the extension.

Floating-point order follows the pure-torch kernel operation by operation, except that the compiler, not
ATen's vector kernels, decides where to fuse multiply-adds: results agree to a few ulp, not bitwise.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from pathlib import Path

import torch

__all__: list[str] = []

_NAME = "vo2neuro_fused"

_SOURCE = r"""
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace {

// Work items (state elements x steps) per parallel chunk: below this one thread runs the whole loop.
constexpr int64_t kGrainWork = 1 << 16;

int64_t grain_for(int64_t T) { return std::max<int64_t>(1, kGrainWork / std::max<int64_t>(T, 1)); }

// The row kernels below are branch-free loops over the state elements of one time step, with every constant
// passed by value and restrict pointers, so that gcc vectorises them; target_clones builds AVX-512, AVX2 and
// baseline versions and picks one at load time. Masks are stored as 0/1 in the value type (same width).
#define VO2_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#if !defined(__x86_64__)
#undef VO2_CLONES
#define VO2_CLONES
#endif

// One forward step over n elements; v, r are the carried state (updated in place). i = x * scale [A].
#define VO2_FWD_ROW(T)                                                                                    \
  VO2_CLONES void fwd_row(const T* __restrict__ xt, T* __restrict__ v, T* __restrict__ r,                  \
                          T* __restrict__ ct, T* __restrict__ zt, int64_t n, T scale, T a, T oma, T vb,     \
                          T rl, T vth, T vh, T nref, T imax) {                                              \
    for (int64_t m = 0; m < n; ++m) {                                                                     \
      const T i = xt[m] * scale, vv = v[m], rr = r[m];                                                    \
      const bool active = rr <= T(0);                                                                     \
      const T drive = oma * (vb + rl * i);                                                                \
      const T c = active ? drive + a * vv : vv;               /* metallic: hold v */                      \
      const bool z = c >= vth;                                                                            \
      T rn = rr - T(1);                                                                                   \
      rn = rn < T(0) ? T(0) : rn;                                                                         \
      rn = z ? nref : rn;                                                                                 \
      const bool hold = (i >= imax) & (z | !active);          /* latch above i_max */                     \
      rn = (hold & (rn < T(1))) ? T(1) : rn;                                                              \
      ct[m] = c;                                                                                          \
      zt[m] = z ? T(1) : T(0);                                                                            \
      v[m] = z ? vh : c;                                                                                  \
      r[m] = rn;                                                                                          \
    }                                                                                                     \
  }
VO2_FWD_ROW(float)
VO2_FWD_ROW(double)

// The refractory recursion again, from the stored c (z = c >= v_th) and the input: writes the integrating
// mask (0/1) of the step into at_ (the backward's output buffer, overwritten by bwd_row), so that the
// forward stores only c.
#define VO2_ACT_ROW(T)                                                                                    \
  VO2_CLONES void act_row(const T* __restrict__ xt, const T* __restrict__ ct, T* __restrict__ r,           \
                          T* __restrict__ at_, int64_t n, T scale, T vth, T nref, T imax) {                \
    for (int64_t m = 0; m < n; ++m) {                                                                     \
      const T i = xt[m] * scale, rr = r[m];                                                               \
      const bool active = rr <= T(0);                                                                     \
      const bool z = ct[m] >= vth;                                                                        \
      T rn = rr - T(1);                                                                                   \
      rn = rn < T(0) ? T(0) : rn;                                                                         \
      rn = z ? nref : rn;                                                                                 \
      const bool hold = (i >= imax) & (z | !active);                                                      \
      rn = (hold & (rn < T(1))) ? T(1) : rn;                                                              \
      at_[m] = active ? T(1) : T(0);                                                                      \
      r[m] = rn;                                                                                          \
    }                                                                                                     \
  }
VO2_ACT_ROW(float)
VO2_ACT_ROW(double)

// Surrogate derivative sigma'(x): kind 0 = fast sigmoid 1/(1 + k|x|)^2 (kk = k), kind 1 = arctan
// (k/2)/(1 + (pi k x/2)^2) (kk = pi k/2, hk = k/2), both as the torch code evaluates them.
// One backward step over n elements: reads the mask from adi and overwrites it with dL/dx = dL/dI * scale;
// dv is the carried voltage gradient (updated in place).
#define VO2_BWD_ROW(T)                                                                                    \
  VO2_CLONES void bwd_row(const T* __restrict__ gzt, const T* __restrict__ xt, const T* __restrict__ ct,   \
                          T* __restrict__ adi, T* __restrict__ dv, int64_t n, T scale, T a, T vth,          \
                          T inv_vs, T dis, T imax, T irh, T kk, T hk, int kind) {                           \
    if (kind == 0) {                                                                                      \
      for (int64_t m = 0; m < n; ++m) {                                                                   \
        const T gz = gzt[m], c = ct[m], i = xt[m] * scale;                                                \
        const bool active = adi[m] != T(0);                                                               \
        const T d1 = T(1) + kk * std::abs((c - vth) * inv_vs);                                            \
        const T gzc = gz * ((T(1) / (d1 * d1)) * inv_vs);                                                 \
        const T dc = gzc + dv[m] * (c >= vth ? T(0) : T(1));  /* dv_t/dc_t = 1 - z_t */                   \
        dv[m] = active ? dc * a : dc;                         /* dc_t/dv_{t-1} = a or 1 */                \
        const T d2 = T(1) + kk * std::abs((imax - i) / irh);                                              \
        const T lat = gz * ((T(1) / (d2 * d2)) / irh);                                                    \
        const T di = active ? dc * dis : T(0);                                                            \
        adi[m] = ((!active & (i >= imax)) ? di - lat : di) * scale;  /* straight-through latch term */   \
      }                                                                                                   \
    } else {                                                                                              \
      for (int64_t m = 0; m < n; ++m) {                                                                   \
        const T gz = gzt[m], c = ct[m], i = xt[m] * scale;                                                \
        const bool active = adi[m] != T(0);                                                               \
        const T u1 = kk * ((c - vth) * inv_vs);                                                           \
        const T gzc = gz * ((hk / (T(1) + u1 * u1)) * inv_vs);                                            \
        const T dc = gzc + dv[m] * (c >= vth ? T(0) : T(1));                                              \
        dv[m] = active ? dc * a : dc;                                                                     \
        const T u2 = kk * ((imax - i) / irh);                                                             \
        const T lat = gz * ((hk / (T(1) + u2 * u2)) / irh);                                               \
        const T di = active ? dc * dis : T(0);                                                            \
        adi[m] = ((!active & (i >= imax)) ? di - lat : di) * scale;                                       \
      }                                                                                                   \
    }                                                                                                     \
  }
VO2_BWD_ROW(float)
VO2_BWD_ROW(double)

// The backward step of bwd_row (fast-sigmoid surrogate) that also accumulates, per element, the gradients with
// respect to the neuron's constants: da += dc (v_{t-1} - v_bias - R_leak i) on integrating steps
// (c = a v + (1 - a)(v_bias + R_leak i)), dvh += dv_t z_t (the reset value), dimax += the latch term. cprev is
// the previous step's c (v_{t-1} = v_h where it fired, else c), or null at t = 0, where v0 is used.
#define VO2_BWDP_ROW(T)                                                                                   \
  VO2_CLONES void bwdp_row(const T* __restrict__ gzt, const T* __restrict__ xt, const T* __restrict__ ct,  \
                           const T* __restrict__ cprev, const T* __restrict__ v0, T* __restrict__ adi,      \
                           T* __restrict__ dv, T* __restrict__ da, T* __restrict__ dvh,                     \
                           T* __restrict__ dim, int64_t n, T scale, T a, T vth, T vh, T inv_vs, T dis,      \
                           T imax, T irh, T kk, T vb, T rl) {                                               \
    for (int64_t m = 0; m < n; ++m) {                                                                     \
      const T gz = gzt[m], c = ct[m], i = xt[m] * scale;                                                  \
      const bool active = adi[m] != T(0);                                                                 \
      const bool z = c >= vth;                                                                            \
      const T d1 = T(1) + kk * std::abs((c - vth) * inv_vs);                                              \
      const T gzc = gz * ((T(1) / (d1 * d1)) * inv_vs);                                                   \
      dvh[m] += z ? dv[m] : T(0);                                                                         \
      const T dc = gzc + dv[m] * (z ? T(0) : T(1));                                                       \
      const T vp = cprev ? (cprev[m] >= vth ? vh : cprev[m]) : v0[m];                                     \
      da[m] += active ? dc * (vp - (vb + rl * i)) : T(0);                                                 \
      dv[m] = active ? dc * a : dc;                                                                       \
      const T d2 = T(1) + kk * std::abs((imax - i) / irh);                                                \
      const T lat = gz * ((T(1) / (d2 * d2)) / irh);                                                      \
      const T di = active ? dc * dis : T(0);                                                              \
      const bool latched = !active & (i >= imax);                                                         \
      dim[m] += latched ? lat : T(0);                                                                     \
      adi[m] = (latched ? di - lat : di) * scale;                                                         \
    }                                                                                                     \
  }
VO2_BWDP_ROW(float)
VO2_BWDP_ROW(double)

// x: [T, M] input in units of `scale` amperes (I = x * scale); v0, ref0: [M]. Returns z, v, ref, c.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> vo2_forward(
    const at::Tensor& x, const at::Tensor& v0, const at::Tensor& ref0, double scale, double a,
    double one_minus_a, double v_bias, double r_leak, double v_th, double v_h, double n_ref, double i_max) {
  TORCH_CHECK(x.device().is_cpu() && x.dim() == 2 && x.is_contiguous(), "x: contiguous CPU [T, M]");
  const int64_t Tn = x.size(0), M = x.size(1);
  TORCH_CHECK(v0.numel() == M && ref0.numel() == M && v0.scalar_type() == x.scalar_type() &&
              ref0.scalar_type() == x.scalar_type(), "v0, ref0: [M] of the dtype of x");
  auto z = at::empty_like(x);
  auto c = at::empty_like(x);
  auto v = v0.reshape({M}).clone();
  auto r = ref0.reshape({M}).clone();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "vo2_forward", [&] {
    using T = scalar_t;
    const T* X = x.data_ptr<T>();
    T *Z = z.data_ptr<T>(), *C = c.data_ptr<T>(), *V = v.data_ptr<T>(), *R = r.data_ptr<T>();
    const T cs = T(scale), ca = T(a), coma = T(one_minus_a), cvb = T(v_bias), crl = T(r_leak), cvth = T(v_th),
            cvh = T(v_h), cnref = T(n_ref), cimax = T(i_max);
    at::parallel_for(0, M, grain_for(Tn), [=](int64_t b, int64_t e) {
      for (int64_t t = 0; t < Tn; ++t) {
        const int64_t o = t * M + b;
        fwd_row(X + o, V + b, R + b, C + o, Z + o, e - b, cs, ca, coma, cvb, crl, cvth, cvh, cnref, cimax);
      }
    });
  });
  return {z, v, r, c};
}

// Returns dL/dx [T, M] and dL/dv0 [M].
std::tuple<at::Tensor, at::Tensor> vo2_backward(
    const c10::optional<at::Tensor>& gz, const c10::optional<at::Tensor>& gv, const at::Tensor& x,
    const at::Tensor& c, const at::Tensor& ref0, double scale, double a, double v_th, double n_ref,
    double inv_vs, double di_scale, double i_max, double i_rh, double kk, double half_k, int64_t kind) {
  const int64_t Tn = c.size(0), M = c.size(1);
  at::Tensor g = (gz.has_value() && gz->defined()) ? gz->reshape({Tn, M}).contiguous() : at::zeros_like(c);
  at::Tensor dv = (gv.has_value() && gv->defined()) ? gv->reshape({M}).clone() : at::zeros({M}, c.options());
  TORCH_CHECK(g.scalar_type() == c.scalar_type() && dv.scalar_type() == c.scalar_type(), "gradients: dtype of c");
  auto di = at::empty_like(c);
  auto r = ref0.reshape({M}).clone();
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "vo2_backward", [&] {
    using T = scalar_t;
    const T *G = g.data_ptr<T>(), *X = x.data_ptr<T>(), *C = c.data_ptr<T>();
    T *DV = dv.data_ptr<T>(), *DI = di.data_ptr<T>(), *R = r.data_ptr<T>();
    const T cs = T(scale), ca = T(a), cvth = T(v_th), cnref = T(n_ref), cinv = T(inv_vs), cdis = T(di_scale),
            cimax = T(i_max), cirh = T(i_rh), ckk = T(kk), chk = T(half_k);
    const int k = static_cast<int>(kind);
    at::parallel_for(0, M, grain_for(Tn), [=](int64_t b, int64_t e) {
      for (int64_t t = 0; t < Tn; ++t) {
        const int64_t o = t * M + b;
        act_row(X + o, C + o, R + b, DI + o, e - b, cs, cvth, cnref, cimax);
      }
      for (int64_t t = Tn - 1; t >= 0; --t) {
        const int64_t o = t * M + b;
        bwd_row(G + o, X + o, C + o, DI + o, DV + b, e - b, cs, ca, cvth, cinv, cdis, cimax, cirh, ckk, chk, k);
      }
    });
  });
  return {di, dv};
}

// backward (fast-sigmoid surrogate) plus the gradients with respect to a, v_h and i_max, per element [M]:
// returns dL/dx [T, M], dL/dv0 [M], dL/da [M], dL/dv_h [M], dL/di_max [M].
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> vo2_backward_params(
    const c10::optional<at::Tensor>& gz, const at::Tensor& x, const at::Tensor& c, const at::Tensor& ref0,
    const at::Tensor& v0, double scale, double a, double v_th, double v_h, double n_ref, double inv_vs,
    double di_scale, double i_max, double i_rh, double kk, double v_bias, double r_leak) {
  const int64_t Tn = c.size(0), M = c.size(1);
  at::Tensor g = (gz.has_value() && gz->defined()) ? gz->reshape({Tn, M}).contiguous() : at::zeros_like(c);
  TORCH_CHECK(g.scalar_type() == c.scalar_type() && v0.numel() == M, "gradients, v0: dtype of c, [M]");
  at::Tensor v0c = v0.reshape({M}).contiguous();
  auto dv = at::zeros({M}, c.options());
  auto da = at::zeros({M}, c.options());
  auto dvh = at::zeros({M}, c.options());
  auto dim = at::zeros({M}, c.options());
  auto di = at::empty_like(c);
  auto r = ref0.reshape({M}).clone();
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "vo2_backward_params", [&] {
    using T = scalar_t;
    const T *G = g.data_ptr<T>(), *X = x.data_ptr<T>(), *C = c.data_ptr<T>(), *V0 = v0c.data_ptr<T>();
    T *DV = dv.data_ptr<T>(), *DI = di.data_ptr<T>(), *R = r.data_ptr<T>(), *DA = da.data_ptr<T>(),
      *DVH = dvh.data_ptr<T>(), *DIM = dim.data_ptr<T>();
    const T cs = T(scale), ca = T(a), cvth = T(v_th), cvh = T(v_h), cnref = T(n_ref), cinv = T(inv_vs),
            cdis = T(di_scale), cimax = T(i_max), cirh = T(i_rh), ckk = T(kk), cvb = T(v_bias), crl = T(r_leak);
    at::parallel_for(0, M, grain_for(Tn), [=](int64_t b, int64_t e) {
      for (int64_t t = 0; t < Tn; ++t) {
        const int64_t o = t * M + b;
        act_row(X + o, C + o, R + b, DI + o, e - b, cs, cvth, cnref, cimax);
      }
      for (int64_t t = Tn - 1; t >= 0; --t) {
        const int64_t o = t * M + b;
        bwdp_row(G + o, X + o, C + o, t > 0 ? C + o - M : nullptr, V0 + b, DI + o, DV + b, DA + b, DVH + b,
                 DIM + b, e - b, cs, ca, cvth, cvh, cinv, cdis, cimax, cirh, ckk, cvb, crl);
      }
    });
  });
  return {di, dv, da, dvh, dim};
}

}  // namespace

TORCH_LIBRARY(vo2neuro_fused, m) {
  m.def("forward", &vo2_forward);
  m.def("backward", &vo2_backward);
  m.def("backward_params", &vo2_backward_params);
}
"""

_lock = threading.Lock()
_state: dict = {}


def cache_dir() -> Path:
    """Build folder of the extension: ``$VO2NEURO_CACHE_DIR`` or ``$XDG_CACHE_HOME/vo2neuro/torch_extensions``."""
    root = os.environ.get("VO2NEURO_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "vo2neuro" / "torch_extensions"


def _build():
    from torch.utils import cpp_extension

    key = hashlib.sha1(f"{_SOURCE}|{torch.__version__}|{sys.version}".encode()).hexdigest()[:12]
    build = cache_dir() / f"{_NAME}_{key}"
    build.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    flags = ["-O3", "-fno-trapping-math", "-fopenmp"]
    cpp_extension.load_inline(name=_NAME, cpp_sources=[_SOURCE], extra_cflags=flags, extra_ldflags=["-fopenmp"],
                              build_directory=str(build), is_python_module=False, verbose=False)
    _state["load_s"] = time.perf_counter() - t0
    return torch.ops.vo2neuro_fused


def ops():
    """The compiled ``forward``/``backward`` ops, building them at first use; None if disabled or unavailable.

    A failure is reported once, on one line to stderr, and then remembered for the process.
    """
    if "ops" in _state:
        return _state["ops"]
    with _lock:
        if "ops" not in _state:
            if os.environ.get("VO2NEURO_FUSED", "1").strip().lower() in ("0", "false", "no", "off"):
                _state["ops"], _state["error"] = None, "disabled by VO2NEURO_FUSED=0"
            else:
                try:
                    _state["ops"] = _build()
                except Exception as exc:  # noqa: BLE001 - any build/load failure means: use the torch path
                    msg = " ".join(str(exc).split())[:300]
                    _state["ops"], _state["error"] = None, f"{type(exc).__name__}: {msg}"
                    print(f"vo2neuro: compiled VO2 kernel unavailable, using the slower pure-torch path "
                          f"({_state['error']}; build folder {cache_dir()})", file=sys.stderr)
    return _state["ops"]


def status() -> dict:
    """``{"available": bool, "load_s": seconds of the first build or load, "error": str or None}``."""
    ops()
    return {"available": _state.get("ops") is not None, "load_s": _state.get("load_s"),
            "error": _state.get("error")}
