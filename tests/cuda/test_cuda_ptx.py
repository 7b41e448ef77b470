"""Every CUDA kernel compiles to PTX for Hopper (sm_90), without a GPU, and the PTX says
what the simulator cannot: no float64 arithmetic in float32 kernels (a float literal
without float32(...) or a NumPy call would bring it), no local-memory spills in the
matmul (its 8x8 register tile must stay in registers), no typing errors.

ptx_check.py compiles in a child process with the simulator off (numba cannot compile
for a GPU in a process that has the simulator on); this test reads its JSON lines.
"""
import inspect
import json
import subprocess

import pytest
from numba import cuda as numba_cuda

from autograd.backend import cuda as C

from cudatest import PTX_KEY, start_ptx_check

# float64 instructions that NVIDIA's libdevice brings into float32 code, on paths that
# are not ours: sinf/cosf/tanf reduce huge arguments (|x| > 1e5) with a float64 product
# and a table in local memory (Payne-Hanek), and numba's xoroshiro128p float32 uniform
# converts its 64 random bits through float64.
LIBDEVICE_TRIG = {"cvt.rn.f32.f64", "cvt.rn.f64.s64", "mul.f64"}
ALLOWED_F64_IN_FLOAT32 = {"_k_unary": LIBDEVICE_TRIG,                    # sin, cos, tan
                          "_k_random32": LIBDEVICE_TRIG | {"cvt.rn.f64.u64"}}
# Local memory that is meant: libdevice's trig tables, and the 2^n enumeration's
# per-thread unit and field vectors (30 doubles each, indexed by a loop variable).
ALLOWED_LOCAL = {"_k_unary", "_k_random32", "_k_random64", "_k_quadratic_energies",
                 "_k_quadratic_logz"}


@pytest.fixture(scope="module")
def ptx_results(request):
    proc = request.config.stash.get(PTX_KEY, None) or start_ptx_check()
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        if "NVVM" in stderr or "libnvvm" in stderr:
            pytest.fail("NVVM is missing: install the cuda extra (pip install -e '.[cuda]', "
                        "numba-cuda[cu13] brings nvidia-nvvm)\n" + stderr[-2000:])
        pytest.fail(stderr[-3000:])
    return lines


def test_every_kernel_compiles_for_hopper(ptx_results):
    errors = [f"{r['kernel']} ({r['dtype']}): {r['error']}" for r in ptx_results
              if "error" in r]
    assert not errors, "\n".join(errors)


def test_every_kernel_in_the_module_is_checked(ptx_results):
    """A new kernel must be added to ptx_check.py's signature tables."""
    kernels = {name for name, obj in vars(C).items()
               if name.startswith("_k_") and hasattr(obj, "py_func")}
    assert kernels == set(C.KERNELS)
    assert kernels == {r["kernel"] for r in ptx_results}


def test_float32_kernels_stay_in_float32(ptx_results):
    bad = []
    for r in ptx_results:
        if r["dtype"] != "float32" or "error" in r:
            continue
        extra = set(r["f64_ops"]) - ALLOWED_F64_IN_FLOAT32.get(r["kernel"], set())
        if extra:
            bad.append(f"{r['kernel']}: {sorted(extra)}")
    assert not bad, "float64 instructions in float32 kernels:\n" + "\n".join(bad)


def test_no_register_spills_where_none_are_meant(ptx_results):
    spills = sorted({r["kernel"] for r in ptx_results
                     if r.get("local_memory") and r["kernel"] not in ALLOWED_LOCAL})
    assert not spills, spills
    matmul = [r for r in ptx_results if r["kernel"] == "_k_matmul"]
    assert len(matmul) == 2 and not any(r["local_memory"] for r in matmul)


def test_float64_kernels_compile_as_float64(ptx_results):
    """The same source serves float64: its kernels do compute in float64."""
    f64 = [r for r in ptx_results if r["dtype"] == "float64" and "error" not in r]
    assert f64 and all(r["f64"] > 0 for r in f64 if r["kernel"] not in ("_k_unary_pred",))


def test_kernels_call_no_numpy():
    """A NumPy call inside a kernel fails to compile (above); this names it directly."""
    src = inspect.getsource(C)
    for name in C.KERNELS:
        body = inspect.getsource(getattr(C, name).py_func)
        assert "np." not in body and "numpy" not in body, name
    assert "import numpy as np" in src


def test_the_simulator_is_on_without_a_gpu():
    """tests/conftest.py turned it on before numba was imported (no GPU here), or
    there is a GPU and these tests ran on it."""
    assert C.SIMULATOR or numba_cuda.is_available()
