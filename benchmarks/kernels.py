"""Numba kernels against their NumPy references, convolutions against BLAS and PyTorch.

    python benchmarks/kernels.py            # prints ONE JSON object on stdout
    python benchmarks/kernels.py --quick    # smaller sizes and fewer repeats (smoke run)
    OPENBLAS_NUM_THREADS=1 python benchmarks/kernels.py   # BLAS on one thread (see below)

Progress goes to stderr.  Every time is the median of several repeats after a warm-up
call (which also triggers the Numba compile or cache load); the things compared are
timed in alternation.  The machine's load average is recorded at the start and end: on
a shared machine wall times are only comparable within one run, which is why PyTorch
is timed in the same run on the same shapes.  CPU times (all threads) are reported
beside them: other processes do not inflate those.

On a machine shared with other busy processes, OpenBLAS's worker threads (which spin
while waiting) slow many small products by 10x or more; the engine's convolutions are
one big product each for that reason.  The JSON records OPENBLAS_NUM_THREADS,
NUMBA_NUM_THREADS and OMP_NUM_THREADS (PyTorch's threads) so that one-thread runs
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/kernels.py
and default-thread runs can be told apart.

Sections of the JSON:
  kernels   per kernel: reference_s, numba_s, speedup at a realistic size;
  conv      GFLOP/s of conv2d/conv1d forward+backward through autograd.functional,
            with either kernel set, beside np.matmul on 1024x1024 float32 and PyTorch
            CPU (when importable) on the same shapes;
  memory    peak traced allocation (tracemalloc sees NumPy's allocations) of the KDE
            and MMD kernels: the 'no temporary over 64 MB' rule, measured;
  compile   wall time of a subprocess that compiles every kernel for float32 and
            float64 with an empty NUMBA_CACHE_DIR (cold), then again with it filled;
  targets   each target of issue 3 with its measured value and whether it is met.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The environment as the user gave it (importing autograd sets defaults).
USER_OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")

# autograd before NumPy: its thread settings (OMP_WAIT_POLICY, OPENBLAS_THREAD_TIMEOUT)
# must be in the environment when NumPy loads OpenBLAS, as in `scratch-gen`.
import autograd  # noqa: E402
import numpy as np  # noqa: E402
from autograd.backend import cpu as K          # noqa: E402
from autograd.backend import reference as R    # noqa: E402


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def median_time(fn, repeats, warmup=True):
    """Median wall time of fn() over `repeats` calls, after one untimed call."""
    return interleaved_times([fn], repeats, warmup)[0]["median"]


def interleaved_times(fns, repeats, warmup=True):
    """Median and min wall time, and median CPU time (all threads of this process), of
    each fn, timed in alternation (a b a b ...) after one untimed call of each: when
    other processes load the machine, the functions being compared see the same load.
    CPU time is what the work itself cost; waiting for a core does not add to it."""
    if warmup:
        for fn in fns:
            fn()
    walls, cpus = [[] for _ in fns], [[] for _ in fns]
    for _ in range(repeats):
        for fn, wall, cpu in zip(fns, walls, cpus):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return [{"median": float(np.median(w)), "min": float(np.min(w)),
             "cpu": float(np.median(c))} for w, c in zip(walls, cpus)]


# --------------------------------------------------------------------------- per kernel

def kernel_cases(quick):
    """(name, size description, inputs builder, call(module, inputs), ref repeats)."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    s = 4 if quick else 1                      # --quick divides the big dimensions

    def randn(*shape, dtype=f32):
        return rng.standard_normal(shape).astype(dtype)

    x2d = randn(64 // s, 16, 28, 28)
    cols2d = R.im2col2d(x2d, 3, 3, 1, 1)
    wino_v = R.winograd_in(x2d, 1)
    wino_m = randn(16, 32, wino_v.shape[2])
    g2d = randn(x2d.shape[0], 32, 28 * 28)
    x1d = randn(32 // s, 64, 1024)
    cols1d = R.im2col1d(x1d, 2, 1, 8, 8, 0)
    V = 10_000
    logits = randn(512 // s, V)
    targets = rng.integers(0, V, logits.shape[0])
    _, lse = R.xent_forward(logits, targets)
    g_rows = randn(logits.shape[0])
    scores = randn(32 // s, 256, 256)
    n_kde = 10_000 // s
    kde = {D: (randn(n_kde, D, dtype=np.float64), randn(n_kde, D, dtype=np.float64))
           for D in (2, 64)}
    n_mmd = 4000 // s
    mmd = {D: (randn(n_mmd, D, dtype=np.float64), 0.1 + randn(n_mmd, D, dtype=np.float64))
           for D in (2, 64)}
    n_par = 10_000_000 // s
    adam = [randn(n_par), randn(n_par), np.zeros(n_par, f32), np.zeros(n_par, f32)]
    chains = [randn(10_000 // s, 256) for _ in range(4)]
    e_chain = [randn(chains[0].shape[0]) for _ in range(3)]
    n_ising = 20 if quick else 24
    W = 0.1 * rng.standard_normal((n_ising, n_ising))
    W, b = W + W.T, rng.standard_normal(n_ising)

    return [
        ("im2col2d", "x (64, 16, 28, 28) f32, 3x3, pad 1",
         lambda m: m.im2col2d(x2d, 3, 3, 1, 1), 7),
        ("col2im2d", "cols (144, 64 * 784) f32",
         lambda m: m.col2im2d(cols2d, 28, 28, 3, 3, 1, 1), 7),
        ("winograd_in", "x (64, 16, 28, 28) f32, pad 1",
         lambda m: m.winograd_in(x2d, 1), 7),
        ("winograd_in_adjoint", "V (16, 16, 64 * 14 * 15) f32",
         lambda m: m.winograd_in_adjoint(wino_v, x2d.shape[0], 28, 28, 1), 7),
        ("winograd_out", "M (16, 32, 64 * 14 * 15) f32",
         lambda m: m.winograd_out(wino_m, x2d.shape[0], 28, 28), 7),
        ("winograd_out_adjoint", "dy (64, 32, 28 * 28) f32",
         lambda m: m.winograd_out_adjoint(g2d, 28, 28), 7),
        ("im2col1d", "x (32, 64, 1024) f32, k 2, dilation 8, causal",
         lambda m: m.im2col1d(x1d, 2, 1, 8, 8, 0), 7),
        ("col2im1d", "cols (128, 32 * 1024) f32",
         lambda m: m.col2im1d(cols1d, 1024, 2, 1, 8, 8, 0), 7),
        ("xent_forward", f"logits ({logits.shape[0]}, {V}) f32",
         lambda m: m.xent_forward(logits, targets), 7),
        ("xent_backward", f"logits ({logits.shape[0]}, {V}) f32",
         lambda m: m.xent_backward(logits, targets, lse, g_rows), 7),
        ("softmax_lastaxis", "scores (32, 256, 256) f32, causal",
         lambda m: m.softmax_lastaxis(scores, True), 7),
        ("gauss_logsumexp_D2", f"{n_kde} points x {n_kde} centres, D=2, f64",
         lambda m: m.gauss_logsumexp(*kde[2], 0.3), 3),
        ("gauss_logsumexp_D64", f"{n_kde} points x {n_kde} centres, D=64, f64",
         lambda m: m.gauss_logsumexp(*kde[64], 8.0), 3),
        ("mmd2_D2", f"{n_mmd} x {n_mmd}, D=2, f64",
         lambda m: m.mmd2(*mmd[2], 1.0), 3),
        ("mmd2_D64", f"{n_mmd} x {n_mmd}, D=64, f64",
         lambda m: m.mmd2(*mmd[64], 8.0), 3),
        ("adam_update", f"{n_par} f32 parameters, AdamW",
         lambda m: m.adam_update(*adam, 1e-3, 0.9, 0.999, 1e-8, 0.01, 10, True), 7),
        ("langevin_step", f"{chains[0].shape} f32",
         lambda m: m.langevin_step(chains[0], chains[1], chains[2], 0.01), 7),
        ("mala_accept", f"{chains[0].shape} f32",
         lambda m: m.mala_accept(chains[0], chains[1], e_chain[0], chains[3], chains[2],
                                 e_chain[1], e_chain[2], 0.01), 7),
        ("quadratic_energies", f"n = {n_ising - 4} ({2 ** (n_ising - 4)} states)",
         lambda m: m.quadratic_energies(W[:-4, :-4], b[:-4], True), 3),
        ("quadratic_logz", f"n = {n_ising} ({2 ** n_ising} states)",
         lambda m: m.quadratic_logz(W, b, True), 1),
    ]


def bench_kernels(quick):
    out = {}
    for name, size, call, repeats in kernel_cases(quick):
        call(K)                                       # compile or load from the cache
        ref, nb = interleaved_times([lambda: call(R), lambda: call(K)],
                                    1 if quick else repeats, warmup=repeats > 1)
        reference_s, numba_s = ref["median"], nb["median"]
        out[name] = {"size": size, "reference_s": round(reference_s, 7),
                     "numba_s": round(numba_s, 7),
                     "speedup": round(reference_s / numba_s, 2),
                     "speedup_of_min_times": round(ref["min"] / nb["min"], 2),
                     "reference_cpu_s": round(ref["cpu"], 5),
                     "numba_cpu_s": round(nb["cpu"], 5)}
        log(f"{name:22s} ref {reference_s:9.4f} s  numba {numba_s:9.4f} s  "
            f"x{reference_s / numba_s:.2f}")
    return out


def peak_traced_mb(fn):
    """Largest traced allocation total (MB) while fn runs, above what existed before."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return round((tracemalloc.get_traced_memory()[1] - base) / 2**20, 2)
    finally:
        tracemalloc.stop()


def bench_memory(quick):
    rng = np.random.default_rng(1)
    n = 10_000 // (4 if quick else 1)
    out = {}
    for D in (2, 64):
        x, c = rng.standard_normal((n, D)), rng.standard_normal((n, D))
        naive_mb = n * n * D * 8 / 2**20
        for mod, tag in ((R, "reference"), (K, "numba")):
            mod.gauss_logsumexp(x[:5], c[:5], 1.0)              # compile outside the trace
            out[f"gauss_logsumexp_D{D}_{tag}_peak_mb"] = peak_traced_mb(
                lambda: mod.gauss_logsumexp(x, c, 1.0))
        out[f"naive_N_M_D_temporary_D{D}_mb"] = round(naive_mb, 1)
    return out


# --------------------------------------------------------------------------- convolutions

def conv_shapes(quick):
    n2, n1 = (16, 8) if quick else (64, 32)
    return {
        # name: (input shape, weight shape, conv kwargs, forward flops)
        "conv2d": ((n2, 16, 28, 28), (32, 16, 3, 3), {"padding": 1},
                   2 * n2 * 32 * 28 * 28 * 16 * 9),
        "conv1d_wavenet": ((n1, 64, 1024), (64, 64, 2), {"padding": (8, 0), "dilation": 8},
                           2 * n1 * 64 * 1024 * 64 * 2),
    }


def bench_conv(quick):
    """Forward + backward (gradients for input and weight: 3x the forward flops)."""
    repeats = 2 if quick else 7
    out = {"note": "GFLOP/s = 3 x forward flops (forward, input grad, weight grad) / time"}
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    t = median_time(lambda: a @ a, repeats)
    out["numpy_matmul_1024_f32_gflops"] = round(2 * 1024**3 / t / 1e9, 2)
    log(f"np.matmul 1024^2 f32: {out['numpy_matmul_1024_f32_gflops']} GFLOP/s")

    import autograd.functional as F
    from autograd.backend import use_kernels
    torch_runs = torch_subprocesses(quick)
    out["torch"] = torch_runs or "not importable"
    for name, (xs, ws, kw, fwd_flops) in conv_shapes(quick).items():
        x = rng.standard_normal(xs).astype(np.float32)
        w = (0.1 * rng.standard_normal(ws)).astype(np.float32)
        conv = "conv2d" if name == "conv2d" else "conv1d"
        entry = {"input": list(xs), "weight": list(ws), **{k: v for k, v in kw.items()},
                 "fwd_bwd_gflop": round(3 * fwd_flops / 1e9, 3)}

        def engine_step(kernel_set, **options):
            use_kernels(kernel_set)
            xt = autograd.Tensor(x, requires_grad=True)
            wt = autograd.Tensor(w, requires_grad=True)
            y = getattr(F, conv)(xt, wt, **kw, **options)
            y.backward(np.ones(y.shape, np.float32))

        fns = {"engine_numba": lambda: engine_step("numba"),
               "engine_numpy": lambda: engine_step("numpy")}
        if conv == "conv2d":
            # The same layer by im2col and BLAS (what a 3x3 conv2d ran before Winograd's
            # algorithm): the gain of the algorithm, measured.
            fns["engine_numba_im2col"] = lambda: engine_step("numba", winograd=False)
        times = interleaved_times(list(fns.values()), repeats)
        for key, t in zip(fns, times):
            entry[f"{key}_gflops"] = round(3 * fwd_flops / t["median"] / 1e9, 2)
            entry[f"{key}_gflop_per_cpu_s"] = round(3 * fwd_flops / t["cpu"] / 1e9, 2)
        use_kernels("numba")
        for policy, run in (torch_runs or {}).items():
            entry[f"torch_{policy}_gflops"] = run[name]
            entry[f"torch_{policy}_gflop_per_cpu_s"] = run[name + "_per_cpu_s"]
        if torch_runs:
            entry["torch_best_gflops"] = max(r[name] for r in torch_runs.values())
        log(name, entry)
        out[name] = entry
    return out


def torch_conv(quick):
    """PyTorch CPU on the same shapes (run in its own process, see torch_subprocesses)."""
    import torch
    import torch.nn.functional as TF
    repeats = 2 if quick else 7
    rng = np.random.default_rng(2)
    a = torch.from_numpy(rng.standard_normal((1024, 1024)).astype(np.float32))
    out = {"version": torch.__version__, "threads": torch.get_num_threads(),
           "matmul_1024_f32": round(2 * 1024**3 / median_time(lambda: a @ a, repeats)
                                    / 1e9, 2)}
    for name, (xs, ws, kw, fwd_flops) in conv_shapes(quick).items():
        x0 = torch.from_numpy(rng.standard_normal(xs).astype(np.float32))
        w0 = torch.from_numpy((0.1 * rng.standard_normal(ws)).astype(np.float32))

        def step():
            x, w = x0.clone().requires_grad_(), w0.clone().requires_grad_()
            if name == "conv2d":
                y = TF.conv2d(x, w, padding=1)
            else:
                y = TF.conv1d(TF.pad(x, (8, 0)), w, dilation=8)     # causal, as WaveNet
            y.backward(torch.ones_like(y))
        t = interleaved_times([step], repeats)[0]
        out[name] = round(3 * fwd_flops / t["median"] / 1e9, 2)
        out[name + "_per_cpu_s"] = round(3 * fwd_flops / t["cpu"] / 1e9, 2)
    return out


def torch_subprocesses(quick):
    """PyTorch timings from child processes, or None when torch is not installed.

    Own processes, because two OpenMP runtimes in one process bind to whichever loaded
    first: after `import torch`, Numba's parallel loops would run on PyTorch's OpenMP
    with its settings.  Run twice: with the environment as given ('default') and with
    OMP_WAIT_POLICY=PASSIVE, the setting autograd.backend.cpu gives Numba (on a shared
    machine it is worth a factor of ~2-3 to PyTorch too).  Targets compare with the
    better of the two."""
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        return None
    runs = {}
    for policy in ("default", "passive"):
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        if USER_OMP_WAIT_POLICY is not None:
            env["OMP_WAIT_POLICY"] = USER_OMP_WAIT_POLICY
        if policy == "passive":
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        cmd = [sys.executable, os.path.abspath(__file__), "--torch-only"]
        if quick:
            cmd.append("--quick")
        done = subprocess.run(cmd, env=env, check=True, cwd=ROOT, capture_output=True,
                              text=True)
        runs[policy] = json.loads(done.stdout)
        log(f"torch ({policy} OMP wait policy): {runs[policy]}")
    return runs


# --------------------------------------------------------------------------- compile time

def compile_all():
    """Call every kernel once per dtype at tiny sizes: compiles (or loads) all of them."""
    rng = np.random.default_rng(3)
    for dt in (np.float32, np.float64):
        x = rng.standard_normal((1, 2, 5, 5)).astype(dt)
        c = K.im2col2d(x, 3, 3, 1, 1)
        K.col2im2d(c, 5, 5, 3, 3, 1, 1)
        c = K.im2col1d(x[:, :, 0], 2, 1, 2, 2, 0)
        K.col2im1d(c, 5, 2, 1, 2, 2, 0)
        K.swap01(x[0])
        v = K.winograd_in(x, 1)
        K.winograd_in_adjoint(v, 1, 5, 5, 1)
        K.winograd_out_adjoint(K.winograd_out(v, 1, 5, 5), 5, 5)
        z, t = rng.standard_normal((3, 4)).astype(dt), np.array([0, 1, 3])
        _, lse = K.xent_forward(z, t)
        K.xent_backward(z, t, lse, np.ones(3, dt))
        K.softmax_lastaxis(z[None], True)
        p = rng.standard_normal((4, 2)).astype(dt)
        q = rng.standard_normal((4, 20)).astype(dt)
        K.gauss_logsumexp(p, p, 1.0)
        K.gauss_logsumexp(q, q, 1.0)
        K.mmd2(p, p + 1, 1.0)
        K.mmd2(q, q + 1, 1.0)
        v = np.zeros(4, dt)
        K.adam_update(v.copy(), v, v.copy(), v.copy(), 0.1, 0.9, 0.99, 1e-8, 0.0, 1, True)
        K.langevin_step(p, p, p, 0.1)
        e = np.zeros(4)
        K.mala_accept(p, p, e, p, p, e, e, 0.1)
    W = np.eye(3)
    K.quadratic_energies(W, np.ones(3), True)
    K.quadratic_logz(W, np.ones(3), False)


def bench_compile():
    """Two subprocesses sharing one fresh NUMBA_CACHE_DIR: cold compile, then warm."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for tag in ("cold", "warm"):
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, os.path.abspath(__file__), "--compile-only"],
                           env=env, check=True, cwd=ROOT)
            out[f"{tag}_s"] = round(time.perf_counter() - t0, 2)
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            out[f"{tag}_cpu_s"] = round(cpu1.ru_utime - cpu0.ru_utime
                                        + cpu1.ru_stime - cpu0.ru_stime, 2)
            log(f"compile {tag}: {out[f'{tag}_s']} s wall, {out[f'{tag}_cpu_s']} s CPU")
    out["note"] = ("a whole subprocess: interpreter start, imports, and every kernel "
                   "compiled (cold) or loaded from the cache (warm), float32 and "
                   "float64; wall time, and CPU time (user + system), which other "
                   "processes on the machine do not inflate")
    return out


# --------------------------------------------------------------------------- targets

def judge(result):
    t = {}
    conv = result["conv"]
    for name in ("conv2d", "conv1d_wavenet"):
        e = conv.get(name, {})
        if "torch_best_gflops" in e and "engine_numba_gflops" in e:
            ratio = e["engine_numba_gflops"] / e["torch_best_gflops"]
            per_cpu = e["engine_numba_gflop_per_cpu_s"] / max(
                e[f"torch_{p}_gflop_per_cpu_s"] for p in ("default", "passive"))
            t[f"{name}_engine_vs_torch"] = {"value": round(ratio, 2), "target": ">= 0.8",
                                            "met": ratio >= 0.8,
                                            "per_cpu_second_ratio": round(per_cpu, 2)}
    k = result["kernels"]
    mem = result["memory"]
    for D in (2, 64):
        s = k[f"gauss_logsumexp_D{D}"]["speedup"]
        peak = max(mem[f"gauss_logsumexp_D{D}_numba_peak_mb"],
                   mem[f"gauss_logsumexp_D{D}_reference_peak_mb"])
        t[f"kde_D{D}_speedup"] = {"value": s, "target": ">= 1.5", "met": s >= 1.5}
        t[f"kde_D{D}_peak_temporary_mb"] = {
            "value": peak, "target": "<= 64 (max of reference and numba)", "met": peak <= 64}
    s = min(k["xent_forward"]["speedup"], k["xent_backward"]["speedup"])
    t["xent_10k_vocab_speedup_min_fwd_bwd"] = {"value": s, "target": ">= 1.5", "met": s >= 1.5}
    if "compile" in result:
        c = result["compile"]
        t["warm_cache_compile_s"] = {"value": c["warm_s"], "cpu_s": c["warm_cpu_s"],
                                     "target": "< 5 (wall)", "met": c["warm_s"] < 5}
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    ap.add_argument("--compile-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--skip-compile", action="store_true",
                    help="leave out the cold/warm compile measurement")
    args = ap.parse_args()
    if args.compile_only:
        compile_all()
        return
    if args.torch_only:
        print(json.dumps(torch_conv(args.quick)))
        return
    import numba
    result = {"machine": {"cpu_count": os.cpu_count(),
                          "numba_threads": numba.get_num_threads(),
                          "numba_version": numba.__version__,
                          "numpy_version": np.__version__,
                          "load_average_start": [round(v, 2) for v in os.getloadavg()],
                          "env": {k: os.environ.get(k) for k in
                                  ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                   "NUMBA_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")},
                          "omp_wait_policy_given": USER_OMP_WAIT_POLICY},
              "quick": args.quick}
    compile_all()                       # warm-up: every kernel compiled before timing
    result["machine"]["numba_threading_layer"] = numba.threading_layer()
    result["kernels"] = bench_kernels(args.quick)
    result["memory"] = bench_memory(args.quick)
    result["conv"] = bench_conv(args.quick)
    if not args.skip_compile:
        result["compile"] = bench_compile()
    result["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    result["targets"] = judge(result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
