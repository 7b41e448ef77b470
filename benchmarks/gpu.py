"""GPU figures for issue 10, printed as one JSON object.

- ``unet``: one training step (``train_step``: forward, MSE on the noise, backward,
  clipping, Adam, EMA) of the diffusion family's U-Net on 3x32x32 images, batch 128;
- ``transformer``: one step of the autoregressive family's tiny GPT with context 256,
  width 256, 4 layers, batch 64;
  each timed on the CPU (a child process pinned to ``--cpu-threads`` cores, 2 by
  default: the laptop the targets compare with) and on the GPU, and their ratio
  (target: the GPU step >= 10x faster);
- ``matmul``: the CUDA matmul kernel's TFLOP/s next to PyTorch's float32 matmul (TF32
  off) on the same GPU and the same shapes (the Transformer's and a square one), with
  the largest difference of the two results (target: >= 25% of PyTorch's throughput).

Models are built after ``use_device(...)``, exactly as ``scratch-gen train --device``
does, and timed as medians of ``--steps`` steps after ``--warmup`` steps (the first
steps compile every kernel; numba caches them on disk for the next run).

Run: ``.venv/bin/python benchmarks/gpu.py`` on a machine with an NVIDIA GPU and the
`cuda` extra. ``--tiny`` shrinks every shape so the script itself can be checked in
Numba's simulator (``NUMBA_ENABLE_CUDASIM=1 SCRATCH_GEN_CUDASIM=1``); its timings mean
nothing. Not a test: timings vary with the machine and its load.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autograd.backend as backend  # noqa: E402
from scratch_gen import registry  # noqa: E402
from scratch_gen.registry import DataSpec  # noqa: E402

TARGET_SPEEDUP = 10.0
TARGET_MATMUL_FRACTION = 0.25


def model_setup(name, tiny):
    """(family, variant, spec, config, batch) of a benchmark model."""
    rng = np.random.default_rng(0)
    if name == "unet":
        size, batch, base = (8, 4, 4) if tiny else (32, 128, 32)
        return ("diffusion", "ddpm", DataSpec("image", (3, size, size)),
                {"channels": base, "mults": [1, 2, 2], "T": 1000, "warmup": 1},
                rng.random((batch, 3, size, size)).astype(np.float32))
    if name == "transformer":
        ctx, width, layers, batch = (8, 16, 1, 2) if tiny else (256, 256, 4, 64)
        return ("autoregressive", "transformer", DataSpec("discrete", (ctx,), levels=64),
                {"d_model": width, "heads": 4, "layers": layers},
                rng.integers(0, 64, (batch, ctx)))
    raise ValueError(name)


def step_seconds(name, device, steps, warmup, tiny):
    """Median seconds of one train_step on `device` (GPU steps end in loss.item(), a
    synchronisation, so the time is the device's)."""
    family, variant, spec, config, batch = model_setup(name, tiny)
    backend.use_device(device)
    model = registry.build(family, variant, spec, config, rng=np.random.default_rng(1))
    rng = np.random.default_rng(2)
    model.setup(batch, None, rng)
    for _ in range(warmup):
        model.train_step(batch, None, rng)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.train_step(batch, None, rng)
        if device == "cuda":
            backend.cuda_module().synchronize()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "steps": steps,
            "parameters": int(sum(p.data.size for p in _parameters(model)))}


def _parameters(model):
    from autograd.nn import Module
    seen, out = set(), []
    for v in vars(model).values():
        if isinstance(v, Module):
            for p in v.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def cpu_step_in_child(name, threads, steps, warmup, tiny):
    """The CPU step in a child process limited to `threads` cores (BLAS, OpenMP and
    Numba thread counts, and the CPU affinity), so the figure is a small machine's
    even on the GPU host's many cores."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--child-cpu", name, "--steps",
           str(steps), "--warmup", str(warmup), "--cpu-threads", str(threads)]
    if tiny:
        cmd.append("--tiny")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def matmul_figures(tiny, repeats):
    """TFLOP/s of the CUDA matmul kernel and of PyTorch on the same shapes."""
    C = backend.cuda_module()
    shapes = [(16, 8, 24), (9, 5, 7)] if tiny else \
        [(16384, 256, 768), (16384, 1024, 256), (4096, 4096, 4096)]
    try:
        import torch
        has_torch = torch.cuda.is_available()
        if has_torch:
            torch.backends.cuda.matmul.allow_tf32 = False
    except ImportError:
        has_torch = False
    rng = np.random.default_rng(0)
    rows = []
    for M, K, N in shapes:
        a_h = rng.standard_normal((M, K)).astype(np.float32)
        b_h = rng.standard_normal((K, N)).astype(np.float32)
        a, b = C.asarray(a_h), C.asarray(b_h)
        ours = _time(lambda: C.matmul(a, b), C.synchronize, repeats)
        row = {"shape_MKN": [M, K, N], "ours_tflops": 2 * M * N * K / ours / 1e12}
        if has_torch:
            ta, tb = torch.from_numpy(a_h).cuda(), torch.from_numpy(b_h).cuda()
            theirs = _time(lambda: ta @ tb, torch.cuda.synchronize, repeats)
            row["torch_tflops"] = 2 * M * N * K / theirs / 1e12
            row["fraction_of_torch"] = row["ours_tflops"] / row["torch_tflops"]
            diff = np.abs(C.matmul(a, b).copy_to_host() - (ta @ tb).cpu().numpy())
            row["max_abs_diff"] = float(diff.max())
        else:
            row["torch_tflops"] = None
            row["max_abs_diff_vs_numpy"] = float(np.abs(C.matmul(a, b).copy_to_host()
                                                        - a_h @ b_h).max())
        rows.append(row)
    return rows, has_torch


def _time(fn, sync, repeats):
    fn()
    sync()                                   # compile and warm up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync()
        times.append((time.perf_counter() - t) / repeats)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=5, help="timed GPU steps per model")
    ap.add_argument("--cpu-steps", type=int, default=2, help="timed CPU steps per model")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cpu-threads", type=int, default=2)
    ap.add_argument("--matmul-repeats", type=int, default=10)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes: check the script")
    ap.add_argument("--child-cpu", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_cpu:
        if hasattr(os, "sched_setaffinity"):
            cores = sorted(os.sched_getaffinity(0))[:args.cpu_threads]
            os.sched_setaffinity(0, cores)
        print(json.dumps(step_seconds(args.child_cpu, "cpu", args.steps, 1, args.tiny)))
        return

    try:
        C = backend.cuda_module()
    except (ImportError, RuntimeError) as e:     # one clear line without a GPU
        sys.exit(f"benchmarks/gpu.py: {' '.join(str(e).split())}")
    if C.SIMULATOR:      # its thread-polling launcher needs a short GIL switch interval
        sys.setswitchinterval(5e-5)
    out = {"device": "simulator" if C.SIMULATOR else C.cuda.get_current_device().name.decode()
           if isinstance(C.cuda.get_current_device().name, bytes)
           else str(C.cuda.get_current_device().name),
           "host": platform.node(), "tiny": args.tiny, "cpu_threads": args.cpu_threads}
    for name in ("unet", "transformer"):
        gpu = step_seconds(name, "cuda", args.steps, args.warmup, args.tiny)
        entry = {"gpu_step_s": gpu["median_s"], "parameters": gpu["parameters"]}
        if not args.skip_cpu:
            cpu = cpu_step_in_child(name, args.cpu_threads, args.cpu_steps, 1, args.tiny)
            entry["cpu_step_s"] = cpu.get("median_s")
            if "error" in cpu:
                entry["cpu_error"] = cpu["error"]
            if entry["cpu_step_s"]:
                entry["speedup"] = entry["cpu_step_s"] / entry["gpu_step_s"]
                entry["meets_target"] = entry["speedup"] >= TARGET_SPEEDUP
        out[name] = entry
    rows, has_torch = matmul_figures(args.tiny, args.matmul_repeats)
    out["matmul"] = rows
    if has_torch:
        worst = min(r["fraction_of_torch"] for r in rows)
        out["matmul_worst_fraction_of_torch"] = worst
        out["matmul_meets_target"] = worst >= TARGET_MATMUL_FRACTION
    else:
        out["matmul_note"] = "PyTorch with CUDA is not installed here: no comparison"
    out["targets"] = {"gpu_step_speedup": TARGET_SPEEDUP,
                      "matmul_fraction_of_torch": TARGET_MATMUL_FRACTION}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
