"""Demo 04 -- energy-based models (Isola, MIT 6.7960 lecture 14).

    python demos/04_energy_based_models.py [--out DIR] [--tiny] [--seed S]

The slides "Energy-based models" and "learning model parameters" in pictures:

1. ``three_gradients.png``: grad_theta log Z of a Boltzmann machine computed three ways --
   (a) autograd through logsumexp(-E) over all 2^n states, (b) the lecture's identity
   -E_p[grad E] taken exactly, (c) Monte Carlo from Gibbs samples -- on one diagonal.
2. ``exact_vs_cd.png``: the same quadratic energy fitted to the Ising data by exact
   maximum likelihood, CD-1 (Hinton 2002) and persistent CD (Tieleman 2008): the exact
   KL to the data as training curves, and how far the CD gradients point from the exact
   one.
3. ``energy_through_training.png``: an MLP energy on gaussians8 trained with the
   two-term gradient, red samples from persistent Langevin chains (a replay buffer, Du &
   Mordatch 2019): the energy landscape (top) and data (green) vs model samples (red)
   below, as on the slide, until "model update (green - red) cancels out";
   ``update_cancels.png`` plots the two terms and their difference.
4. ``chains.png``: Langevin and MALA (Roberts & Tweedie 1996) chains from uniform noise
   on the trained energy.
5. ``bars_stripes_samples.png``: data, and samples of an exactly trained MLP energy on
   bars and stripes.

``--tiny`` runs everything with toy budgets (well under 20 s) to check that it works.
"""
import argparse
import os
import sys
import time

import numpy as np

from scratch_gen import data
from scratch_gen.ebm import exact, experiment, figures, mcmc
from scratch_gen.ebm.energies import QuadraticEnergy

BUDGET = {
    False: dict(bits=10, chains=4000, sweeps=25, ising_steps=300, ising_every=10,
                g8_steps=1000, g8_every=250, buffer=8192, chain_steps=300, n_chains=40,
                bs_steps=300),
    True: dict(bits=6, chains=400, sweeps=5, ising_steps=12, ising_every=4,
               g8_steps=12, g8_every=4, buffer=256, chain_steps=10, n_chains=10,
               bs_steps=2),
}


def three_gradients(out, b, seed):
    """grad log Z of a random Boltzmann machine on b['bits'] units, three ways."""
    n = b["bits"]
    e = QuadraticEnergy(n, rng=seed, dtype=np.float64, init_scale=0.4)
    e.b.data[:] = np.random.default_rng(seed).normal(scale=0.5, size=n)
    states = exact.all_states(n)
    ga = exact.grad_logz_autograd(e, states)
    gb = exact.grad_logz_identity(e, states)
    samples = mcmc.gibbs_sample(e, b["chains"], b["sweeps"], np.random.default_rng(seed + 1))
    gc, se = exact.grad_logz_monte_carlo(e, samples, groups=20 if b["chains"] < 1000 else 40)
    iu = np.triu_indices(n, 1)

    def flat(g):                                   # one entry per free parameter
        return np.concatenate([g["W"][iu], g["b"]])

    a, bb, c, s = flat(ga), flat(gb), flat(gc), flat(se)
    diff_ab = float(np.abs(a - bb).max())
    z = float(np.abs((c - a) / s).max())
    path = figures.three_gradients(
        os.path.join(out, "three_gradients.png"), a, bb, c, s,
        title=f"grad log Z, Boltzmann machine on {n} bits: max|(a)-(b)| = {diff_ab:.1e}, "
              f"max |z| of (c) = {z:.1f}")
    print(f"[1] grad log Z three ways on {n} bits: max|autograd - identity| = {diff_ab:.2e}; "
          f"Monte Carlo ({b['chains']} Gibbs chains) max |z| = {z:.2f}")
    return path


def exact_vs_cd(out, b, seed):
    """Boltzmann machine on ising by exact ML, CD-1 and PCD-1: KL curves and cosines."""
    curves, cosines, runs = {}, {}, {}
    for label, method in (("exact", "exact"), ("CD-1", "cd"), ("PCD-1", "pcd")):
        track = []

        def snap(step, model, history, track=track):
            track.append((step, model.evaluate(None, data.get("ising"))["kl_exact"]))

        cfg = {"method": method, "anneal": b["ising_steps"], "compare_exact": method != "exact"}
        r = experiment.run("ising", "boltzmann", cfg, steps=b["ising_steps"], seed=seed,
                           every=b["ising_every"], callback=snap)
        curves[label] = ([s for s, _ in track], [k for _, k in track])
        if method != "exact":
            cosines[label] = ([h["step"] for h in r.history], [h["cos_exact"] for h in r.history])
        runs[label] = r
        print(f"[2] ising, boltzmann, {label:5s}: KL(data || model) = {track[-1][1]:.4f} nats "
              f"after {b['ising_steps']} steps ({r.seconds:.1f} s)")
    path = figures.exact_vs_cd(os.path.join(out, "exact_vs_cd.png"), curves, cosines,
                               title="Boltzmann machine on ising (4x4): the model term exact "
                                     "(all 2^16 states) vs contrastive divergence")
    return path


def gaussians8(out, b, seed):
    """PCD with Langevin chains on gaussians8: snapshots through training, the two terms
    of the update, and Langevin vs MALA chains on the trained energy."""
    train_x = np.asarray(data.load("gaussians8", seed=seed)[0].x)
    pick = np.random.default_rng(seed).integers(0, len(train_x), 600)
    frames = []

    def snap(step, model, history):
        if step == 0:
            samples, note = model.buffer.x[:600], "start: chains = uniform noise"
        else:
            h = history[-1]
            samples = model.last_model_samples
            note = f"|green - red| = {h['update']:.2f}\n|red| = {h['norm_model']:.2f}"
        frames.append({"step": step, "energy": figures.energy_grid(model.energy, model.lo, model.hi),
                       "data": train_x[pick], "samples": samples, "note": note})

    cfg = {"method": "pcd", "lr": 0.002, "alpha": 0.1, "anneal": b["g8_steps"],
           "buffer": b["buffer"]}
    r = experiment.run("gaussians8", "mlp", cfg, steps=b["g8_steps"], seed=seed,
                       every=b["g8_every"], callback=snap)
    m = r.model
    kl, kl_se = r.kl()
    print(f"[3] gaussians8, MLP energy, PCD with Langevin chains: KL = {kl:.3f} +- {kl_se:.3f} "
          f"nats after {r.steps} steps ({r.seconds:.1f} s)")
    paths = [figures.snapshots(os.path.join(out, "energy_through_training.png"), frames, m.lo, m.hi,
                               title="E(x) through training (top); data (green) and model "
                                     "samples from persistent Langevin chains (red)"),
             figures.update_curves(os.path.join(out, "update_cancels.png"), r.history,
                                   title="the two terms of the gradient, and the update green - red")]
    rng = np.random.default_rng(seed + 7)
    start = rng.uniform(m.lo, m.hi, size=(b["n_chains"], 2))
    eps = m.config["eps"]
    _, path_l = mcmc.langevin(m.energy, start, b["chain_steps"], eps, rng, keep_path=True)
    _, rate, path_m = mcmc.mala(m.energy, start, b["chain_steps"], eps, rng, keep_path=True)
    paths.append(figures.samplers_side_by_side(
        os.path.join(out, "chains.png"),
        [(f"unadjusted Langevin, eps={eps}, {b['chain_steps']} steps", path_l),
         (f"MALA, same eps: {100 * rate:.0f}% of moves accepted", path_m)],
        train_x[pick], m.lo, m.hi, title="chains from uniform noise on the trained energy"))
    print(f"[4] chains from noise: Langevin and MALA ({100 * rate:.0f}% accepted)")
    return paths


def bars_stripes(out, b, seed):
    """An MLP energy fitted by exact maximum likelihood to bars and stripes."""
    r = experiment.run("bars_stripes", "discrete-mlp", {"lr": 0.05, "anneal": b["bs_steps"]},
                       steps=b["bs_steps"], seed=seed)
    kl, _ = r.kl()
    rng = np.random.default_rng(seed)
    rows = [("data", r.test.x[:16]),
            ("exact draw", r.model.sample(16, rng, sampler="exact")),
            ("Gibbs chains", r.model.sample(16, rng, sampler="gibbs", sweeps=b["sweeps"] * 4))]
    path = figures.discrete_samples(
        os.path.join(out, "bars_stripes_samples.png"), rows, (4, 4),
        title=f"bars and stripes, MLP energy, exact ML, {r.steps} steps: KL = {kl:.4f} nats")
    print(f"[5] bars_stripes, discrete MLP energy, exact ML: KL = {kl:.4f} nats after "
          f"{r.steps} steps ({r.seconds:.1f} s)")
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join("out", "demos", "04_energy_based_models"))
    p.add_argument("--tiny", action="store_true", help="toy budgets, seconds not minutes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    b = BUDGET[args.tiny]
    t0 = time.perf_counter()
    paths = [three_gradients(args.out, b, args.seed), exact_vs_cd(args.out, b, args.seed)]
    paths += gaussians8(args.out, b, args.seed)
    paths.append(bars_stripes(args.out, b, args.seed))
    for path in paths:
        print(f"figure {path}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
