"""The energy-based models' stop on the tour (Isola L14, "Energy-based models").

Rows: a Boltzmann machine fitted to the Ising data by exact maximum likelihood (the
model term over all 2^16 states) and, beside it, by CD-1 with the same steps; an MLP
energy on bars and stripes, exact; an MLP energy on gaussians8 trained with the model
term by quadrature on a grid; and one on ring8 trained by persistent Langevin chains,
whose samples are scored by PacGAN's mode metrics.

Every row has a real density: exact Z on bits, Z by quadrature in 2D, so ``kl`` is the
test NLL minus the data's entropy; binary rows also carry ``kl_exact`` (the sum over the
data's support, no test-sample noise) and 2D rows ``kl_paired`` (mean of log p_data -
log p_model on the test points) with its standard error.
"""
import os

import numpy as np

from .. import plots
from . import experiment, figures, mcmc

# Steps per run: the default fits in about 70 s on 2 shared cores, quick in about 10 s.
BUDGET = {False: {"ising": 200, "ising_cd": 200, "bars": 80, "g8": 800, "ring": 300},
          True: {"ising": 40, "ising_cd": 0, "bars": 0, "g8": 60, "ring": 40}}

SLIDE = "Isola L14, 'Energy-based models -- learning model parameters'"


def _row(run, model_name, figures_, note, **extra):
    ds = run.dataset
    nll = run.test_nll()
    h = float(ds.entropy())
    row = {"family": "ebm", "model": model_name, "dataset": ds.name, "test_nll": nll,
           "entropy": h, "kl": nll - h, "modes": None, "seconds": run.seconds,
           "steps": run.steps, "figures": figures_, "slide": SLIDE, "note": note}
    row.update(extra)
    return row


def _binary(out_dir, dataset, variant, method, steps, seed, config=None):
    cfg = {"method": method, "anneal": steps, **(config or {})}
    r = experiment.run(dataset, variant, cfg, steps=steps, seed=seed)
    kl, _ = r.kl()
    rng = np.random.default_rng(seed)
    name = f"ebm_{variant}_{method}_{dataset}.png"
    figures.discrete_samples(
        os.path.join(out_dir, name),
        [("data", r.test.x[:16]), ("model (exact draw)", r.model.sample(16, rng, sampler="exact")),
         ("model (Gibbs)", r.model.sample(16, rng, sampler="gibbs", sweeps=100))],
        r.dataset.image_shape,
        title=f"ebm/{variant} ({method}) on {dataset}, {steps} steps: KL = {kl:.4f} nats (exact)")
    note = {"exact": "model term exact over all 2^16 states",
            "cd": "CD-1: model term from one Gibbs sweep started at the data",
            "pcd": "PCD-1: persistent Gibbs chains"}[method]
    return _row(r, f"ebm/{variant} ({method})", [name], note, kl_exact=kl)


def _gaussians8(out_dir, steps, seed):
    r = experiment.run("gaussians8", "mlp", {"method": "grid", "lr": 0.01, "anneal": steps},
                       steps=steps, seed=seed, batch_size=1024)
    m = r.model
    kl, se = r.kl()
    x = np.asarray(r.train.x)[:1500]
    heat = "ebm_mlp_grid_gaussians8_density.png"
    plots.density_heatmap(os.path.join(out_dir, heat), m.log_prob, m.lo, m.hi, n=160, data=x,
                          title=f"ebm/mlp (grid) on gaussians8, {steps} steps: log p(x), "
                                f"KL = {kl:.3f} +- {se:.3f}")
    scat = "ebm_mlp_grid_gaussians8_samples.png"
    plots.scatter_2d(os.path.join(out_dir, scat), x, m.sample(1500, np.random.default_rng(seed)),
                     title="data (green), Langevin samples from noise (red)", limits=(m.lo, m.hi))
    return _row(r, "ebm/mlp (grid)", [heat, scat],
                "model term by quadrature on a 64x64 grid (exact ML up to the midpoint rule)",
                kl_paired=kl, kl_paired_se=se)


def _ring8(out_dir, steps, seed):
    r = experiment.run("ring8", "mlp", {"method": "pcd", "eps": 1e-3, "lr": 2e-3}, steps=steps,
                       seed=seed)
    m = r.model
    mm, samples = experiment.modes(m, r.dataset, seed=seed)
    kl, se = r.kl()
    x = np.asarray(r.train.x)[:1500]
    scat = "ebm_mlp_pcd_ring8_samples.png"
    plots.scatter_2d(os.path.join(out_dir, scat), x, samples,
                     title=f"ebm/mlp (PCD) on ring8: Langevin samples cover {mm['modes']}/8 modes",
                     limits=(m.lo, m.hi))
    rng = np.random.default_rng(seed + 1)
    _, path = mcmc.langevin(m.energy, rng.uniform(m.lo, m.hi, size=(30, 2)), 200,
                            m.config["eps"], rng, keep_path=True)
    traj = "ebm_mlp_pcd_ring8_chains.png"
    plots.trajectories(os.path.join(out_dir, traj), path, data=x,
                       title="Langevin chains from uniform noise")
    return _row(r, "ebm/mlp (pcd)", [scat, traj],
                "persistent Langevin chains in a replay buffer (95% kept, 5% fresh noise)",
                modes=f"{mm['modes']}/{mm['n_modes']}", high_quality=mm["high_quality"],
                kl_paired=kl, kl_paired_se=se)


def run(out_dir, quick=False, seed=0):
    """Train the tour's energy-based models into ``out_dir``; one row per model."""
    os.makedirs(out_dir, exist_ok=True)
    b = BUDGET[bool(quick)]
    rows = [_binary(out_dir, "ising", "boltzmann", "exact", b["ising"], seed, {"lr": 0.1})]
    if b["ising_cd"]:
        rows.append(_binary(out_dir, "ising", "boltzmann", "cd", b["ising_cd"], seed,
                            {"lr": 0.1}))
    if b["bars"]:
        rows.append(_binary(out_dir, "bars_stripes", "discrete-mlp", "exact", b["bars"], seed,
                            {"lr": 0.05, "anneal": 0}))
    rows.append(_gaussians8(out_dir, b["g8"], seed))
    rows.append(_ring8(out_dir, b["ring"], seed))
    return rows
