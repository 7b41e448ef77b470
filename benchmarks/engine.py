"""Engine overhead figures, printed as one JSON object.

- ``add_*``: the cost of one tiny Tensor op (10 elements) next to a plain NumPy add:
  what the engine's bookkeeping costs per primitive.
- ``mlp_step_ms``: one training step (zero_grad, forward, MSE, backward, Adam) of an
  MLP 2->128->128->2 with ReLU on a batch of 64: the workload of the 2-D demos. When
  torch is installed the same step in PyTorch on CPU runs in the same invocation
  (in a child process, rounds alternating with ours) with the same thread count as
  NumPy's BLAS, and ``ratio_ours_over_torch`` compares them (issue 2's target:
  <= 0.5). Medians per round after warm-up; the best round of each is reported.

Run: ``.venv/bin/python benchmarks/engine.py [--steps 400]``. Not a test: timings vary
with the machine and its load.
"""
import argparse
import ctypes
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import time

_START_ENV = dict(os.environ)       # before any backend import can change it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autograd  # noqa: E402,F401  (before NumPy: its thread settings, autograd/__init__.py)
import numpy as np  # noqa: E402

from autograd import Tensor  # noqa: E402
import autograd.functional as F  # noqa: E402
from autograd import nn, optim  # noqa: E402
from autograd.backend import kernels  # noqa: E402


def blas_threads():
    """The thread count of NumPy's bundled OpenBLAS, asked from the library itself;
    falls back to the environment, then to the CPU count."""
    libdir = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                    "openblas_get_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn())
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def median_ns(fn, repeats, inner):
    """Median over ``repeats`` timings of ``inner`` calls, per call, in ns."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter_ns() - t0) / inner)
    return statistics.median(times)


def bench_add():
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal(10).astype(np.float32)
    b_np = rng.standard_normal(10).astype(np.float32)
    a, b = Tensor(a_np), Tensor(b_np)
    ag, bg = Tensor(a_np, requires_grad=True), Tensor(b_np, requires_grad=True)
    out = {}
    out["numpy_add_ns"] = median_ns(lambda: a_np + b_np, 200, 1000)
    out["tensor_add_ns"] = median_ns(lambda: a + b, 200, 1000)
    out["tensor_add_graph_ns"] = median_ns(lambda: ag + bg, 200, 1000)
    out["tensor_add_over_numpy"] = out["tensor_add_ns"] / out["numpy_add_ns"]
    return out


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = rng.standard_normal((64, 2)).astype(np.float32)
    return x, y


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter_ns()
        step()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e6


def ours_step(x_np, y_np):
    model = nn.Sequential(nn.Linear(2, 128, rng=0), nn.ReLU(),
                          nn.Linear(128, 128, rng=1), nn.ReLU(),
                          nn.Linear(128, 2, rng=2))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = Tensor(x_np), Tensor(y_np)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return step


def torch_step(torch, x_np, y_np):
    tnn = torch.nn
    model = tnn.Sequential(tnn.Linear(2, 128), tnn.ReLU(), tnn.Linear(128, 128),
                           tnn.ReLU(), tnn.Linear(128, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step():
        opt.zero_grad()
        loss = tnn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return step


def torch_only(threads, warmup, steps):
    """The PyTorch step, timed in a process of its own (see run_torch)."""
    import torch
    torch.set_num_threads(threads)
    ms = time_steps(torch_step(torch, *_data()), warmup, steps)
    print(json.dumps({"ms": ms, "version": torch.__version__,
                      "threads": torch.get_num_threads()}))


def run_torch(threads, warmup, steps):
    """Time PyTorch in a child process with the environment this script started with.

    Not in this process: PyTorch and Numba's parallel layer would share one OpenMP
    runtime, and whichever loads first fixes its settings for both (our CPU backend
    asks for OMP_WAIT_POLICY=PASSIVE, PyTorch's default spins), so one side would run
    under the other's policy. None when torch is not installed."""
    try:
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            return None
    except (ImportError, ValueError):
        return None
    env = dict(_START_ENV)
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-only",
           "--threads", str(threads), "--warmup", str(warmup), "--steps", str(steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate ours/torch this many times; report the best median")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.torch_only:
        return torch_only(args.threads, args.warmup, args.steps)

    threads = blas_threads()
    import numba
    result = {"python": platform.python_version(), "numpy": np.__version__,
              "kernels": kernels().__name__.rsplit(".", 1)[-1], "blas_threads": threads,
              "numba_threads": numba.get_num_threads(),
              # as the CPU backend left it for Numba's OpenMP runtime in this process
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}
    result.update(bench_add())

    x_np, y_np = _data()
    ours = ours_step(x_np, y_np)
    ours_ms, torch_ms, torch_info = [], [], None
    for _ in range(args.rounds):       # alternate, so both see the same machine load
        ours_ms.append(time_steps(ours, args.warmup, args.steps))
        info = run_torch(threads, args.warmup, args.steps)
        if info is None:
            continue
        torch_info = info
        torch_ms.append(info["ms"])
    result["mlp_step_ms"] = min(ours_ms)
    if torch_info is not None:
        result["torch"] = torch_info["version"]
        result["torch_threads"] = torch_info["threads"]
        result["torch_omp_wait_policy"] = _START_ENV.get("OMP_WAIT_POLICY", "default")
        result["torch_mlp_step_ms"] = min(torch_ms)
        result["ratio_ours_over_torch"] = result["mlp_step_ms"] / result["torch_mlp_step_ms"]
        result["target_ratio"] = 0.5
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                      for k, v in result.items()}))


if __name__ == "__main__":
    main()
