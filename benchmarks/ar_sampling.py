"""Cached versus naive ancestral sampling for WaveNet, the Transformer and PixelCNN.

    python benchmarks/ar_sampling.py [--length 128] [--n 16] [--repeat 1]

Sampling is sequential: x_i needs x_<i (Isola L14, "Sampling"). The naive sampler
re-runs the network on the whole prefix at every step, O(L^2) work for WaveNet and
O(L^3) attention work for the Transformer. The cached samplers compute one position
per step: WaveNet keeps a queue of each layer's last (k-1)d + 1 inputs (Paine et al.
2016, "Fast Wavenet"), the Transformer keeps every layer's keys and values, PixelCNN runs
on the window a pixel can see. Both paths give the same samples from the same seed
(checked here and in tests/autoregressive/test_sampling.py).

Prints one JSON object: per model, the sequence length, seconds (wall and CPU) of each
sampler and the speed-up. Untrained networks: the time does not depend on the weights.
"""
import os

# A shared 2-core machine: one BLAS / Numba thread each, so the timing is of the
# algorithm, not of threads waiting for a core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen.registry import DataSpec, get  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def compare(variant, spec, config, n, repeat):
    model = get("autoregressive", variant)(spec, config, np.random.default_rng(0))
    model.sample(2, np.random.default_rng(0))                      # warm-up (compiles)
    row = {"config": config, "n": n}
    samples = {}
    for cached in (True, False):
        best = None
        for _ in range(repeat):
            s, wall, cpu = timed(lambda: model.sample(n, np.random.default_rng(1), cached=cached))
            best = (wall, cpu) if best is None or cpu < best[1] else best
        key = "cached" if cached else "naive"
        samples[key] = s
        row[f"{key}_wall_s"], row[f"{key}_cpu_s"] = round(best[0], 3), round(best[1], 3)
    row["speedup_cpu"] = round(row["naive_cpu_s"] / row["cached_cpu_s"], 2)
    row["speedup_wall"] = round(row["naive_wall_s"] / row["cached_wall_s"], 2)
    row["same_samples"] = bool(np.array_equal(samples["cached"], samples["naive"]))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description="cached vs naive autoregressive sampling")
    ap.add_argument("--length", type=int, default=128, help="tokens per sequence")
    ap.add_argument("--n", type=int, default=16, help="sequences sampled together")
    ap.add_argument("--repeat", type=int, default=1, help="keep the fastest of R runs")
    args = ap.parse_args(argv)
    import numba
    numba.set_num_threads(1)
    seq = DataSpec("discrete", shape=(args.length,), levels=28)    # 27 characters + end
    out = {"length": args.length, "n": args.n, "threads": 1}
    out["wavenet"] = compare("wavenet", seq, {"channels": 48, "skip": 64,
                                              "dilations": [1, 2, 4, 8, 16, 32]},
                             args.n, args.repeat)
    out["wavenet"]["receptive_field"] = 64
    out["transformer"] = compare("transformer", seq, {"d_model": 64, "heads": 4, "layers": 2},
                                 args.n, args.repeat)
    side = 16
    img = DataSpec("image", shape=(side, side), levels=2)
    out["pixelcnn"] = compare("pixelcnn", img, {"channels": 32, "dilations": [1, 1, 2, 1, 2]},
                              max(1, args.n // 4), args.repeat)
    out["pixelcnn"]["pixels"] = side * side
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
