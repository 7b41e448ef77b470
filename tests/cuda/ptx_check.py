"""Compile every CUDA kernel of autograd/backend/cuda.py to PTX for a Hopper GPU
(sm_90) and print one JSON line per kernel signature: what the simulator lets through
(NumPy calls, untyped Python, float64 promotion, registers spilled to local memory)
shows up here. Run by test_cuda_ptx.py in a child process with the simulator off, since
numba cannot compile for a GPU in a process that has the simulator on.

No GPU is needed: numba-cuda's NVVM (the `cuda` extra) compiles. One thing does ask the
driver: device functions are compiled for "the current device's" compute capability.
Without a GPU there is none, so the check answers for it: the Hopper target it compiles
every kernel for anyway.
"""
import json
import os
import re
import sys
import time

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "0", "run with NUMBA_ENABLE_CUDASIM=0"

import numba.cuda.dispatcher as _dispatcher                          # noqa: E402
from numba import cuda, types                                          # noqa: E402
from numba.cuda.random import xoroshiro128p_type                      # noqa: E402

CC = (9, 0)


class _Hopper:
    compute_capability = CC


_dispatcher.get_current_device = lambda: _Hopper()

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from autograd.backend import cuda as C                                 # noqa: E402

i64, b1 = types.int64, types.boolean
f32, f64 = types.float32, types.float64


def A(t):
    return t[::1]


def T(n):
    return types.UniTuple(i64, n)


def elementwise(t):
    return {
        "_k_unary": (i64, i64, T(2), A(t), i64, T(2), A(t), i64, T(2)),
        "_k_unary_pred": (i64, i64, T(2), A(b1), i64, T(2), A(t), i64, T(2)),
        "_k_cast": (i64, T(3), A(t), i64, T(3), A(t), i64, T(3)),
        "_k_fill": (i64, T(1), A(t), i64, T(1), t),
        "_k_binary": (i64, i64, i64, T(2), A(t), i64, T(2), A(t), i64, T(2), t, A(t), i64,
                      T(2), t),
        "_k_binary_pred": (i64, i64, i64, T(2), A(b1), i64, T(2), A(t), i64, T(2), t, A(t),
                           i64, T(2), t),
        "_k_where": (i64, i64, T(2), A(t), i64, T(2), A(b1), i64, T(2), A(t), i64, T(2), t,
                     A(t), i64, T(2), t),
        "_k_reduce_rows": (i64, i64, i64, A(t), i64, i64, i64, t, A(t)),
        "_k_reduce_cols": (i64, i64, i64, A(t), i64, i64, i64, t, A(t)),
        "_k_reduce_serial": (i64, i64, i64, A(t), i64, i64, i64, t, A(t)),
        "_k_matmul": (i64, i64, i64, i64, A(t), i64, i64, i64, i64, A(t), i64, i64, i64, i64,
                      A(t), t),
        "_k_gather": (i64, i64, i64, A(t), A(t), i64, A(i64), T(1), T(1), T(2), T(2)),
        "_k_scatter": (b1, i64, i64, i64, A(t), i64, A(i64), T(1), T(1), T(1), T(1), A(t)),
        "_k_im2col2d": (A(t), i64, i64, i64, i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_col2im2d": (A(t), i64, i64, i64, i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_im2col1d": (A(t), i64, i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_col2im1d": (A(t), i64, i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_winograd_in": (A(t), i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_winograd_in_adjoint": (A(t), i64, i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_winograd_out": (A(t), i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_winograd_out_adjoint": (A(t), i64, i64, i64, i64, i64, A(t), t, i64),
        "_k_winograd_weight": (A(t), i64, i64, A(t), t, t, i64),
        "_k_winograd_weight_adjoint": (A(t), i64, i64, A(t), t, t, i64),
        "_k_row_lse": (A(t), i64, i64, A(t), t),
        "_k_xent_loss": (A(t), i64, A(i64), A(t), A(t), i64),
        "_k_xent_backward": (A(t), i64, A(i64), A(t), A(t), A(t), i64),
        "_k_softmax_rows": (A(t), i64, i64, i64, b1, A(t), t),
        "_k_gauss_lse": (A(t), A(t), i64, i64, i64, t, A(t), t),
        "_k_adam": (A(t), A(t), A(t), A(t), t, t, t, t, t, t, t, b1, i64),
        "_k_langevin": (A(t), A(t), A(t), t, t, A(t), i64),
    }


# Kernels that work in float64 on purpose whatever their inputs (the reference does
# too): a statistic that cancels (MMD), the MALA acceptance ratio, the exact 2^n sums.
DOUBLE_BY_DESIGN = {
    "_k_kernel_rows": (A(f32), A(f32), i64, i64, i64, f64, b1, A(f64)),
    "_k_mala": (A(f32), A(f32), A(f64), A(f32), A(f32), A(f64), A(f64), i64, i64, f64, f64,
                A(f32), A(b1)),
    "_k_quadratic_energies": (A(f64), A(f64), i64, b1, i64, i64, A(f64)),
    "_k_quadratic_logz": (A(f64), A(f64), i64, b1, i64, i64, A(f64), A(f64)),
    "_k_random64": (i64, i64, A(f64), A(xoroshiro128p_type)),
}
RANDOM32 = {"_k_random32": (i64, i64, A(f32), A(xoroshiro128p_type))}

# Instructions that touch float64: arithmetic, conversions to/from f64, f64 loads/stores.
F64 = re.compile(r"\b([a-z][a-z0-9]*(?:\.[a-z0-9]+)*\.f64(?:\.[a-z0-9]+)*)\b")


def compile_one(name, sig):
    t0 = time.perf_counter()
    ptx, _ = cuda.compile_ptx(getattr(C, name).py_func, sig, cc=CC)
    f64 = F64.findall(ptx)
    return {"ptx_bytes": len(ptx), "f64": len(f64), "f64_ops": sorted(set(f64)),
            "local_memory": ".local" in ptx, "seconds": round(time.perf_counter() - t0, 3)}


def main():
    jobs = [(n, "float32", s) for n, s in elementwise(f32).items()]
    jobs += [(n, "float64", s) for n, s in elementwise(f64).items()]
    jobs += [(n, "float32", s) for n, s in RANDOM32.items()]
    jobs += [(n, "float64-by-design", s) for n, s in DOUBLE_BY_DESIGN.items()]
    for name, label, sig in jobs:
        try:
            out = compile_one(name, sig)
        except Exception as e:          # reported, not raised: the test names them all
            out = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
        print(json.dumps({"kernel": name, "dtype": label, **out}), flush=True)


if __name__ == "__main__":
    main()
