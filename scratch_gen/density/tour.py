"""The lecture foundations in the tour: explicit densities, the filing cabinet, the
bandwidth sweep, memorization, Bayes' rule both ways, and noise as latent variables.

``run(out_dir, quick=False, seed=0)`` returns one row per model (scratch_gen/tour.py
describes the row). Density rows: test NLL, the dataset's entropy, ``kl = test NLL -
entropy`` and the modes captured out of 8. The filing cabinet's test NLL is inf, as it
is (Isola L14, "Is the filing cabinet a good generative model?"). Bayes-rule rows (family
"conditional"): the NLL of the test *labels*, ``H(Y|X)`` of the 3-class toy as the
entropy (the best possible label NLL, by quadrature), and "acc a / Bayes b" in
``modes``. One row (family "latent") is the turtle, the program that made ``river``: a
hand-written generator whose latents are the data's own, so its KL is 0.

This module is orchestration, like scratch_gen/tour.py: it reaches the conditional and
latent packages (which the brief of the lecture foundations puts in this tour); the
density models themselves import neither.
"""
import json
import math
import os
import time

import numpy as np

from .. import data, metrics, registry
from ..registry import DataSpec
from ..train import fit
from . import categorical, figures, generalization, memorization
from . import mixture as mixture_mod

SLIDES = {
    "gaussian": "Isola L14, 'Density models' (max likelihood = min KL)",
    "mixture": "Isola L14, 'Density models'; Dempster et al. 1977 (EM)",
    "histogram": "Isola L14, 'Density models'; He L1, 'overfitting vs. underfitting'",
    "kde": "Isola L14, 'What's the goal of generative modeling?' (test likelihood); Parzen 1962",
    "filing-cabinet": "Isola L14, 'Is the filing cabinet a good generative model?'",
}
MODELS = {
    "gaussians8": ("filing-cabinet", "kde", "mixture", "gaussian", "histogram"),
    "ring8": ("kde", "mixture", "gaussian"),
}


def _sizes(quick):
    return {"n_train": 2000, "n_test": 4000} if quick else {"n_train": 5000, "n_test": 20000}


def fit_density(variant, train, seed, config=None):
    """A density-family model fitted through the workbench's loop (closed form: setup
    only); returns ``(model, seconds)``."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    model = registry.build("density", variant, DataSpec.from_data(train), config, rng)
    fit(model, train, seed=seed, quiet=True)
    return model, time.perf_counter() - t0


def density_row(model, seconds, train, test, dataset, seed):
    lp = model.log_prob(test.x)
    nll = metrics.nll(lp, model.spec.n_dims)["nll"]
    entropy = float(dataset.entropy())
    samples = model.sample(2500, np.random.default_rng(seed))
    modes = metrics.mode_metrics(samples, dataset.centers, dataset.std)["modes"]
    row = {"family": "density", "model": model.variant, "dataset": dataset.name,
           "test_nll": nll, "entropy": entropy, "kl": nll - entropy, "modes": modes,
           "seconds": seconds, "figures": [], "slide": SLIDES[model.variant]}
    if model.variant == "kde":
        row["bandwidth"] = model.h
    return row


def density_rows(out_dir, quick, seed):
    """The density models on gaussians8 and ring8, one panel figure per dataset."""
    rows, fitted = [], {}
    for name, variants in MODELS.items():
        train, test, ds = data.load(name, seed=seed, **_sizes(quick))
        models = []
        for variant in variants:
            model, sec = fit_density(variant, train, seed)
            rows.append(density_row(model, sec, train, test, ds, seed))
            models.append((variant, model))
        fitted[name] = (train, test, ds, dict(models))
        if quick and name != "gaussians8":
            continue                      # --quick: one panel figure, not one per dataset
        lo, hi = np.array([-4.0, -4.0]), np.array([4.0, 4.0])
        if name == "ring8":
            lo, hi = np.array([-1.25, -1.25]), np.array([1.25, 1.25])
        fig = figures.density_panels(
            os.path.join(out_dir, f"density_{name}.png"),
            [(f"{v} (KL {r['kl']:.2f})" if math.isfinite(r["kl"]) else f"{v} (test NLL inf)", m)
             for (v, m), r in zip(models, rows[-len(models):])], train.x, lo, hi,
            n=100 if quick else 160,
            title=f"Isola L14, 'Density models': log p_theta(x) of each model on {name}")
        rows[-len(models)]["figures"].append(os.path.basename(fig))
    return rows, fitted


def sweep_and_memorization(out_dir, quick, seed, rows, fitted):
    """The bandwidth sweep (5,000 training points) and the memorization table on
    gaussians8; figures attached to the KDE and filing-cabinet rows."""
    train, test, ds, models = fitted["gaussians8"]
    n_test = 2000 if quick else 10000
    test_x = test.x[:n_test]
    hs = generalization.default_bandwidths(train.x, 12 if quick else 27, 1e-4, 3.0)
    sweep = generalization.bandwidth_sweep(train.x, test_x, hs, ds)
    b = sweep["best"]
    sweep_fig = figures.bandwidth_sweep_figure(
        os.path.join(out_dir, "bandwidth_sweep.png"), sweep,
        title=f"KDE on gaussians8, {len(train.x)} training points: train vs test NLL")
    summary = {"n_train": len(train.x), "n_test": len(test_x),
               "best_bandwidth": float(hs[b]), "best_test_nll": float(sweep["test_nll"][b]),
               "entropy": sweep["entropy"],
               "best_minus_entropy": float(sweep["test_nll"][b] - sweep["entropy"]),
               "u_shaped": generalization.is_u_shaped(sweep["test_nll"])}
    kde_h = models["kde"].h
    table_models = [("filing cabinet", models["filing-cabinet"])]
    for h in (1e-7, 0.01, kde_h, 0.5):
        kde, _ = fit_density("kde", train, seed, {"bandwidth": float(h)})
        label = f"KDE h={h:.3g}" + (" (held-out best)" if h == kde_h else "")
        table_models.append((label, kde))
    table_models.append(("Gaussian", models["gaussian"]))
    rng = np.random.default_rng(seed)
    n_mem = 1000 if quick else 2500        # samples = test points, as Naeem et al. compare
    table = memorization.memorization_table(table_models, train.x, test_x[:n_mem], n_mem,
                                            rng, truth=ds)
    with open(os.path.join(out_dir, "memorization.json"), "w") as f:
        json.dump({"sweep": summary, "table": [{k: _finite(v) for k, v in r.items()}
                                              for r in table]}, f, indent=1)
    attach = {"kde": [sweep_fig], "filing-cabinet": []}
    if not quick:
        attach["filing-cabinet"].append(figures.memorization_figure(
            os.path.join(out_dir, "memorization.png"), table, title="Memorization on gaussians8"))
    for r in rows:
        if r["dataset"] == "gaussians8" and r["model"] in attach:
            r["figures"].extend(os.path.basename(f) for f in attach[r["model"]])
    return summary, table


def _finite(v):
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def theory_figures(out_dir, quick, seed, rows, fitted):
    """max likelihood = min KL on a categorical (attached to the Gaussian's row), the 1D
    delta-functions picture (the cabinet's row), EM vs gradient ascent (the mixture's)."""
    rng = np.random.default_rng(seed)
    x = rng.choice(6, size=200, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    p_hat = categorical.empirical(x, 6)
    thetas = [np.zeros(6)]
    for _ in range(60):
        thetas.append(categorical.fit_by_gradient_ascent(x, 6, steps=1, theta=thetas[-1])[0])
    f1 = figures.mle_kl_figure(os.path.join(out_dir, "mle_is_min_kl.png"), p_hat, thetas,
                               categorical.entropy(p_hat))
    train1 = np.concatenate([rng.normal(-1.2, 0.5, 12), rng.normal(1.5, 0.7, 8)])
    test1 = np.concatenate([rng.normal(-1.2, 0.5, 6), rng.normal(1.5, 0.7, 4)])

    def truth(xs):
        a = -0.5 * ((xs + 1.2) / 0.5) ** 2 - math.log(0.5 * math.sqrt(2 * math.pi)) + math.log(0.6)
        b = -0.5 * ((xs - 1.5) / 0.7) ** 2 - math.log(0.7 * math.sqrt(2 * math.pi)) + math.log(0.4)
        return np.logaddexp(a, b)
    f2 = figures.deltas_figure(os.path.join(out_dir, "delta_functions.png"), train1, test1,
                               truth, (0.6, 0.25, 0.03))
    train, _, _, _ = fitted["gaussians8"]
    xs = train.x[:400]
    start = mixture_mod.init_params(xs, 8, np.random.default_rng(seed))
    em_fit = mixture_mod.em(xs, *start, iters=300, tol=-1.0)
    grad_fit = mixture_mod.gradient_ascent(xs, *start, steps=600, lr=0.05)
    f3 = figures.em_vs_gradient_figure(os.path.join(out_dir, "em_vs_gradient.png"), xs,
                                       em_fit, grad_fit)
    attach = {"gaussian": f1, "filing-cabinet": f2, "mixture": f3}
    for r in rows:
        if r["dataset"] == "gaussians8" and r["model"] in attach:
            r["figures"].append(os.path.basename(attach[r["model"]]))


def conditional_rows(out_dir, quick, seed):
    """Bayes' rule both ways: the 3-class toy (against the Bayes rate and H(Y|X)) and
    glyphs; family "conditional"."""
    from ..conditional import experiments
    from ..conditional import figures as cfig
    rows = []
    toy = experiments.toy_comparison(n_train=1000 if quick else 2000,
                                     n_test=5000 if quick else 20000, seed=seed,
                                     softmax_steps=500 if quick else 2000,
                                     quadrature=256 if quick else 512)
    h = toy["conditional_entropy"]
    for r in toy["rows"]:
        rows.append({"family": "conditional", "model": r["classifier"],
                     "dataset": "three-class toy", "test_nll": r["label_nll"], "entropy": h,
                     "kl": r["label_nll"] - h,
                     "modes": f"acc {r['accuracy']:.3f} / Bayes {toy['bayes_rate']:.3f}",
                     "seconds": r["seconds"], "figures": [],
                     "slide": "He L1, 'Discriminative vs. generative models' (Bayes' rule)"})
    rows[0]["figures"].append(os.path.basename(
        cfig.toy_figure(os.path.join(out_dir, "bayes_rule_toy.png"), toy)))
    gly = experiments.glyphs_comparison(n_train=800 if quick else 5000,
                                        n_test=400 if quick else 2000, seed=seed,
                                        softmax_steps=300 if quick else 1500,
                                        use_kde=not quick)
    for r in gly["rows"]:
        rows.append({"family": "conditional", "model": r["classifier"], "dataset": "glyphs",
                     "test_nll": r["label_nll"], "entropy": None, "kl": None,
                     "modes": f"acc {r['accuracy']:.3f} / Bayes unknown",
                     "seconds": r["seconds"], "figures": [],
                     "slide": "He L1, 'Discriminative vs. generative models' (Bayes' rule)"})
    if not quick:
        first_glyph = len(toy["rows"])
        rows[first_glyph]["figures"].append(os.path.basename(cfig.glyphs_figure(
            os.path.join(out_dir, "bayes_rule_glyphs.png"), gly, np.random.default_rng(seed))))
        rows[first_glyph]["figures"].append(os.path.basename(cfig.reverse_figure(
            os.path.join(out_dir, "bayes_rule_reverse.png"),
            experiments.reverse_direction_table())))
    return rows


def latent_row(out_dir, quick, seed):
    """The turtle on ``river``: the lecture's own program as a model, and the
    noise-is-latent figures."""
    from ..latent import figures as lfig
    from ..latent import turtle
    t0 = time.perf_counter()
    _, test, ds = data.load("river", seed=seed, n_train=10, n_test=1000)
    z = ds.decode(test.x)                    # the latents that drew each test image
    redrawn = turtle.G(z)
    log_p = np.where((redrawn == test.x).all(axis=(1, 2)), -ds.n_turns * math.log(2), -math.inf)
    nll = float(-log_p.mean())
    rng = np.random.default_rng(seed)
    figs = [lfig.turtle_figure(os.path.join(out_dir, "noise_is_latent_turtle.png"),
                               turtle.sample_z(1, rng)[0])]
    if not quick:
        figs.append(lfig.landscape_factors_figure(
            os.path.join(out_dir, "noise_is_latent_landscape.png"), rng))
        figs.append(lfig.landscape_samples_figure(
            os.path.join(out_dir, "noise_is_latent_world_model.png"), rng))
    return {"family": "latent", "model": "turtle (hand-written G: Z -> X)", "dataset": "river",
            "test_nll": nll, "entropy": float(ds.entropy()), "kl": nll - float(ds.entropy()),
            "modes": None, "seconds": time.perf_counter() - t0,
            "figures": [os.path.basename(f) for f in figs],
            "slide": "Isola L14, 'Concept #1: noise is latent variables'"}


def run(out_dir, quick=False, seed=0):
    """Every model of the lecture foundations, measured; see the module docstring."""
    os.makedirs(out_dir, exist_ok=True)
    rows, fitted = density_rows(out_dir, quick, seed)
    sweep_and_memorization(out_dir, quick, seed, rows, fitted)
    if not quick:                         # --quick: the rows, and the main figures only
        theory_figures(out_dir, quick, seed, rows, fitted)
    rows.extend(conditional_rows(out_dir, quick, seed))
    rows.append(latent_row(out_dir, quick, seed))
    return rows
