"""The lecture foundations' figures of merit, printed as one JSON object.

    python benchmarks/foundations.py [--seed S]

- the KDE bandwidth sweep on gaussians8 with 5,000 training points and 20,000 test
  points: the best test NLL against the dataset's entropy (Isola L14, "likelihood of
  the test data under the model"), and the limits at the smallest bandwidth;
- maximum likelihood = minimum KL on a categorical: the largest deviation of
  ``KL - NLL + H`` over random thetas, and how close gradient ascent gets to the counts;
- EM vs gradient ascent on one mixture problem: the gap in log-likelihood and parameters;
- Bayes' rule classifiers against the Bayes rate on the 3-class toy, and on glyphs;
- the memorization table (copy rate, nearest-neighbour distance, coverage, test NLL).

Numbers in nats. Non-finite values are written as the strings "inf"/"-inf" (JSON has
no Infinity), the filing cabinet's test NLL among them.
"""
import argparse
import json
import math
import time

import numpy as np

from scratch_gen import data, metrics
from scratch_gen.conditional import experiments
from scratch_gen.density import categorical, generalization, memorization, mixture, tour


def finite(v):
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def sweep_figures(seed):
    train, test, ds = data.load("gaussians8", seed=seed, n_train=5000, n_test=20000)
    hs = generalization.default_bandwidths(train.x, 27, 1e-4, 3.0)
    t0 = time.perf_counter()
    s = generalization.bandwidth_sweep(train.x, test.x, hs, ds)
    b = s["best"]
    return {"n_train": 5000, "n_test": 20000, "bandwidths": len(hs),
            "best_bandwidth": hs[b], "best_test_nll": s["test_nll"][b],
            "best_test_nll_se": s["test_nll_se"][b], "entropy": s["entropy"],
            "best_minus_entropy": s["test_nll"][b] - s["entropy"],
            "best_kl_paired": s["kl"][b], "best_kl_paired_se": s["kl_se"][b],
            "u_shaped": generalization.is_u_shaped(s["test_nll"]),
            "smallest_bandwidth": hs[0], "train_nll_at_smallest": s["train_nll"][0],
            "test_nll_at_smallest": s["test_nll"][0], "seconds": time.perf_counter() - t0}


def mle_figures(seed):
    rng = np.random.default_rng(seed)
    x = rng.choice(7, size=1000, p=rng.dirichlet(np.ones(7) * 3))
    p_hat = categorical.empirical(x, 7)
    dev = max(abs(categorical.kl(p_hat, np.exp(categorical.log_softmax(t)))
                  - categorical.nll(t, x) + categorical.entropy(p_hat))
              for t in rng.normal(scale=3, size=(100, 7)))
    theta, _ = categorical.fit_by_gradient_ascent(x, 7, steps=1500)
    return {"max_abs_kl_minus_nll_plus_entropy": dev,
            "max_abs_p_theta_minus_counts": float(np.abs(np.exp(categorical.log_softmax(theta))
                                                         - p_hat).max())}


def em_figures(seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal([-2, 0], [0.5, 0.8], (100, 2)),
                        rng.normal([2, 1], [0.7, 0.4], (100, 2)),
                        rng.normal([0, 3], 0.6, (100, 2))])
    start = mixture.init_params(x, 3, np.random.default_rng(seed + 1))
    em = mixture.em(x, *start, iters=500, tol=-1.0)
    gr = mixture.gradient_ascent(x, *start, steps=600, lr=0.05)
    return {"em_log_likelihood": em[3][-1], "gradient_log_likelihood": gr[3][-1],
            "log_likelihood_gap": abs(em[3][-1] - gr[3][-1]),
            "max_abs_parameter_gap": max(float(np.abs(a - b).max())
                                         for a, b in zip(em[:3], gr[:3]))}


def classifier_figures(seed):
    toy = experiments.toy_comparison(n_train=2000, n_test=20000, seed=seed, softmax_steps=2000)
    gly = experiments.glyphs_comparison(n_train=5000, n_test=2000, seed=seed, softmax_steps=1500)
    keep = ("accuracy", "accuracy_se", "expected_accuracy", "label_nll", "expected_label_nll",
            "seconds")
    return {"toy": {"bayes_rate": toy["bayes_rate"],
                    "bayes_error_quadrature_error": toy["bayes_error_quadrature_error"],
                    "conditional_entropy_H_Y_given_X": toy["conditional_entropy"],
                    "label_entropy_H_Y": toy["label_entropy"], "n_train": 2000, "n_test": 20000,
                    "classifiers": {r["classifier"]: {k: r[k] for k in keep if k in r}
                                    for r in toy["rows"]}},
            "glyphs": {"n_train": 5000, "n_test": 2000, "bayes_rate": None,
                       "classifiers": {r["classifier"]: {k: r[k] for k in keep if k in r}
                                       for r in gly["rows"]}}}


def memorization_figures(seed):
    train, test, ds = data.load("gaussians8", seed=seed, n_train=5000, n_test=2500)
    models = [("filing cabinet", tour.fit_density("filing-cabinet", train, seed)[0])]
    best = tour.fit_density("kde", train, seed)[0]
    for h in (1e-7, 1e-3, 0.01, 0.05, best.h, 0.5):
        models.append((f"KDE h={h:.3g}" + (" (held-out choice)" if h == best.h else ""),
                       tour.fit_density("kde", train, seed, {"bandwidth": float(h)})[0]))
    models.append(("Gaussian", tour.fit_density("gaussian", train, seed)[0]))
    rows = memorization.memorization_table(models, train.x, test.x, 2500,
                                           np.random.default_rng(seed), truth=ds)
    return {"n_train": 5000, "n_test": 2500, "n_samples": 2500, "k": 5, "rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    t0 = time.perf_counter()
    out = {"benchmark": "foundations", "seed": args.seed,
           "bandwidth_sweep": sweep_figures(args.seed),
           "max_likelihood_is_min_kl": mle_figures(args.seed),
           "em_vs_gradient_ascent": em_figures(args.seed),
           "classifiers": classifier_figures(args.seed),
           "memorization": memorization_figures(args.seed)}
    out["seconds"] = time.perf_counter() - t0
    out["figures"] = {
        "demos/01_noise_is_latent.py": ["turtle_one_flip.png", "landscape_one_latent_at_a_time.png",
                                        "landscape_world_model.png"],
        "demos/02_density_and_the_filing_cabinet.py": [
            "density_models.png", "delta_functions.png", "mle_is_min_kl.png",
            "em_vs_gradient.png", "bandwidth_sweep.png", "memorization.png"],
        "demos/03_bayes_rule.py": ["bayes_rule_toy.png", "bayes_rule_glyphs.png",
                                   "bayes_rule_reverse.png"]}
    print(json.dumps(finite(out), indent=1))


if __name__ == "__main__":
    main()
