"""Isola L14, "Density models" to "What's the goal of generative modeling?"; He L1,
"overfitting vs. underfitting" and "delta functions = sampling the training data".

1. Density models p_theta: X -> [0, inf) on gaussians8: a Gaussian (closed-form MLE), a
   mixture of Gaussians (EM), a histogram, a KDE, and the filing cabinet, exactly as the
   slide's code (train appends; generate picks a random drawer). Its density is a sum
   of delta functions: test NLL = +inf, reported as such.
2. Max likelihood = min KL on a categorical: KL(p_hat || p_theta) - NLL(theta) = -H(p_hat).
3. EM and gradient ascent through autograd reach the same mixture.
4. Generalization: the KDE bandwidth sweep; h -> 0 is the filing cabinet.
5. Memorization measured: copy rate and coverage.

    python demos/02_density_and_the_filing_cabinet.py [--out DIR] [--tiny]

Writes density_models.png, delta_functions.png, mle_is_min_kl.png, em_vs_gradient.png,
bandwidth_sweep.png, memorization.png.
"""
import math
import os
import time

import numpy as np

from scratch_gen import data, metrics
from scratch_gen.density import (categorical, figures, generalization, memorization,
                                 mixture, tour)


def main():
    from _args import demo_args
    args = demo_args(__doc__.splitlines()[0], "02_density_and_the_filing_cabinet",
                     tiny="small sizes, a few seconds")
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)          # noqa: E731
    t0 = time.perf_counter()
    n_train, n_test = (1000, 1000) if args.tiny else (5000, 10000)
    train, test, ds = data.load("gaussians8", seed=args.seed, n_train=n_train, n_test=n_test)
    h_data = ds.entropy()

    # 1. five density models, one referee: test NLL - entropy = KL to the truth
    print(f"gaussians8: {n_train} train, {n_test} test; entropy H = {h_data:.4f} nats")
    models, fitted = [], {}
    for variant in ("gaussian", "mixture", "histogram", "kde", "filing-cabinet"):
        model, _ = tour.fit_density(variant, train, args.seed)
        fitted[variant] = model
        nll = metrics.nll(model.log_prob(test.x), 2)["nll"]
        print(f"  {variant:<15} test NLL {nll:8.4f}   KL to truth {nll - h_data:8.4f}")
        models.append((f"{variant}: test NLL {nll:.3f}" if math.isfinite(nll)
                       else f"{variant}: test NLL inf", model))
    cabinet = fitted["filing-cabinet"]
    print(f"  the filing cabinet: log p(train point) = {cabinet.log_prob(train.x[:1])[0]}, "
          f"log p(test point) = {cabinet.log_prob(test.x[:1])[0]}")
    print(figures.density_panels(out("density_models.png"), models, train.x,
                                 np.array([-4.0, -4.0]), np.array([4.0, 4.0]),
                                 n=100 if args.tiny else 160,
                                 title="Isola L14, 'Density models': log p_theta(x) on "
                                       f"gaussians8 (entropy {h_data:.3f})"))

    rng = np.random.default_rng(args.seed)
    x1 = np.concatenate([rng.normal(-1.2, 0.5, 12), rng.normal(1.5, 0.7, 8)])
    t1 = np.concatenate([rng.normal(-1.2, 0.5, 6), rng.normal(1.5, 0.7, 4)])

    def truth1(xs):
        a = -0.5 * ((xs + 1.2) / 0.5) ** 2 - math.log(0.5 * math.sqrt(2 * math.pi)) + math.log(0.6)
        b = -0.5 * ((xs - 1.5) / 0.7) ** 2 - math.log(0.7 * math.sqrt(2 * math.pi)) + math.log(0.4)
        return np.logaddexp(a, b)
    print(figures.deltas_figure(out("delta_functions.png"), x1, t1, truth1, (0.6, 0.25, 0.03)))

    # 2. max likelihood = min KL, exactly
    xc = rng.choice(6, size=200, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    p_hat = categorical.empirical(xc, 6)
    thetas = [np.zeros(6)]
    for _ in range(60):
        thetas.append(categorical.fit_by_gradient_ascent(xc, 6, steps=1, theta=thetas[-1])[0])
    gaps = [categorical.kl(p_hat, np.exp(categorical.log_softmax(t))) - categorical.nll(t, xc)
            for t in thetas]
    print(f"categorical: KL - NLL over 61 thetas in [{min(gaps):.12f}, {max(gaps):.12f}]; "
          f"-H(p_hat) = {-categorical.entropy(p_hat):.12f}")
    print(figures.mle_kl_figure(out("mle_is_min_kl.png"), p_hat, thetas,
                                categorical.entropy(p_hat)))

    # 3. EM and gradient ascent, from one start
    xs = train.x[:400]
    start = mixture.init_params(xs, 8, np.random.default_rng(args.seed))
    em_fit = mixture.em(xs, *start, iters=300, tol=-1.0)
    grad_fit = mixture.gradient_ascent(xs, *start, steps=150 if args.tiny else 600)
    print(f"mixture on 400 points: EM {em_fit[3][-1]:.10f}, gradient ascent "
          f"{grad_fit[3][-1]:.10f} (mean log-likelihood)")
    print(figures.em_vs_gradient_figure(out("em_vs_gradient.png"), xs, em_fit, grad_fit))

    # 4. generalization: the bandwidth sweep
    hs = generalization.default_bandwidths(train.x, 12 if args.tiny else 27, 1e-4, 3.0)
    sweep = generalization.bandwidth_sweep(train.x, test.x, hs, ds)
    b = sweep["best"]
    print(f"bandwidth sweep: best h = {hs[b]:.4f}, test NLL {sweep['test_nll'][b]:.4f} vs "
          f"entropy {h_data:.4f} (+{sweep['test_nll'][b] - h_data:.4f}); at h = {hs[0]:.4g}: "
          f"train NLL {sweep['train_nll'][0]:.2f}, test NLL {sweep['test_nll'][0]:.1f}")
    print(figures.bandwidth_sweep_figure(out("bandwidth_sweep.png"), sweep))

    # 5. memorization
    table_models = [("filing cabinet", cabinet)]
    for h in (1e-7, 0.01, fitted["kde"].h, 0.5):            # the held-out choice, and others
        table_models.append((f"KDE h={h:.3g}", tour.fit_density("kde", train, args.seed,
                                                                {"bandwidth": float(h)})[0]))
    table_models.append(("Gaussian", fitted["gaussian"]))
    n_mem = 500 if args.tiny else 2500
    rows = memorization.memorization_table(table_models, train.x, test.x[:n_mem], n_mem,
                                           np.random.default_rng(args.seed), truth=ds)
    print(memorization.format_table(rows))
    print(figures.memorization_figure(out("memorization.png"), rows))
    print(f"done in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
