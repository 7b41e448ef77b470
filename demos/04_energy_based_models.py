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
   two-term gradient, its model term exact up to quadrature (a grid over the box): the
   energy landscape (top) and data (green) vs samples of the model at that step (red),
   as on the slide, until "model update (green - red) cancels out";
   ``update_cancels.png`` plots the two terms and their difference against the step.
4. ``chains.png``: unadjusted Langevin and MALA (Roberts & Tweedie 1996) chains from
   uniform noise on that energy.
5. ``pcd_through_training.png``: the same energy trained as EBMs are at scale, the model
   term from persistent Langevin chains in a replay buffer (Tieleman 2008; Du & Mordatch
   2019); red = the chains of that step.
6. ``bars_stripes_samples.png``: data, and samples of an exactly trained MLP energy on
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
from scratch_gen.ebm.objective import data_term, model_term, nll_gradient, norm

BUDGET = {
    False: dict(bits=10, chains=4000, sweeps=25, ising_steps=300, ising_every=10,
                grid_steps=800, grid_every=200, n_red=1000, red_steps=150,
                pcd_steps=800, pcd_every=200, buffer=8192, chain_steps=200, n_chains=20,
                bs_steps=300),
    True: dict(bits=6, chains=400, sweeps=5, ising_steps=12, ising_every=4,
               grid_steps=8, grid_every=4, n_red=100, red_steps=5,
               pcd_steps=8, pcd_every=4, buffer=256, chain_steps=10, n_chains=10,
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


def _update_ratio(model, x_data, x_model):
    """|E_data[grad E] - E_model[grad E]| / |E_model[grad E]| on large samples: how far
    the slide's update is from cancelling out (0 when green and red agree)."""
    g_data, g_model = data_term(model.energy, x_data), model_term(model.energy, x_model)
    return norm(nll_gradient(g_data, g_model)) / norm(g_model)


def gaussians8_grid(out, b, seed):
    """The slide's picture: an MLP energy trained on gaussians8 with the exact model term
    (quadrature on a grid), its landscape through training, data (green) against
    samples of the current model (red: MALA chains from noise, exact in the limit), and
    the update green - red shrinking."""
    train_x = np.asarray(data.load("gaussians8", seed=seed)[0].x)
    pick = np.random.default_rng(seed).integers(0, len(train_x), 600)
    ds, frames = data.get("gaussians8"), []

    def snap(step, model, history):
        rng = np.random.default_rng([seed, step])
        red = model.sample(b["n_red"], rng, sampler="mala", steps=b["red_steps"], eps=0.02)
        ratio = _update_ratio(model, train_x[:b["n_red"]], red)
        kl = float(np.mean(ds.log_prob(train_x[pick]) - model.log_prob(train_x[pick])))
        frames.append({"step": step, "energy": figures.energy_grid(model.energy, model.lo, model.hi),
                       "data": train_x[pick], "samples": red,
                       "note": f"KL {kl:.2f}, |green-red|/|red| {ratio:.2f}"})

    cfg = {"method": "grid", "lr": 0.01, "anneal": b["grid_steps"]}
    r = experiment.run("gaussians8", "mlp", cfg, steps=b["grid_steps"], seed=seed,
                       batch_size=1024, every=b["grid_every"], callback=snap)
    m = r.model
    kl, kl_se = r.kl()
    print(f"[3] gaussians8, MLP energy, model term by grid quadrature: KL = {kl:.3f} +- "
          f"{kl_se:.3f} nats after {r.steps} steps ({r.seconds:.1f} s); update/|red| "
          f"{frames[0]['note'].split()[-1]} at the start -> {frames[-1]['note'].split()[-1]}")
    paths = [figures.snapshots(os.path.join(out, "energy_through_training.png"), frames,
                               m.lo, m.hi,
                               title="E(x) through training (top); data (green) and samples "
                                     "of the model at that step (red, MALA from noise)"),
             figures.update_curves(os.path.join(out, "update_cancels.png"), r.history,
                                   title="exact-gradient training: the two terms and the "
                                         "update green - red")]
    rng = np.random.default_rng(seed + 7)
    start = rng.uniform(m.lo, m.hi, size=(b["n_chains"], 2))
    eps = 0.02
    _, path_l = mcmc.langevin(m.energy, start, b["chain_steps"], eps, rng, keep_path=True)
    _, rate, path_m = mcmc.mala(m.energy, start, b["chain_steps"], eps, rng, keep_path=True)
    paths.append(figures.samplers_side_by_side(
        os.path.join(out, "chains.png"),
        [(f"unadjusted Langevin, eps={eps}, {b['chain_steps']} steps", path_l),
         (f"MALA, same eps: {100 * rate:.0f}% of moves accepted", path_m)],
        train_x[pick], m.lo, m.hi, title="chains from uniform noise on the trained energy"))
    print(f"[4] chains from noise on it: Langevin and MALA ({100 * rate:.0f}% accepted)")
    return paths


def gaussians8_pcd(out, b, seed):
    """The same energy trained the way EBMs are trained at scale: the model term from
    persistent Langevin chains in a replay buffer, red = the chains of the last step."""
    train_x = np.asarray(data.load("gaussians8", seed=seed)[0].x)
    pick = np.random.default_rng(seed).integers(0, len(train_x), 600)
    frames = []

    def snap(step, model, history):
        red = (model.buffer.x[:600] if step == 0 else model.last_model_samples).copy()
        note = ("chains = uniform noise" if step == 0 else
                f"|green-red|/|red| {history[-1]['update'] / history[-1]['norm_model']:.2f}")
        frames.append({"step": step, "energy": figures.energy_grid(model.energy, model.lo, model.hi),
                       "data": train_x[pick], "samples": red, "note": note})

    cfg = {"method": "pcd", "lr": 0.002, "alpha": 0.1, "anneal": b["pcd_steps"],
           "buffer": b["buffer"]}
    r = experiment.run("gaussians8", "mlp", cfg, steps=b["pcd_steps"], seed=seed,
                       every=b["pcd_every"], callback=snap)
    kl, kl_se = r.kl()
    print(f"[5] gaussians8, MLP energy, PCD with Langevin chains: KL = {kl:.3f} +- {kl_se:.3f} "
          f"nats after {r.steps} steps ({r.seconds:.1f} s)")
    return [figures.snapshots(os.path.join(out, "pcd_through_training.png"), frames,
                              r.model.lo, r.model.hi,
                              title="PCD: E(x) (top); data (green) and the persistent Langevin "
                                    "chains of that step (red)")]


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
    print(f"[6] bars_stripes, discrete MLP energy, exact ML: KL = {kl:.4f} nats after "
          f"{r.steps} steps ({r.seconds:.1f} s)")
    return path


def main(argv=None):
    from _args import demo_args
    args = demo_args(__doc__.split("\n\n")[0], "04_energy_based_models", argv,
                     tiny="toy budgets, seconds not minutes",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    os.makedirs(args.out, exist_ok=True)
    b = BUDGET[args.tiny]
    t0 = time.perf_counter()
    paths = [three_gradients(args.out, b, args.seed), exact_vs_cd(args.out, b, args.seed)]
    paths += gaussians8_grid(args.out, b, args.seed)
    paths += gaussians8_pcd(args.out, b, args.seed)
    paths.append(bars_stripes(args.out, b, args.seed))
    for path in paths:
        print(f"figure {path}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
