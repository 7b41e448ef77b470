"""Energy-based models against the truth (issue 6, item 4), printed as one JSON object.

- ``three_gradients``: grad log Z of a 16-bit Boltzmann machine and a 16-bit MLP energy
  computed (a) by autograd through logsumexp over all 2^16 states, (b) by the lecture's
  identity -E_p[grad E] taken exactly, (c) by Monte Carlo from independent Gibbs chains:
  the largest |(a) - (b)| and the largest |z| of (c) against (a).
- ``kl``: one row per (model, dataset, method): the KL to the truth in nats (exact over
  the support on bits; on 2D the paired test-set estimate with log Z by quadrature, and
  its standard error), the steps, and the training seconds on this machine. Exact
  maximum likelihood on ``ising`` and ``bars_stripes`` (target <= 0.01) with CD-1 and
  PCD-1 run for the same number of steps beside it; the MLP energy on ``gaussians8``
  (target <= 0.15) and ``checkerboard`` (<= 0.25) trained with the model term by grid
  quadrature and by persistent Langevin chains; ``ring8`` by persistent chains with the
  Langevin samples' mode count (target 8/8).

Run: ``.venv/bin/python benchmarks/ebm_quality.py [--only NAME ...] [--seed S]``.
Not a test: it takes minutes, and the seconds depend on the machine and its load.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen.ebm import exact, experiment, mcmc  # noqa: E402
from scratch_gen.ebm.energies import DiscreteMLPEnergy, QuadraticEnergy  # noqa: E402

TARGETS = {"ising": 0.01, "bars_stripes": 0.01, "gaussians8": 0.15, "checkerboard": 0.25}

# name -> (dataset, variant, method, steps, batch size, config)
RUNS = {
    "ising_exact": ("ising", "boltzmann", "exact", 400, 256, {"lr": 0.05}),
    "ising_cd": ("ising", "boltzmann", "cd", 400, 256, {"lr": 0.05}),
    "ising_pcd": ("ising", "boltzmann", "pcd", 400, 256, {"lr": 0.05}),
    "bars_exact": ("bars_stripes", "discrete-mlp", "exact", 800, 256, {"lr": 0.05}),
    "bars_cd": ("bars_stripes", "discrete-mlp", "cd", 800, 256, {"lr": 0.05, "track_nll": False}),
    "bars_pcd": ("bars_stripes", "discrete-mlp", "pcd", 800, 256, {"lr": 0.05, "track_nll": False}),
    "g8_grid": ("gaussians8", "mlp", "grid", 1000, 1024, {"lr": 0.01}),
    "g8_pcd": ("gaussians8", "mlp", "pcd", 1000, 256, {"lr": 0.01, "alpha": 0.1,
                                                       "sampler": "mala"}),
    "checker_grid": ("checkerboard", "mlp", "grid", 1500, 1024, {"lr": 0.01, "hidden": 128}),
    "checker_pcd": ("checkerboard", "mlp", "pcd", 1500, 256, {"lr": 0.01, "alpha": 0.1,
                                                              "sampler": "mala", "hidden": 128}),
    "ring8_pcd": ("ring8", "mlp", "pcd", 1000, 256, {"lr": 0.002, "eps": 1e-3}),
}


def three_gradients(seed):
    out = {}
    rng = np.random.default_rng(seed)
    for name, energy in (("boltzmann", QuadraticEnergy(16, rng=seed, dtype=np.float64,
                                                       init_scale=0.2)),
                         ("mlp", DiscreteMLPEnergy(16, hidden=16, rng=seed, dtype=np.float64))):
        energy.b.data[:] = rng.normal(scale=0.3, size=16)
        states = exact.all_states(16)
        a = exact.grad_logz_autograd(energy, states)
        b = exact.grad_logz_identity(energy, states)
        samples = mcmc.gibbs_sample(energy, 4000, 100, rng)
        c, se = exact.grad_logz_monte_carlo(energy, samples, groups=40)
        iu = np.triu_indices(16, 1)

        def flat(g):
            return np.concatenate([np.ravel(g[k][iu] if k == "W" else g[k]) for k in sorted(g)])

        z = (flat(c) - flat(a)) / flat(se)
        out[name] = {"bits": 16, "max_abs_a_minus_b": float(np.abs(flat(a) - flat(b)).max()),
                     "max_abs_grad": float(np.abs(flat(a)).max()),
                     "mc_chains": 4000, "mc_sweeps": 100, "mc_components": int(z.size),
                     "mc_max_abs_z": float(np.abs(z).max()),
                     "mc_mean_z2": float(np.mean(z ** 2))}
    return out


def kl_row(name, seed):
    dataset, variant, method, steps, batch, config = RUNS[name]
    cfg = {"method": method, "anneal": steps, **config}
    r = experiment.run(dataset, variant, cfg, steps=steps, seed=seed, batch_size=batch)
    kl, se = r.kl()
    row = {"run": name, "model": f"ebm/{variant}", "dataset": dataset, "method": method,
           "kl": kl, "kl_se": se, "steps": steps, "batch_size": batch,
           "seconds": round(r.seconds, 1), "config": config}
    if dataset in TARGETS:
        row["target"] = TARGETS[dataset]
        row["reached"] = kl <= TARGETS[dataset]
    if dataset == "ring8":
        mm, _ = experiment.modes(r.model, r.dataset, seed=seed)
        row.update(modes=mm["modes"], n_modes=mm["n_modes"], high_quality=mm["high_quality"],
                   sampler="langevin", target_modes=8, reached=mm["modes"] == 8)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description="EBM quality figures as one JSON object")
    p.add_argument("--only", nargs="*", help=f"subset of: three_gradients {' '.join(RUNS)}")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    chosen = args.only or ["three_gradients", *RUNS]
    t0 = time.perf_counter()
    out = {"machine": {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()[0]},
           "seed": args.seed}
    if "three_gradients" in chosen:
        out["three_gradients"] = three_gradients(args.seed)
    out["kl"] = [kl_row(name, args.seed) for name in chosen if name in RUNS]
    out["machine"]["load_average_end"] = os.getloadavg()[0]
    out["total_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
