"""He L1, "Discriminative vs. generative models": Bayes' rule both ways.

    p(y|x) = p(x|y) p(y) / p(x)    generative models can be discriminative
    p(x|y) = p(y|x) p(x) / p(y)    discriminative models can be generative,
                                   "still need to model prior"

On a 2D 3-class toy whose class conditionals we chose (so the Bayes posterior, the
Bayes error and H(Y|X) are known), a generative classifier (one density per class, then
Bayes' rule) against a discriminative one (softmax regression, Isola L14 "Math
background"); then the same on the glyphs digits; then the reverse direction on a small
discrete table.

    python demos/03_bayes_rule.py [--out DIR] [--tiny]

Writes bayes_rule_toy.png, bayes_rule_glyphs.png, bayes_rule_reverse.png.
"""
import os
import time

import numpy as np

from scratch_gen.conditional import experiments, figures


def main():
    from _args import demo_args
    args = demo_args(__doc__.splitlines()[0], "03_bayes_rule", tiny="small sizes, a few seconds")
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()

    toy = experiments.toy_comparison(n_train=500 if args.tiny else 2000,
                                     n_test=2000 if args.tiny else 20000, seed=args.seed,
                                     softmax_steps=300 if args.tiny else 2000,
                                     quadrature=256 if args.tiny else 512)
    print(f"3-class toy: Bayes rate {toy['bayes_rate']:.4f} (quadrature error "
          f"{toy['bayes_error_quadrature_error']:.1g}), H(Y|X) = "
          f"{toy['conditional_entropy']:.4f} nats, H(Y) = {toy['label_entropy']:.4f}")
    for r in toy["rows"]:
        print(f"  {r['classifier']:<30} test acc {r['accuracy']:.4f} +- {r['accuracy_se']:.4f}"
              f"  expected acc {r['expected_accuracy']:.4f}  label NLL {r['label_nll']:.4f}"
              f"  (expected {r['expected_label_nll']:.4f})")
    print(figures.toy_figure(os.path.join(args.out, "bayes_rule_toy.png"), toy))

    gly = experiments.glyphs_comparison(n_train=600 if args.tiny else 5000,
                                        n_test=300 if args.tiny else 2000, seed=args.seed,
                                        softmax_steps=200 if args.tiny else 1500,
                                        use_kde=not args.tiny)
    print("glyphs (no known Bayes rate):")
    for r in gly["rows"]:
        print(f"  {r['classifier']:<40} test acc {r['accuracy']:.4f} +- {r['accuracy_se']:.4f}"
              f"  label NLL {r['label_nll']:.4f}")
    print(figures.glyphs_figure(os.path.join(args.out, "bayes_rule_glyphs.png"), gly,
                                np.random.default_rng(args.seed)))

    table = experiments.reverse_direction_table()
    print("reverse direction on the discrete toy: max |p(x|y) from the learned p(y|x) - "
          f"exact| = {np.abs(table['learned_p_x_given_y'] - table['p_x_given_y']).max():.3g}")
    print(figures.reverse_figure(os.path.join(args.out, "bayes_rule_reverse.png"), table))
    print(f"done in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
