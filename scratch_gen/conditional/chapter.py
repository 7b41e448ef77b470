"""The chapter's experiments: one conditional task, learned four ways, scored against the
truth. Shared by the tour, the demo and the benchmark, so they report the same numbers.

He L1 opens with what chatbots, video generation and protein design share: "there are
multiple or infinite predictions to one input; some predictions are more plausible than
some others; training data may contain no exact solution", and "generative models are
about p(x|y)". Each task below has one input y and several right answers x:

- **obstacle** (:class:`scratch_gen.data.conditional.Obstacle`): from a start position,
  a waypoint left or right of an obstacle (Chi et al. 2023, Diffusion Policy, figure 3),
  p(x|y) known exactly. Twice: with y the index of one of five starts (a label), and
  with y the start s itself, a number in [-1, 1] drawn uniformly (``cond_dim = 1``:
  the start is ``(s, -2)``, its height carries nothing), scored at eight starts between
  the labelled ones against the exact ``p(x|s)`` (the dataset writes its truth for any
  real s), where no label model could even be asked;
- **glyph classes**: from a digit y, a 16x16 glyph (He L1, "Case study: class-conditional
  image generation");
- **glyph completion**: from the lower half of a glyph, its upper half (the lower half of
  a 3 could close into a 3, 5 or 9: an input with several answers).

The four ways, in He L1's five parts:

- Formulation: x | y with y a label (the start, the digit) or a vector (the start s,
  the lower half).
  The regressor assumes one answer per y; the autoregressive model orders x's
  coordinates, ``prod_i p(x_i | x_<i, y)``; diffusion adds a noise chain x_1..x_T with y
  in every reverse step; the GAN draws z ~ N(0, I) and maps (z, y) to x.
- Representation: MLPs reading y, one-hot or as a vector (:mod:`.regression`,
  :mod:`.ar`; MADE's masks on the pixels, y unmasked into every layer); diffusion's
  denoiser with an embedding of y and a learned "null" condition (``diffusion/ddpm-cond``
  through the registry, ``cond_dim`` for vectors); the GAN's generator and
  discriminator both given y (``gan/r1`` with ``conditional=true``, Mirza & Osindero
  2014).
- Objective: squared error (a Gaussian NLL of fixed variance: its optimum is E[x|y]);
  the exact conditional NLL; the noise-prediction loss with label dropout (a weighted
  variational bound, Ho et al. 2020; Ho & Salimans 2022); the conditional minimax value
  with R1 (Mescheder et al. 2018).
- Optimization: Adam for all, on ``train.fit``'s minibatches; the GAN alternates its
  players; diffusion and the GAN sample from an EMA of their weights.
- Inference: ``f(y)`` (one answer); ancestral sampling and the exact density; DDIM with
  classifier-free guidance and a bound on the density; one pass ``g(z, y)`` and no
  density. Each is scored by :mod:`.evaluation`: landing in a true mode, coverage of
  the answers, the conditional NLL where defined; and the densities classify by Bayes'
  rule (He L1, "Case study: classification (a generative perspective)").

On glyphs the GAN sees the pixels as a vector (the MLP players). The convolutional
pair now reads y properly (the discriminator by projection, Miyato & Koyama 2018: an
earlier version only added a term in y alone to its logit, which cannot tell a 3
labelled "7" from a 7), but it costs about ten times as much per step: at the same CPU
time as 2500 steps of the MLP pair (about 24 s on glyph classes, the full budget), the
conv pair at 32 channels (265 steps) and at 16 (524 steps) drew noise, landing 0.00 and
coverage 0.00, where the MLP pair drew every asked digit (dim strokes: landing 0.08,
coverage 0.02 by the strict crispness test), seed 0. The MLP pair stays.

Every model is built with ``registry.build(family, variant, spec, config, rng)`` and
trained by ``train.fit``: this package imports no other family (DESIGN.md).
"""
import math
import time

import numpy as np

from .. import data, metrics, registry
from ..registry import DataSpec
from ..train import fit
from . import evaluation

METHODS = ("regressor", "autoregressive", "diffusion", "gan")
FAMILY = {"regressor": "conditional/regressor", "autoregressive": "conditional/ar-mdn",
          "diffusion": "diffusion/ddpm-cond", "gan": "gan/r1"}
SLIDES = {"truth": "the dataset's own sampler: the best possible scores",
          "regressor": "He L1, 'multiple or infinite predictions to one input'; Chi et al. 2023",
          "autoregressive": "Isola L14, 'Autoregressive probability model'; He L1, p(x|y)",
          "diffusion": "Ho & Salimans 2022 (classifier-free guidance); Ho et al. 2020",
          "gan": "Mirza & Osindero 2014 (conditional GAN); Isola L14, 'GANs'"}

# Training steps per method and task, and the sizes of everything scored. "default" is
# the tour's (about a minute on two shared cores), "quick" the tour's --quick, "tiny"
# the tests' and the demo's --tiny, "full" the demo's default and the benchmark's.
# "obstacle" steps serve both obstacle tasks; "continuous": whether to run the one
# from a continuous start (left out of the tour's --quick).
BUDGETS = {
    "tiny": {"n_test": 300, "n_obstacle": 2000, "per_label": 200,
             "obstacle": {"regressor": 60, "autoregressive": 80, "diffusion": 80, "gan": 80},
             "glyphs": {"regressor": 30, "autoregressive": 30}, "n_glyphs": 600,
             "glyph_samples": 8, "heldout": 10, "softmax": 60, "n_classify": 100,
             "completion": {"regressor": 30, "autoregressive": 30}, "inputs": 8,
             "completions": 4, "strata": 4, "continuous": True},
    "quick": {"n_test": 500, "n_obstacle": 3000, "per_label": 300,
              "obstacle": {"regressor": 150, "autoregressive": 250, "diffusion": 200,
                           "gan": 200},
              "glyphs": {"regressor": 60, "autoregressive": 60}, "n_glyphs": 1000,
              "glyph_samples": 10, "heldout": 20, "softmax": 100, "n_classify": 200,
              "completion": {}, "inputs": 0, "completions": 0, "strata": 4,
              "continuous": False},
    "default": {"n_test": 1000, "n_obstacle": 5000, "per_label": 500,
                "obstacle": {"regressor": 400, "autoregressive": 800, "diffusion": 700,
                             "gan": 700},
                "glyphs": {"regressor": 200, "autoregressive": 1000}, "n_glyphs": 3000,
                "glyph_samples": 20, "heldout": 40, "softmax": 300, "n_classify": 500,
                "completion": {"regressor": 200, "autoregressive": 800}, "inputs": 24,
                "completions": 8, "strata": 10, "continuous": True},
    "full": {"n_test": 2000, "n_obstacle": 10000, "per_label": 1000,
             "obstacle": {"regressor": 1000, "autoregressive": 2000, "diffusion": 2000,
                          "gan": 2000},
             "glyphs": {"regressor": 600, "autoregressive": 2000, "diffusion": 1500,
                        "gan": 2500},
             "n_glyphs": 6000, "glyph_samples": 40, "heldout": 60, "softmax": 1000,
             "n_classify": 1000, "classify_diffusion": 200,
             "completion": {"regressor": 600, "autoregressive": 2000, "diffusion": 1500,
                            "gan": 2500}, "inputs": 60,
             "completions": 12, "strata": 20, "continuous": True},
}


def budget(name):
    if name not in BUDGETS:
        raise ValueError(f"budget {name!r}: expected one of {', '.join(BUDGETS)}")
    return BUDGETS[name]


def _rngs(seed, n):
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


# -------------------------------------------------------------- method recipes

def obstacle_recipe(method, steps, strata=100, cond_dim=0):
    """``(family, variant, config, batch_size, sample_options)`` for the 2D toy;
    ``strata``: t's per example in the diffusion bound (its conditional NLL);
    ``cond_dim``: 0 for the five labelled starts, 1 for the start s itself. The
    autoregressive model gets two mixture components per factor, one per answer (with
    four, one seed in three left a start's modes badly split at these budgets)."""
    if method == "regressor":
        return ("conditional", "regressor", {"hidden": 64, "lr": 3e-3, "decay_steps": steps,
                                             "cond_dim": cond_dim}, 128, {})
    if method == "autoregressive":
        return ("conditional", "ar-mdn", {"components": 2, "hidden": 64, "lr": 3e-3,
                                          "decay_steps": steps, "cond_dim": cond_dim}, 128, {})
    if method == "diffusion":
        return ("diffusion", "ddpm-cond",
                {"T": 200, "beta_1": 1e-3, "beta_T": 0.08, "hidden": 64, "depth": 2,
                 "fourier": 4, "lr": 3e-3, "warmup": min(50, steps), "ema": 0.99,
                 "decay_steps": steps, "p_uncond": 0.1, "bound_strata": strata,
                 "cond_dim": cond_dim}, 128, {"sampler": "ddim", "steps": 50})
    if method == "gan":
        return ("gan", "r1", {"conditional": True, "hidden": 64, "r1": 1.0, "lr": 2e-3,
                              "ema": 0.99, "total_steps": steps, "cond_dim": cond_dim}, 128, {})
    raise ValueError(f"unknown method {method!r}")


def glyph_recipe(method, steps, cond_dim=0):
    """``(family, variant, config, batch_size, sample_options, flat)`` for glyphs; ``flat``:
    the model sees the 256 pixels as a continuous vector (the GAN's MLP players). The
    diffusion model is the U-Net (its MLP denoiser on the 256-vector, tried at the same
    CPU time, drew blobs and empty frames), sampled by DDIM in 50 steps with guidance
    w = 2 (Ho & Salimans 2022). ``cond_dim``: 0 for the digit as a label, 128 for the
    lower half as a vector (completion; every method takes it the same way). On
    completion w = 2 traded coverage for landing: at 800 steps, w = 1 landed 0.25 and
    covered 0.34 of the plausible digits, w = 2 landed 0.30 and covered 0.29, w = 3
    0.30 and 0.25 (24 inputs, 8 completions each, seed 0); one w is kept for both tasks."""
    if method == "regressor":
        return ("conditional", "regressor", {"hidden": 256, "lr": 2e-3, "decay_steps": steps,
                                             "cond_dim": cond_dim}, 64, {}, False)
    if method == "autoregressive":
        return ("conditional", "ar-made", {"hidden": [256, 256], "lr": 2e-3,
                                           "decay_steps": steps, "cond_dim": cond_dim},
                64, {}, False)
    if method == "diffusion":
        return ("diffusion", "ddpm-cond",
                {"T": 200, "beta_1": 1e-3, "beta_T": 0.1, "channels": 16, "mults": [1, 2],
                 "lr": 2e-3, "warmup": min(100, steps), "ema": 0.995, "decay_steps": steps,
                 "p_uncond": 0.1, "cond_dim": cond_dim}, 32,
                {"sampler": "ddim", "steps": 50, "guidance": 2.0}, False)
    if method == "gan":
        return ("gan", "r1", {"conditional": True, "hidden": 256, "latent_dim": 32, "r1": 0.1,
                              "lr": 1e-3, "ema": 0.99, "total_steps": steps,
                              "cond_dim": cond_dim}, 64, {}, True)
    raise ValueError(f"unknown method {method!r}")


def _train(family, variant, spec, config, x, y, steps, batch, seed):
    """The model trained, and ``(wall, cpu)`` seconds of its training (CPU: this
    process's, one thread per library)."""
    init, = _rngs([seed, 7], 1)
    model = registry.build(family, variant, spec, config, init)
    t0, c0 = time.perf_counter(), time.process_time()
    fit(model, (x, y), steps=steps, batch_size=batch, seed=seed, quiet=True)
    return model, (time.perf_counter() - t0, time.process_time() - c0)


def _row(method, task, seconds, steps, model_name, **scores):
    wall, cpu = seconds
    return {"method": method, "task": task, "model": model_name, "steps": steps,
            "seconds": wall, "cpu_seconds": cpu, "slide": SLIDES[method], **scores}


# ------------------------------------------------------------------- obstacle

def run_obstacle(b, seed=0, methods=METHODS):
    """Every method on the obstacle toy. Returns ``rows`` (one per method: landing,
    coverage, weight error, crash rate, conditional NLL/KL where defined, and the
    regressor's distance to the nearest mode), ``samples`` ({method: {label: (n, 2)}}),
    ``prediction`` (the regressor's f(y) per label), the ``dataset``, train and test."""
    ds = data.get("obstacle")
    r_train, r_test, r_sample = _rngs([seed, 1], 3)
    x, y = ds.sample_labelled(b["n_obstacle"], r_train)
    xt, yt = ds.sample_labelled(b["n_test"], r_test)
    spec = DataSpec("continuous", (2,), num_classes=ds.num_classes, name="obstacle")
    out = {"rows": [], "samples": {}, "dataset": ds, "train": (x, y), "test": (xt, yt),
           "prediction": None}
    # the best possible: the true p(x|y) itself, scored the same way
    truth = {k: ds.sample_given(np.full(b["per_label"], k), r_sample)
             for k in range(ds.num_classes)}
    nll, se = metrics.mean_se(-ds.log_prob_given(xt, yt))
    out["rows"].append({"method": "truth", "task": "obstacle", "model": "data: p(x|y)",
                        "steps": 0, "seconds": 0.0, "slide": SLIDES["truth"],
                        **evaluation.obstacle_scores(truth, ds), "conditional_nll": nll,
                        "conditional_nll_se": se, "conditional_kl": 0.0})
    for method in methods:
        steps = b["obstacle"][method]
        family, variant, config, batch, opts = obstacle_recipe(method, steps, b["strata"])
        model, seconds = _train(family, variant, spec, config, x, y, steps, batch, seed)
        per = {k: model.sample(b["per_label"], r_sample, label=k, **opts)
               for k in range(ds.num_classes)}
        out["samples"][method] = per
        scores = evaluation.obstacle_scores(per, ds)
        scores.update(evaluation.conditional_nll(model, xt, yt, ds))
        extra = {}
        if method == "regressor":
            labels = np.arange(ds.num_classes)
            pred = np.stack([per[k][0] for k in labels])
            out["prediction"] = pred
            extra = {"regressor_distance": evaluation.regressor_distance(pred, labels, ds)}
        out["rows"].append(_row(method, "obstacle", seconds, steps, f"{family}/{variant}",
                                **scores, **extra))
    return out


# ------------------------------------------------- obstacle from a continuous start

# Where the continuous-start models are scored: between the five labelled starts, so
# no label model could be asked about them, and (the training starts being uniform on
# [-1, 1]) never seen exactly in training.
HELDOUT_STARTS = np.linspace(-0.875, 0.875, 8)


def run_obstacle_continuous(b, seed=0, methods=METHODS):
    """The obstacle with the start itself as the condition: y = s, one number
    (``cond_dim = 1``; the start is ``(s, -2)``, so its height carries nothing), s ~
    U[-1, 1] in training. Each method is scored at :data:`HELDOUT_STARTS` against the
    exact ``p(x | s)`` (``Obstacle.modes_at_start`` / ``log_prob_at_start``): landing,
    coverage and weights per start, the conditional NLL and its KL to the truth where
    there is a density. Returns ``rows``, ``samples`` ({method: {s: (n, 2)}}),
    ``sweep`` ({method: (starts (m,), samples (m, 2))}, one sample per random start, for
    the figure), ``curve`` (the regressor's f(s) on a grid) and the ``dataset``."""
    ds = data.get("obstacle")
    r_train, r_test, r_sample = _rngs([seed, 6], 3)
    s = r_train.uniform(-1.0, 1.0, b["n_obstacle"])
    x = evaluation.sample_at_starts(ds, s, r_train)
    st = np.resize(HELDOUT_STARTS, b["n_test"])
    xt = evaluation.sample_at_starts(ds, st, r_test)
    spec = DataSpec("continuous", (2,), name="obstacle (continuous start)")
    task = "obstacle (continuous start)"
    out = {"rows": [], "samples": {}, "sweep": {}, "dataset": ds, "train": (x, s),
           "test": (xt, st), "curve": None, "starts": HELDOUT_STARTS}
    n = b["per_label"]
    sweep_s = r_sample.uniform(-1.0, 1.0, 5 * n)
    truth = {float(s0): evaluation.sample_at_starts(ds, np.full(n, s0), r_sample)
             for s0 in HELDOUT_STARTS}
    out["sweep"]["truth"] = (sweep_s, evaluation.sample_at_starts(ds, sweep_s, r_sample))
    nll, se = metrics.mean_se(-ds.log_prob_at_start(xt, st))
    out["rows"].append({"method": "truth", "task": task, "model": "data: p(x|s)", "steps": 0,
                        "seconds": 0.0, "cpu_seconds": 0.0, "slide": SLIDES["truth"],
                        **evaluation.obstacle_scores(truth, ds, at_starts=True),
                        "conditional_nll": nll, "conditional_nll_se": se,
                        "conditional_kl": 0.0,
                        "conditional_entropy": float(
                            evaluation.entropy_at_start(ds, st).mean())})
    asked = np.repeat(HELDOUT_STARTS, n)[:, None]
    for method in methods:
        steps = b["obstacle"][method]
        family, variant, config, batch, opts = obstacle_recipe(method, steps, b["strata"],
                                                               cond_dim=1)
        model, seconds = _train(family, variant, spec, config, x, s[:, None], steps, batch,
                                seed)
        drawn = np.asarray(model.sample(len(asked), r_sample, condition=asked, **opts))
        per = {float(s0): drawn[i * n:(i + 1) * n] for i, s0 in enumerate(HELDOUT_STARTS)}
        out["samples"][method] = per
        out["sweep"][method] = (sweep_s, np.asarray(
            model.sample(len(sweep_s), r_sample, condition=sweep_s[:, None], **opts)))
        scores = evaluation.obstacle_scores(per, ds, at_starts=True)
        scores.update(evaluation.conditional_kl_at_starts(model, xt, st, ds))
        extra = {}
        if method == "regressor":
            grid = np.linspace(-1.0, 1.0, 41)
            out["curve"] = (grid, np.asarray(model.sample(len(grid), r_sample,
                                                          condition=grid[:, None])))
            pred = np.stack([per[float(s0)][0] for s0 in HELDOUT_STARTS])
            extra = {"regressor_distance": evaluation.regressor_distance(
                pred, HELDOUT_STARTS, ds, at_starts=True)}
        out["rows"].append(_row(method, task, seconds, steps, f"{family}/{variant}",
                                **scores, **extra))
    return out


# ------------------------------------------------------------------- glyph data

def glyph_data(b, seed=0):
    """Train, held-out and test glyphs, each ``(x float32 (n, 16, 16), y)``; the held-out
    set has ``b["heldout"]`` per class (for the image-mode thresholds and coverage)."""
    ds = data.get("glyphs")
    r_train, r_held, r_test = _rngs([seed, 2], 3)
    x, y = ds.sample_labelled(b["n_glyphs"], r_train)
    hx, hy = ds.sample_labelled(10 * b["heldout"] * 3, r_held)
    keep = np.concatenate([np.flatnonzero(hy == k)[:b["heldout"]] for k in range(10)])
    xt, yt = ds.sample_labelled(b["n_classify"], r_test)
    return {"train": (x, y), "heldout": (hx[keep], hy[keep]), "test": (xt, yt)}


def _as_glyphs(s):
    return np.clip(np.asarray(s, np.float64).reshape(len(s), 16, 16), 0.0, 1.0)


# -------------------------------------------------------------- glyph classes

def run_glyph_classes(b, glyphs, seed=0):
    """Class-conditional glyph generation by each method in ``b["glyphs"]``: samples per
    digit, image-mode landing and coverage, the conditional NLL where there is one, and
    the trained models (for the classification comparison)."""
    x, y = glyphs["train"]
    image = DataSpec("image", (16, 16), num_classes=10, name="glyphs")
    flat = DataSpec("continuous", (256,), num_classes=10, name="glyphs (flat)")
    modes = {"float": evaluation.ImageModes(glyphs["train"], glyphs["heldout"]),
             "binary": evaluation.ImageModes(glyphs["train"], glyphs["heldout"],
                                             view=evaluation.binary_view)}
    r_sample, r_truth = _rngs([seed, 3], 2)
    out = {"rows": [], "samples": {}, "models": {}}
    # the best possible at this many samples: fresh real glyphs of each digit
    tx, ty = data.get("glyphs").sample_labelled(30 * b["glyph_samples"], r_truth)
    truth = {k: tx[ty == k][:b["glyph_samples"]] for k in range(10)}
    scores = modes["float"].scores(truth)
    out["rows"].append({"method": "truth", "task": "glyph classes", "model": "data: glyphs",
                        "steps": 0, "seconds": 0.0, "slide": SLIDES["truth"],
                        "landing": scores["landing"], "coverage": scores["coverage"],
                        "per_input": scores["per_input"], "compared_as": "pixels"})
    for method, steps in b["glyphs"].items():
        family, variant, config, batch, opts, is_flat = glyph_recipe(method, steps)
        spec = flat if is_flat else image
        xs = x.reshape(len(x), -1).astype(np.float64) if is_flat else x
        model, seconds = _train(family, variant, spec, config, xs, y, steps, batch, seed)
        per = {k: _as_glyphs(model.sample(b["glyph_samples"], r_sample, label=k, **opts))
               for k in range(10)}
        out["samples"][method] = per
        out["models"][method] = (model, is_flat)
        binary = variant == "ar-made"
        scores = modes["binary" if binary else "float"].scores(per)
        out["rows"].append(_row(method, "glyph classes", seconds, steps, f"{family}/{variant}",
                                landing=scores["landing"], coverage=scores["coverage"],
                                per_input=scores["per_input"],
                                compared_as="binary pixels" if binary else "pixels"))
    return out


def run_classification(b, glyphs, class_models, seed=0):
    """He L1's "classification, a generative perspective": each class-conditional model
    with a density as a Bayes-rule classifier on test glyphs, beside softmax regression
    (the discriminative model, :mod:`.softmax`) trained on the same data."""
    from .softmax import SoftmaxRegression
    xt, yt = glyphs["test"]
    rows = []
    for method, (model, is_flat) in class_models.items():
        if not model.has("log_prob"):
            rows.append({"classifier": f"{method} (Bayes rule)", "model": model.name(),
                         "accuracy": None, "n_test": 0,
                         "note": "no density (x = g(z)): no Bayes-rule classifier"})
            continue
        n = b["n_classify"]
        if method == "diffusion":                     # its bound costs far more per image
            n = b.get("classify_diffusion", n)
        xs = xt[:n].reshape(n, -1).astype(np.float64) if is_flat else xt[:n]
        t0 = time.perf_counter()
        prior = getattr(model, "log_prior", None)
        res = evaluation.bayes_accuracy(model, xs, yt[:n], 10, prior, strata=b["strata"])
        note = {"regressor": "Gaussian N(f(y), sigma^2 I): the nearest class-mean template",
                "autoregressive": "exact log p(x|y) of the binarized glyph",
                "diffusion": f"variational bound, {b['strata']} t's per example"}.get(method, "")
        rows.append({"classifier": f"{method} (Bayes rule)", "model": model.name(),
                     **res, "n_test": n, "seconds": time.perf_counter() - t0, "note": note})
    x, y = glyphs["train"]
    r_fit, = _rngs([seed, 4], 1)
    t0 = time.perf_counter()
    sm = SoftmaxRegression(256, 10, rng=r_fit)
    sm.fit(x, y, b["softmax"], r_fit, lr=0.05, batch_size=256)
    acc, se = metrics.accuracy(sm.predict(xt), yt)
    post = sm.log_posterior(xt)
    rows.append({"classifier": "softmax regression (discriminative)", "model": "softmax",
                 "accuracy": acc, "accuracy_se": se,
                 "label_nll": float(-post[np.arange(len(yt)), yt].mean()), "n_test": len(yt),
                 "seconds": time.perf_counter() - t0, "note": "p(y|x) directly"})
    return rows


# ------------------------------------------------------------------ completion

ROWS = 8            # the given lower half: rows 8..15 of the 16x16 glyph


def split_halves(x):
    """``(upper (n, 8, 16), lower (n, 8, 16))`` of glyphs (n, 16, 16)."""
    x = np.asarray(x)
    return x[:, :ROWS], x[:, ROWS:]


def run_completion(b, glyphs, seed=0):
    """Lower half -> upper half, y the 128 pixels of the lower half (``cond_dim`` 128)
    and x the upper half: each method in ``b["completion"]`` with its glyph recipe (the
    diffusion U-Net on the 8x16 half, the GAN's MLP players on its 128 pixels), samples
    clipped to [0, 1]. Completions of the most ambiguous held-out lower halves, scored by
    :class:`evaluation.Completions`."""
    x, y = glyphs["train"]
    upper, lower = split_halves(x)
    image = DataSpec("image", (ROWS, 16), name="glyph upper halves")
    flat = DataSpec("continuous", (ROWS * 16,), name="glyph upper halves (flat)")
    hx, hy = glyphs["heldout"]
    scorer = {"float": evaluation.Completions(glyphs["train"], hx),
              "binary": evaluation.Completions(glyphs["train"], hx, view=evaluation.binary_view)}
    # the inputs: held-out lower halves, the ambiguous ones (several plausible digits) first
    _, h_lower = split_halves(hx)
    plaus = scorer["float"].plausible(h_lower)
    order = sorted(range(len(hx)), key=lambda i: (-len(plaus[i]), i))[:b["inputs"]]
    inputs = h_lower[order]
    r_sample, = _rngs([seed, 5], 1)
    out = {"rows": [], "inputs": inputs, "truth": hx[order], "completions": {},
           "plausible": [plaus[i] for i in order]}
    conditions = lower.reshape(len(lower), -1)
    for method, steps in b["completion"].items():
        family, variant, config, batch, opts, is_flat = glyph_recipe(method, steps,
                                                                     cond_dim=ROWS * 16)
        xs = upper.reshape(len(upper), -1).astype(np.float64) if is_flat else upper
        model, seconds = _train(family, variant, flat if is_flat else image, config, xs,
                                conditions, steps, batch, seed)
        n = b["completions"]
        comp = []
        for low in inputs:
            up = np.clip(np.asarray(model.sample(n, r_sample, condition=low.reshape(-1), **opts),
                                    np.float64), 0.0, 1.0)
            comp.append(np.concatenate([up.reshape(n, ROWS, 16),
                                        np.broadcast_to(low, (n, 16 - ROWS, 16))], axis=1))
        comp = np.stack(comp)
        out["completions"][method] = comp
        binary = variant == "ar-made"
        s = scorer["binary" if binary else "float"].scores(inputs, comp)
        out["rows"].append(_row(method, "glyph completion", seconds, steps,
                                f"{family}/{variant}", landing=s["landing"],
                                coverage=s["coverage"], coverage_ambiguous=s["coverage_ambiguous"],
                                landing_ambiguous=s["landing_ambiguous"],
                                ambiguous_inputs=s["ambiguous_inputs"],
                                compared_as="binary pixels" if binary else "pixels"))
    return out


# ------------------------------------------------------------------- everything

def run_all(budget_name="default", seed=0, progress=None):
    """All tasks at one budget; returns a dict with each task's result and the
    ``table`` (one row per method and task)."""
    b = budget(budget_name)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    obstacle = run_obstacle(b, seed)
    say(f"obstacle done in {time.perf_counter() - t0:.1f}s")
    continuous = run_obstacle_continuous(b, seed) if b["continuous"] else None
    say(f"obstacle from a continuous start done in {time.perf_counter() - t0:.1f}s")
    glyphs = glyph_data(b, seed)
    classes = run_glyph_classes(b, glyphs, seed)
    say(f"glyph classes done in {time.perf_counter() - t0:.1f}s")
    classification = run_classification(b, glyphs, classes["models"], seed)
    for row in classes["rows"]:                  # the conditional NLL, where there is one
        for c in classification:
            if c["classifier"] == f"{row['method']} (Bayes rule)" and c.get("accuracy") is not None:
                row["conditional_nll"] = c["conditional_nll"]
                row["conditional_nll_note"] = c["note"]
    completion = run_completion(b, glyphs, seed) if b["completion"] else None
    say(f"all done in {time.perf_counter() - t0:.1f}s")
    table = (obstacle["rows"] + (continuous["rows"] if continuous else []) + classes["rows"]
             + (completion["rows"] if completion else []))
    return {"budget": budget_name, "seed": seed, "obstacle": obstacle,
            "obstacle_continuous": continuous, "classes": classes,
            "classification": classification, "completion": completion, "glyphs": glyphs,
            "table": table, "seconds": time.perf_counter() - t0}


def summary_table(table):
    """The table of the chapter as plain rows (no arrays): method, task, landing,
    coverage, conditional NLL, KL, the regressor's distance to the nearest mode."""
    out = []
    for r in table:
        dist = r.get("regressor_distance")
        out.append({"method": r["method"], "task": r["task"], "model": r["model"],
                    "landing": r.get("landing"), "coverage": r.get("coverage"),
                    "coverage_ambiguous": r.get("coverage_ambiguous"),
                    "weight_error": r.get("weight_error"), "crash": r.get("crash"),
                    "conditional_nll": r.get("conditional_nll"),
                    "conditional_kl": r.get("conditional_kl"),
                    "regressor_distance": None if dist is None else dist["distance"],
                    "regressor_distance_std": None if dist is None else dist["distance_std"],
                    "steps": r.get("steps"), "seconds": r.get("seconds"),
                    "cpu_seconds": r.get("cpu_seconds"), "note": r.get("note")})
    return out


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)
