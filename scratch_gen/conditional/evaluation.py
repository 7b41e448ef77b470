"""Scoring p(x|y) against the truth: does each output land in a right answer, and are all
right answers reached?

He L1: "there are multiple or infinite predictions to one input; some predictions are
more plausible than some others". A conditional model is judged on both halves of that
sentence, for each input y:

- **mode-landing rate** (precision): the fraction of its outputs for y that lie in a
  true mode of p(x|y). On the obstacle toy a mode is a Gaussian, and an output lands
  when it is within 3 standard deviations of the centre (PacGAN's "high quality", Lin
  et al. 2018, section 5; a perfect sampler lands with probability 1 - exp(-9/2) =
  0.9889 in 2D). On images, where no mode is written down, an output lands when it is as
  close to a real example of y as 95% of fresh real examples of y are (nearest-neighbour
  distance in pixel space, threshold calibrated per class on held-out data) *and* is
  as crisp as 95% of them (its share of mid-grey pixels, in (0.2, 0.8)). The second
  test is needed because pixel distance alone is fooled by blur: the average of many
  glyphs is close to all of them in L2 (it is their L2 centre), yet it is no glyph: real
  ink covers a pixel or not, except along stroke edges;
- **coverage per input** (recall): of the right answers for y, the fraction reached by
  at least one landed output (PacGAN's "modes captured", per input); on images, the
  fraction of fresh real examples of y that have a landed output within the same
  distance (the "coverage" of Naeem et al. 2020), and for completions the fraction of
  the plausible digits (those a k-nearest-neighbour look-up of the given lower half
  finds) reached by some completion;
- **mode weights**: the share of landed outputs per mode against the true weights
  ("more plausible than others"): |share_right - w_right| averaged over inputs;
- **conditional NLL** ``-E log p(x|y)`` where the model has a density, and with the
  dataset's ``H(X|Y)`` its KL to the truth, ``E_y KL(p(x|y) || q(x|y))`` (Isola L14,
  "max likelihood = min KL", one y at a time);
- for the regressor: the distance of its prediction to the nearest true mode (in
  units and in mode standard deviations), and whether it is inside the obstacle.

The obstacle's truth is written for any real start s (``Obstacle.modes_at_start``), so
the same scores apply to models conditioned on s itself (``at_starts=True``), with
:func:`sample_at_starts`, the closed-form :func:`entropy_at_start` and
:func:`conditional_kl_at_starts` for the density.

And classification as a generative model (He L1, "Case study: classification"; "x:
probability of classes conditioned on the image"): any label-conditional density gives a
Bayes-rule classifier ``argmax_y log q(x|y) + log p(y)`` (:func:`bayes_accuracy`).
"""
import math

import numpy as np

from .. import metrics
from ..common.errors import UserError
from .condition import logsumexp_rows

CHI2_3SD = 1.0 - math.exp(-4.5)     # a perfect 2D sampler's landing rate at 3 std


# ----------------------------------------------------------------- the obstacle toy

def land(samples, centers, std, threshold=3.0):
    """``(landed, nearest)`` for samples (n, D) and their own modes ``centers`` (n, M, D)
    (or shared (M, D)): within ``threshold`` std of the nearest centre, and its index."""
    x = np.asarray(samples, np.float64)
    c = np.asarray(centers, np.float64)
    if c.ndim == 2:
        c = np.broadcast_to(c, (len(x),) + c.shape)
    d2 = ((x[:, None, :] - c) ** 2).sum(-1)
    nearest = d2.argmin(axis=1)
    return d2[np.arange(len(x)), nearest] <= (threshold * std) ** 2, nearest


def obstacle_scores(samples_by_label, dataset, at_starts=False):
    """Mode landing, coverage and weights per start, for ``{label: samples (n, 2)}`` (or,
    with ``at_starts``, ``{start s: samples}`` for real starts s in [-1, 1]).

    Returns ``landing`` (mean over starts), ``coverage`` (mean fraction of the two
    modes captured), ``weight_error`` (mean |share of landed outputs on the right -
    true w_R|), ``crash`` (fraction inside the obstacle), ``mode_distance`` (mean
    distance of an output to its nearest true mode, in mode std), and ``per_input``."""
    rows = []
    for key, s in sorted(samples_by_label.items()):
        s = np.asarray(s, np.float64).reshape(len(s), 2)
        if at_starts:
            start, label = float(key), None
            centers, weights = dataset.modes_at_start(np.full(len(s), start))
        else:
            start, label = float(dataset.starts[key]), int(key)
            centers, weights = dataset.modes(np.full(len(s), key))
        landed, nearest = land(s, centers, dataset.std)
        counts = np.bincount(nearest[landed], minlength=2)
        share = counts[1] / counts.sum() if counts.sum() else math.nan
        dist = np.sqrt(((s[:, None, :] - centers) ** 2).sum(-1)).min(axis=1)
        rows.append({"label": label, "start": start,
                     "landing": float(landed.mean()), "modes": int((counts > 0).sum()),
                     "mode_distance": float(dist.mean() / dataset.std),
                     "coverage": float((counts > 0).mean()), "share_right": float(share),
                     "true_right": float(weights[0, 1]),
                     "crash": float((dataset.crash_margin(s) > 0).mean())})
    errors = [abs(r["share_right"] - r["true_right"]) for r in rows]
    return {"landing": float(np.mean([r["landing"] for r in rows])),
            "coverage": float(np.mean([r["coverage"] for r in rows])),
            "weight_error": float(np.mean(errors)) if all(map(math.isfinite, errors)) else math.nan,
            "crash": float(np.mean([r["crash"] for r in rows])),
            "mode_distance": float(np.mean([r["mode_distance"] for r in rows])),
            "per_input": rows}


def regressor_distance(predictions, labels, dataset, at_starts=False):
    """For one prediction per label (or per real start, with ``at_starts``): distance to
    the nearest true mode of p(x|y), in data units and in mode std, and whether it lies
    inside the obstacle (a crash)."""
    p = np.asarray(predictions, np.float64).reshape(len(predictions), 2)
    centers, _ = (dataset.modes_at_start(np.asarray(labels, np.float64)) if at_starts
                  else dataset.modes(np.asarray(labels)))
    d = np.sqrt(((p[:, None, :] - centers) ** 2).sum(-1)).min(axis=1)
    return {"distance": float(d.mean()), "distance_std": float(d.mean() / dataset.std),
            "crash": float((dataset.crash_margin(p) > 0).mean()),
            "per_input": d.tolist()}


# ------------------------------------------------ the obstacle from a continuous start

def sample_at_starts(dataset, starts, rng):
    """One waypoint per real start ``s`` in [-1, 1] (the obstacle's ``p(x | s)``, written
    for any s by ``modes_at_start``): left or right by its weight, then the Gaussian
    around that side's centre -- the dataset's own ``sample_given``, without the labels."""
    centers, weights = dataset.modes_at_start(starts)
    right = rng.random(len(centers)) < weights[:, 1]
    side = centers[np.arange(len(centers)), right.astype(np.int64)]
    return side + dataset.std * rng.standard_normal((len(centers), 2))


def entropy_at_start(dataset, starts):
    """``H(X | s)`` in nats per start, in closed form. ``p(x|s)`` is a mixture of two
    isotropic Gaussians (std sigma) at least 24 sigma apart, so the mixture's overlap term
    ``E[-log p(k|x)]`` (about ``exp(-72)``) is 0 to double precision and
    ``H = H(w(s)) + 1 + log 2 pi + 2 log sigma`` (a 2D Gaussian's entropy, plus which side);
    the dataset's quadrature gives the same at the five labelled starts."""
    _, w = dataset.modes_at_start(starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_side = -np.where(w > 0, w * np.log(w), 0.0).sum(axis=1)
    return h_side + 1.0 + math.log(2 * math.pi) + 2.0 * math.log(dataset.std)


def conditional_kl_at_starts(model, x, starts, dataset):
    """For test waypoints ``x`` drawn at real ``starts``: the model's conditional NLL
    ``-E log q(x|s)`` and the KL to the truth, ``E_s KL(p(x|s) || q(x|s))``, estimated
    as the mean of ``log p(x|s) - log q(x|s)`` over the same draws (paired, so the
    truth's own sampling noise cancels), each with its standard error; ``H(X|s)``
    averaged over the starts, in closed form. None where the model has no density."""
    h = float(entropy_at_start(dataset, starts).mean())
    if not model.has("log_prob"):
        return {"conditional_nll": None, "conditional_nll_se": None, "conditional_kl": None,
                "conditional_kl_se": None, "conditional_entropy": h}
    lq = np.asarray(model.log_prob(x, np.asarray(starts, np.float64)[:, None]), np.float64)
    lp = dataset.log_prob_at_start(x, starts)
    nll, se = metrics.mean_se(-lq)
    kl, kl_se = metrics.mean_se(lp - lq)
    return {"conditional_nll": nll, "conditional_nll_se": se, "conditional_kl": kl,
            "conditional_kl_se": kl_se, "conditional_entropy": h}


def conditional_nll(model, x, y, dataset=None):
    """``-E log q(x|y)`` in nats per example with its standard error, and with the
    dataset's ``H(X|Y)`` the KL to the truth; None where the model has no density."""
    if not model.has("log_prob"):
        return {"conditional_nll": None, "conditional_nll_se": None, "conditional_kl": None}
    nll, se = metrics.mean_se(-np.asarray(model.log_prob(x, y), np.float64))
    out = {"conditional_nll": nll, "conditional_nll_se": se, "conditional_kl": None}
    if dataset is not None and hasattr(dataset, "conditional_entropy"):
        h = dataset.conditional_entropy()
        out["conditional_entropy"] = h
        out["conditional_kl"] = nll - h
    return out


# ---------------------------------------------------------------------- images

def _flat(x):
    return np.asarray(x, np.float64).reshape(len(x), -1)


def _sq_distances(a, b):
    """(len(a), len(b)) squared distances, by ``|a|^2 - 2 a.b + |b|^2`` (no (n, m, D)
    temporary), clipped at 0 against rounding."""
    d2 = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.maximum(d2, 0.0)


def grey_fraction(x):
    """Per image, the share of pixels strictly between 0.2 and 0.8: ink edges only, for
    a real glyph; wide grey regions, for an average of glyphs."""
    f = _flat(x)
    return ((f > 0.2) & (f < 0.8)).mean(axis=1)


def binary_view(x):
    """What a binary-pixel model's outputs are compared in: pixels thresholded at 1/2."""
    return (_flat(x) > 0.5).astype(np.float64)


class ImageModes:
    """Nearest-neighbour modes of a labelled image set (see the module docstring).

    ``reference`` (x, y) are the real examples outputs are compared to; ``heldout``
    (x, y) calibrate the per-class threshold (the ``quantile`` of their distances to the
    reference) and are the examples coverage asks about. ``view`` maps images to the
    space compared in (identity, or :func:`binary_view` for a binary model)."""

    def __init__(self, reference, heldout, view=None, quantile=0.95):
        self.view = view or _flat
        rx, ry = reference
        hx, hy = heldout
        self.ref_x, self.ref_y = self.view(rx), np.asarray(ry).reshape(-1)
        self.held_x, self.held_y = self.view(hx), np.asarray(hy).reshape(-1)
        self.classes = np.unique(self.ref_y)
        self.tau, self.grey = {}, {}
        for k in self.classes:
            d = metrics.nn_distances(self.held_x[self.held_y == k], self.ref_x[self.ref_y == k])
            self.tau[int(k)] = float(np.quantile(d, quantile))
            self.grey[int(k)] = float(np.quantile(grey_fraction(self.held_x[self.held_y == k]),
                                                  quantile))

    def landed(self, samples, label):
        """Which samples land in a true mode of p(x | label): near a real example of the
        label, and no greyer than real ones."""
        v = self.view(samples)
        k = int(label)
        near = metrics.nn_distances(v, self.ref_x[self.ref_y == k]) <= self.tau[k]
        return near & (grey_fraction(v) <= self.grey[k])

    def scores(self, samples_by_label):
        """``landing`` and ``coverage`` (means over classes) and their per-class rows."""
        rows = []
        for k, s in sorted(samples_by_label.items()):
            v = self.view(s)
            tau = self.tau[int(k)]
            landed = self.landed(s, k)
            held = self.held_x[self.held_y == k]
            cover = (metrics.nn_distances(held, v[landed]) <= tau).mean() if landed.any() else 0.0
            rows.append({"label": int(k), "landing": float(landed.mean()),
                         "coverage": float(cover)})
        return {"landing": float(np.mean([r["landing"] for r in rows])),
                "coverage": float(np.mean([r["coverage"] for r in rows])), "per_input": rows}


class Completions:
    """Lower half -> glyph: which digits a lower half allows, and whether completions
    reach them.

    ``reference`` (x, y) full real glyphs. A given lower half's *plausible digits* are
    those holding at least ``min_share`` of its ``k`` nearest reference lower halves (a
    k-nearest-neighbour estimate of p(digit | lower half)). A completion (generated upper
    half + the given lower half) *lands* when it is within the distance of the
    ``quantile`` of held-out real glyphs to the reference and its generated half is no
    greyer than that quantile of real upper halves; it *reaches* the digit of its
    nearest reference glyph."""

    def __init__(self, reference, heldout_x, rows=8, k=20, min_share=0.15, quantile=0.95,
                 view=None):
        self.view = view or _flat
        self.rows, self.k, self.min_share = rows, k, min_share
        rx, ry = reference
        self.ref_full = self.view(rx)
        self.ref_low = _flat(np.asarray(rx)[:, rows:])
        self.ref_y = np.asarray(ry).reshape(-1)
        d = metrics.nn_distances(self.view(heldout_x), self.ref_full)
        self.tau = float(np.quantile(d, quantile))
        upper = self.view(np.asarray(heldout_x)[:, :rows])
        self.grey = float(np.quantile(grey_fraction(upper), quantile))

    def plausible(self, lower):
        """Per lower half, the sorted list of plausible digits."""
        d2 = _sq_distances(_flat(lower), self.ref_low)
        near = np.argsort(d2, axis=1)[:, :self.k]
        out = []
        for idx in near:
            share = np.bincount(self.ref_y[idx], minlength=10) / self.k
            out.append(sorted(int(c) for c in np.flatnonzero(share >= self.min_share)))
        return out

    def nearest(self, full):
        """(distance, digit) of each full glyph's nearest reference glyph."""
        v = self.view(full)
        j = _sq_distances(v, self.ref_full).argmin(axis=1)
        return np.sqrt(((v - self.ref_full[j]) ** 2).sum(1)), self.ref_y[j]

    def scores(self, lowers, completions):
        """``lowers`` (M, rows', W); ``completions`` (M, n, H, W) full glyphs. Landing and
        coverage over all inputs, and over the ambiguous ones (two or more plausible
        digits), where a regressor must fail."""
        plaus = self.plausible(lowers)
        rows = []
        for lower_ok, comp in zip(plaus, completions):
            d, digit = self.nearest(comp)
            landed = (d <= self.tau) & (grey_fraction(self.view(comp[:, :self.rows])) <= self.grey)
            reached = set(int(c) for c in digit[landed])
            cover = len(reached & set(lower_ok)) / len(lower_ok) if lower_ok else math.nan
            rows.append({"plausible": lower_ok, "landing": float(landed.mean()),
                         "coverage": cover, "reached": sorted(reached)})
        amb = [r for r in rows if len(r["plausible"]) >= 2]
        mean = lambda rs, key: float(np.nanmean([r[key] for r in rs])) if rs else math.nan
        return {"landing": mean(rows, "landing"), "coverage": mean(rows, "coverage"),
                "ambiguous_inputs": len(amb), "coverage_ambiguous": mean(amb, "coverage"),
                "landing_ambiguous": mean(amb, "landing"), "per_input": rows}


# ------------------------------------------------------------ classification

def class_log_likelihoods(model, x, num_classes, strata=None):
    """``(n, K)``: ``log q(x | y = k)`` from a label-conditional model. The chapter's own
    models compute it in one call; others go through ``log_prob(x, y)`` class by class
    (a diffusion model's is its variational bound, Ho et al. eq. 5: a lower bound on
    log q, with the same internal noise for every class, so the comparison across
    classes is paired; ``strata`` sets how many t's per example it uses)."""
    if hasattr(model, "log_likelihoods"):
        return model.log_likelihoods(x)
    if not model.has("log_prob"):
        raise UserError(f"{model.name()} gives no density; it cannot classify by Bayes' rule")
    cols = []
    for k in range(num_classes):
        y = np.full(len(x), k, dtype=np.int64)
        if strata is not None and hasattr(model, "bound_terms"):
            cols.append(-model.bound_terms(x, y, n_strata=strata)["total"])
        else:
            cols.append(model.log_prob(x, y))
    return np.stack(cols, axis=1)


def bayes_accuracy(model, x, y, num_classes, log_prior=None, strata=None):
    """Accuracy (and its standard error) of ``argmax_y log q(x|y) + log p(y)``, with the
    label-posterior NLL ``-log q(y|x)`` (He L1: "generative models can be
    discriminative: Bayes' rule") and, from the same numbers, the conditional NLL
    ``-log q(x|y)`` at the true labels."""
    ll = class_log_likelihoods(model, x, num_classes, strata)
    log_prior = np.full(num_classes, -math.log(num_classes)) if log_prior is None else log_prior
    joint = ll + np.asarray(log_prior, np.float64)
    post = joint - logsumexp_rows(joint)[:, None]
    y = np.asarray(y).reshape(-1)
    acc, se = metrics.accuracy(joint.argmax(axis=1), y)
    nll, nll_se = metrics.mean_se(-ll[np.arange(len(y)), y])
    return {"accuracy": acc, "accuracy_se": se,
            "label_nll": float(-post[np.arange(len(y)), y].mean()),
            "conditional_nll": nll, "conditional_nll_se": nll_se}


# ------------------------------------------------------- one call for `scratch-gen eval`

def samples_unconditionally(model, rng):
    """Whether ``model.sample(n, rng)`` works without a label or condition (a conditional
    GAN, or a model conditioned on vectors, needs one); tried on one sample."""
    try:
        model.sample(1, rng)
    except UserError:
        return False
    return True


def _is_binary(x):
    a = np.asarray(x)
    return bool(np.isin(a, (0, 1)).all())


def evaluate(model, test, dataset=None, train=None, seed=0, n_samples=2500,
             test_conditions=None, n_classify=500, strata=10):
    """Every number of this chapter that applies to a conditional ``model`` (any family)
    on ``test``: the workbench's metrics where the model also samples without y, the
    conditional NLL ``-log q(x|y)`` (and the KL to the truth when the dataset knows
    ``H(X|Y)``), per-label mode landing and coverage (against the obstacle's modes, or
    nearest real images of the label, with ``train`` as the reference), and the
    Bayes-rule accuracy of a label-conditional density on up to ``n_classify`` test
    examples (a diffusion bound with ``strata`` t's per example).

    ``test_conditions``: the condition vectors of the test examples, for models
    conditioned on vectors; otherwise ``test.y`` are the labels."""
    rng = np.random.default_rng(seed)
    x = test.x
    y = test_conditions if test_conditions is not None else getattr(test, "y", None)
    if y is None:
        raise UserError(f"{model.name()} is conditional; the test data needs labels "
                        "(or conditions) to score p(x|y)")
    out = {}
    if test_conditions is None and samples_unconditionally(model, np.random.default_rng(seed)):
        out.update(metrics.evaluate(model, test, dataset, train=train, seed=seed,
                                    n_samples=n_samples))
        if out.get("nll") is not None:
            out["conditional_nll"], out["conditional_nll_se"] = out["nll"], out["nll_se"]
        # the workbench scored log q(x|y) against H(X); the floor of a conditional NLL is
        # H(X|Y) (below), so its "KL" to H(X) would mean nothing (it can be negative)
        for key in ("kl_to_truth", "kl_to_truth_se", "kl_to_truth_per_dim"):
            out.pop(key, None)
    else:
        out.update({"model": model.name(), "n_test": len(x)})
        out.update(conditional_nll(model, x, y))
        out.update(model.evaluate(test, dataset))
    if out.get("conditional_nll") is not None and hasattr(dataset, "conditional_entropy"):
        out["conditional_entropy"] = dataset.conditional_entropy()
        out["conditional_kl"] = out["conditional_nll"] - out["conditional_entropy"]
    k = model.spec.num_classes
    if test_conditions is not None or not k:
        return out
    per = max(1, n_samples // k)
    samples = {c: model.sample(per, rng, label=c) for c in range(k)}
    if hasattr(dataset, "modes") and hasattr(dataset, "crash_margin"):
        scores = obstacle_scores(samples, dataset)
    elif model.spec.kind == "image" and train is not None and train.y is not None:
        ty = np.asarray(test.y)
        held = np.concatenate([np.flatnonzero(ty == c)[:50] for c in range(k)])
        binary = _is_binary(np.concatenate(list(samples.values())))
        modes = ImageModes((train.x[:3000], train.y[:3000]), (x[held], ty[held]),
                           view=binary_view if binary else None)
        scores = modes.scores(samples)
        scores["compared_as"] = "binary pixels" if binary else "pixels"
    else:
        scores = {}
    out.update({key: v for key, v in scores.items() if key != "per_input"})
    if scores.get("per_input"):
        out["per_label"] = scores["per_input"]
    if model.has("log_prob") and "accuracy" not in out:
        n = min(len(x), n_classify)
        log_prior = getattr(model, "log_prior", None)
        if log_prior is None:
            counts = np.bincount(np.asarray(test.y)[:n], minlength=k) + 1.0
            log_prior = np.log(counts / counts.sum())
        res = bayes_accuracy(model, x[:n], np.asarray(test.y)[:n], k, log_prior, strata)
        out.update({"accuracy": res["accuracy"], "accuracy_se": res["accuracy_se"],
                    "label_nll": res["label_nll"], "accuracy_n": n,
                    "accuracy_note": "Bayes' rule: argmax_y log q(x|y) + log p(y)"})
    return out
