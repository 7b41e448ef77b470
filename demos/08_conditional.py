"""Conditional models p(x|y): one input, many plausible outputs (He L1), where regression
fails and generative models do not.

    python demos/08_conditional.py [--out DIR] [--tiny]

He L1: chatbots, video generation and protein design share "multiple or infinite
predictions to one input; some predictions are more plausible than some others", and
"generative models are about p(x|y)".

1. The obstacle (Chi et al. 2023, Diffusion Policy): from a start y the waypoint x goes
   left or right of an obstacle, p(x|y) known exactly. A regressor trained with squared
   error predicts the average, inside the obstacle; the conditional autoregressive
   model, the class-conditional diffusion model (classifier-free guidance, Ho &
   Salimans 2022) and the conditional GAN (Mirza & Osindero 2014) put their samples on
   both sides, in the right proportions.             -> conditional_obstacle.png
   The same with the start s itself as the condition (a number in [-1, 1], not one of
   five labels), scored at starts between the labelled ones: the regressor's f(s) runs
   through the obstacle for every s; the others go around.
                                                     -> conditional_obstacle_continuous.png
2. p(glyph | digit): the regressor draws the blurred average digit; the generative
   models draw digits.                               -> conditional_glyph_classes.png
3. Classification as a generative model (He L1, "x: probability of classes conditioned
   on the image"): argmax_y log p(x|y) + log p(y) with each class-conditional density,
   beside softmax regression.                        -> conditional_classification.png
4. Complete a glyph from its lower half: a lower half that could be a 3, 5 or 9 gets a
   blend from the regressor, and separate digits from the conditional autoregressive
   model, the diffusion model and the GAN (each given the lower half as a vector of 128
   numbers).                                         -> conditional_completion.png

``--tiny`` runs every step at a toy size in seconds (the pictures are then rough); the
default budget trains every method properly (several minutes on two cores).
"""
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # tiny matrices: threads only fight over the cores

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen.conditional import chapter, pictures  # noqa: E402


def show(rows, keys):
    for r in rows:
        print("    " + "  ".join(f"{k} {chapter.fmt(r.get(k))}" for k in keys if k in r)
              + f"  [{r['method']}: {r['model']}]")


def main(argv=None):
    from _args import demo_args
    args = demo_args(__doc__.split("\n")[0], "08_conditional", argv,
                     tiny="toy sizes: seconds, rough pictures")
    os.makedirs(args.out, exist_ok=True)
    b = chapter.budget("tiny" if args.tiny else "full")
    t0 = time.perf_counter()
    figs = []

    ob = chapter.run_obstacle(b, args.seed)
    ds = ob["dataset"]
    print(f"[1] obstacle: H(X|Y) = {ds.conditional_entropy():.4f} nats; the regressor's "
          "average is inside the obstacle for every start")
    show(ob["rows"], ("landing", "coverage", "weight_error", "crash", "conditional_nll",
                      "conditional_kl"))
    d = next(r for r in ob["rows"] if r["method"] == "regressor")["regressor_distance"]
    print(f"    regressor: {d['distance']:.3f} from the nearest mode ({d['distance_std']:.1f} "
          f"std), crash rate {d['crash']:.2f}")
    figs.append(pictures.obstacle_figure(os.path.join(args.out, "conditional_obstacle.png"), ob))

    oc = chapter.run_obstacle_continuous(b, args.seed)
    starts = ", ".join(f"{s:g}" for s in chapter.HELDOUT_STARTS)
    print(f"[1b] the start s itself as the condition (s ~ U[-1, 1] in training), scored at "
          f"s = {starts}; mean H(X|s) there = "
          f"{oc['rows'][0]['conditional_entropy']:.4f} nats")
    show(oc["rows"], ("landing", "coverage", "weight_error", "crash", "conditional_nll",
                      "conditional_kl"))
    d = next(r for r in oc["rows"] if r["method"] == "regressor")["regressor_distance"]
    print(f"    regressor: {d['distance']:.3f} from the nearest mode ({d['distance_std']:.1f} "
          f"std), crash rate {d['crash']:.2f}")
    figs.append(pictures.obstacle_continuous_figure(
        os.path.join(args.out, "conditional_obstacle_continuous.png"), oc))

    glyphs = chapter.glyph_data(b, args.seed)
    classes = chapter.run_glyph_classes(b, glyphs, args.seed)
    print("[2] p(glyph | digit): landing in a true mode (near a real glyph of the digit, "
          "and as crisp), coverage of fresh real glyphs")
    show(classes["rows"], ("landing", "coverage"))
    figs.append(pictures.glyph_classes_figure(
        os.path.join(args.out, "conditional_glyph_classes.png"), classes))

    cls = chapter.run_classification(b, glyphs, classes["models"], args.seed)
    print("[3] Bayes-rule classifiers from p(x|y), beside softmax regression (test glyphs)")
    for c in cls:
        acc = "-" if c.get("accuracy") is None else f"{c['accuracy']:.3f}"
        print(f"    {c['classifier']:<38} accuracy {acc}  n={c['n_test']}  {c.get('note', '')}")
    figs.append(pictures.classification_figure(
        os.path.join(args.out, "conditional_classification.png"), cls))

    comp = chapter.run_completion(b, glyphs, args.seed)
    print(f"[4] lower half -> glyph ({len(comp['inputs'])} held-out lower halves, the most "
          "ambiguous first)")
    show(comp["rows"], ("landing", "coverage", "coverage_ambiguous"))
    figs.append(pictures.completion_figure(os.path.join(args.out, "conditional_completion.png"),
                                           comp))

    print(f"done in {time.perf_counter() - t0:.1f}s; figures:")
    for f in figs:
        print(f"  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
