"""How good is a generative model? Every number here says how far from the best possible.

Isola L14, "What's the goal of generative modeling?": not to replicate the training data
but to make new, realistic data; "one way to quantify this is the likelihood of the test
data under the model". And "Density models": ``argmin KL(p_data, p_theta) = argmax
E[log p_theta]``, the two differing by the data's entropy, so on the built-in datasets,
whose entropy is known (scratch_gen/data), test NLL minus entropy is the model's KL to
the truth: zero is perfect, and we can say how far each model is from it.

Units (DESIGN.md, "Conventions"):
- NLL in nats per example; per dimension = per example / numbers per example (per
  token for text, each string's characters plus its end token, as a ratio of sums);
  bits/dim = nats per dim / ln 2. Each comes with its standard error from the
  per-example values.
- Infinities propagate honestly: a model with zero density at one test point has an
  infinite test NLL (the filing cabinet, L14 "Is the filing cabinet a good generative
  model?"; He L1, "using delta functions is like sampling from training data"). The
  mean of values that include both +inf and -inf is undefined and reported as nan.
  The standard error of a non-finite mean is nan (undefined). In JSON these are the
  strings "inf", "-inf", "nan" (common/jsonio.py), because JSON has no Infinity.

For samplers without a density (GANs) the sample-based metrics apply: the mode metrics
of PacGAN (Lin et al. 2018, section 5, after VEEGAN, Srivastava et al. 2017) on ring8
and grid25; MMD (Gretton et al. 2012) calibrated against two independent true samples
(as a ratio to the true-vs-true distance by the never-negative V-statistic, mmd_ratio);
and the memorization checks that the filing cabinet fails on purpose.
"""
import math

import numpy as np

from .common.errors import UserError

LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- NLL

def mean_se(values):
    """``(mean, standard error)`` of per-example values; se = std(ddof=1)/sqrt(n).

    Non-finite values propagate: the mean follows IEEE (inf, -inf, or nan for both),
    and the standard error of a non-finite mean is nan (it is not defined)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    n = v.size
    if n == 0:
        raise UserError("no values to average; expected at least one test example")
    with np.errstate(invalid="ignore", over="ignore"):
        m = float(v.mean()) if np.isfinite(v).all() else float(np.sum(v) / n)
    if not math.isfinite(m) or n < 2:
        return m, math.nan
    return m, float(v.std(ddof=1) / math.sqrt(n))


def nll(log_p, dims):
    """Test NLL from per-example log-probabilities (nats).

    dims: numbers per example (an int), or per-example counts (tokens of each string,
    its end token included). Per-dim NLL is ``sum(nll_i) / sum(dims_i)``, the ratio
    estimator; its standard error is the delta method's,
    ``sqrt(sum((nll_i - r d_i)^2) / (n (n-1))) / mean(d)``, which is ``se / D`` when every
    example has D dims.

    Returns ``n_test, nll, nll_se, nll_per_dim, nll_per_dim_se, bits_per_dim,
    bits_per_dim_se``.
    """
    lp = np.asarray(log_p, dtype=np.float64).reshape(-1)
    if np.isnan(lp).any():
        raise ValueError(f"log_prob returned nan for {int(np.isnan(lp).sum())} of {lp.size} "
                         "examples; a density is never nan (use -inf for zero density)")
    with np.errstate(invalid="ignore"):
        per_example = -lp
    n = per_example.size
    d = np.broadcast_to(np.asarray(dims, dtype=np.float64), per_example.shape)
    if (d <= 0).any():
        raise ValueError("every example needs at least one dimension")
    m, se = mean_se(per_example)
    if math.isfinite(m):
        r = float(per_example.sum() / d.sum())
        se_d = (float(np.sqrt(((per_example - r * d) ** 2).sum() / (n * (n - 1))) / d.mean())
                if n > 1 else math.nan)
    else:
        r, se_d = m, math.nan         # +-inf / positive count keeps its sign; nan stays
    return {"n_test": n, "nll": m, "nll_se": se, "nll_per_dim": r, "nll_per_dim_se": se_d,
            "bits_per_dim": r / LN2, "bits_per_dim_se": se_d / LN2}


def kl_to_truth(nll_value, nll_se, entropy, entropy_error=0.0):
    """``KL(p_data || p_model) = E_data[-log p_model] - H(p_data)`` (L14, "Density
    models"), estimated by test NLL minus the dataset's known entropy. The standard
    error adds the entropy's own stated error (quadrature) in quadrature."""
    kl = nll_value - entropy
    se = math.sqrt(nll_se ** 2 + entropy_error ** 2) if math.isfinite(nll_se) else math.nan
    return kl, se


# ----------------------------------------------------------- normalizing a 2D density

class Quadrature:
    """``log_z`` of an unnormalized 2D log-density on a box and its ``error``; the grid
    (``xs``, ``ys`` cell centres; ``log_p[i, j]`` at ``(xs[j], ys[i])``, normalized)
    serves the heatmaps."""

    def __init__(self, log_z, error, xs, ys, log_p, boundary_mass):
        self.log_z, self.error, self.xs, self.ys, self.log_p = log_z, error, xs, ys, log_p
        self.boundary_mass = boundary_mass

    def __repr__(self):
        return f"Quadrature(log_z={self.log_z:.6g}, error={self.error:.2g})"


def _log_midpoint_sum(log_f, lo, hi, n):
    xs = lo[0] + (np.arange(n) + 0.5) * (hi[0] - lo[0]) / n
    ys = lo[1] + (np.arange(n) + 0.5) * (hi[1] - lo[1]) / n
    gx, gy = np.meshgrid(xs, ys)
    vals = np.asarray(log_f(np.stack([gx.ravel(), gy.ravel()], axis=1)), dtype=np.float64)
    vals = vals.reshape(n, n)
    log_cell = math.log((hi[0] - lo[0]) * (hi[1] - lo[1]) / (n * n))
    mx = vals.max()
    if not math.isfinite(mx):
        raise ValueError(f"the log-density is {mx} everywhere on the grid or somewhere on "
                         "it; cannot normalize")
    return mx + math.log(np.exp(vals - mx).sum()) + log_cell, xs, ys, vals


def normalize_2d(log_f, lo=(-4.0, -4.0), hi=(4.0, 4.0), n=256):
    """``log Z = log integral exp(log_f(x)) dx`` over the box ``[lo, hi]`` by the
    midpoint rule on an n x n grid, in log space (energy-based models, L14: "Z(theta) =
    integral e^{-E_theta(x)} dx"; in 2D we can just add it up).

    The integral is over the box: an energy-based model on this workbench lives on a
    box. ``error`` estimates the discretization error as ``|log Z_n - log Z_{n/2}|``:
    the midpoint rule's error shrinks about 4x when the cell halves (for integrands
    smooth within cells), so the coarser grid's error, which that difference roughly
    measures, bounds the finer one's. ``boundary_mass`` is the fraction of the mass in
    the outermost ring of cells: when it is not tiny, the density does not vanish at
    the box's edge and a larger box would give a larger Z.

    log_f: vectorized, ``(M, 2)`` points -> ``(M,)`` log-densities up to a constant.
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if not (hi > lo).all():
        raise UserError(f"box lo={lo.tolist()} hi={hi.tolist()}: expected lo < hi")
    if n < 8 or n % 2:
        raise UserError(f"grid size n={n}: expected an even integer >= 8")
    log_z, xs, ys, vals = _log_midpoint_sum(log_f, lo, hi, n)
    log_z_half = _log_midpoint_sum(log_f, lo, hi, n // 2)[0]
    p = np.exp(vals - vals.max())
    ring = p.sum() - p[1:-1, 1:-1].sum()
    return Quadrature(log_z, abs(log_z - log_z_half), xs, ys, vals - log_z, float(ring / p.sum()))


# -------------------------------------------------------------------- mode metrics

def mode_metrics(samples, centers, std, threshold=3.0):
    """The PacGAN mode metrics (Lin et al. 2018, section 5; the definitions of VEEGAN,
    Srivastava et al. 2017) for a mixture of isotropic Gaussians with ``centers`` (K, D)
    and standard deviation ``std``:

    - each sample goes to its nearest centre; it is *high quality* when within
      ``threshold`` standard deviations of it. For a perfect sampler in 2D,
      ``||x - mu||^2 / std^2`` is chi-square with 2 degrees of freedom, so the expected
      fraction is ``1 - exp(-threshold^2 / 2)`` = 0.98889 at 3 std;
    - a mode is *captured* when at least one high-quality sample goes to it;
    - *reverse KL*: ``KL(q || uniform)`` of the histogram ``q`` of high-quality samples
      over modes (``log K`` when all land on one mode, 0 when spread perfectly evenly);
      inf when there are no high-quality samples.

    PacGAN draws 2,500 samples. Returns ``modes, n_modes, high_quality, reverse_kl,
    counts``.
    """
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise UserError(f"samples of shape {x.shape} do not match centres of shape {c.shape}")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = d2[np.arange(len(x)), nearest] <= (threshold * std) ** 2
    counts = np.bincount(nearest[good], minlength=len(c))
    total = counts.sum()
    if total:
        q = counts[counts > 0] / total
        rkl = float((q * np.log(q * len(c))).sum())
    else:
        rkl = math.inf
    return {"modes": int((counts > 0).sum()), "n_modes": len(c),
            "high_quality": float(good.mean()), "reverse_kl": rkl, "counts": counts.tolist()}


# ------------------------------------------------------------------------------ MMD

def _flat(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))


def median_bandwidth(x, y=None, max_points=1000):
    """The median heuristic (Gretton et al. 2012, section 8): h = median pairwise
    distance of the pooled sample (on at most ``max_points`` points)."""
    z = _flat(x) if y is None else np.concatenate([_flat(x), _flat(y)])
    z = z[:max_points]
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(len(z), 1)
    return float(np.sqrt(np.median(d2[iu])))


def mmd2(x, y, h):
    """Unbiased MMD^2 with the Gaussian kernel ``exp(-||a-b||^2 / (2 h^2))`` (Gretton et
    al. 2012, eq. 3), by the backend kernel ``mmd2`` (Numba on CPU)."""
    from autograd.backend import kernels
    return float(kernels().mmd2(_flat(x), _flat(y), float(h)))


def mmd_calibrated(samples, true_a, true_b, h=None):
    """MMD^2 of the model's samples to a true sample, next to the MMD^2 between two
    independent true samples of the same sizes: the baseline a perfect model would
    score (about 0, give or take the estimator's noise). ``h`` defaults to the median
    heuristic on the two true samples, so both numbers use one kernel."""
    if h is None:
        h = median_bandwidth(true_a, true_b)
    return {"mmd2": mmd2(samples, true_a, h), "mmd2_baseline": mmd2(true_b, true_a, h),
            "mmd_bandwidth": h}


def mmd_v(x, y, h, block=1024):
    """MMD (the square root of MMD^2) by the biased V-statistic of Gretton et al. 2012
    (eq. 5): ``sqrt(mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j))``
    with the Gaussian kernel ``exp(-||a-b||^2 / (2 h^2))``, every pair counted, i = j too.

    Unlike the unbiased :func:`mmd2` it is never negative: it is the distance between the
    two samples' mean embeddings, so it measures the finite samples too. For two samples
    of size n from one distribution it is about ``sqrt((2/n) (1 - E k(x, x')))``, not 0:
    a yardstick that ratios can be taken against (:func:`mmd_ratio`). Computed in blocks
    of rows (memory ``block * len``)."""
    x, y = _flat(x), _flat(y)
    if len(x) == 0 or len(y) == 0 or x.shape[1] != y.shape[1]:
        raise UserError(f"mmd_v: samples of shapes {x.shape} and {y.shape}; expected two "
                        "non-empty samples with the same numbers per example")
    if not h > 0:
        raise UserError(f"mmd_v: bandwidth h={h!r}, expected a positive number")

    def mean_k(a, b):
        bb = (b * b).sum(1)
        total = 0.0
        for i in range(0, len(a), block):
            ab = a[i:i + block]
            d2 = (ab * ab).sum(1)[:, None] - 2.0 * ab @ b.T + bb[None, :]
            total += np.exp(-np.maximum(d2, 0.0) / (2.0 * h * h)).sum()
        return total / (len(a) * len(b))

    return float(math.sqrt(max(mean_k(x, x) + mean_k(y, y) - 2.0 * mean_k(x, y), 0.0)))


def mmd_ratio(samples, truths, references, h=None):
    """How far the model's samples are from the truth, in units of how far two true
    samples of the same size are from each other: the criterion "MMD to the truth at most
    twice that between two true samples" made well-posed.

    With R pairs of independent true samples ``(truths[r], references[r])``, all of the
    size of ``samples``, and the never-negative V-statistic :func:`mmd_v` under one kernel
    (``h`` defaults to the median heuristic on ``truths[0]`` and ``references[0]``)::

        ratio = mean_r MMD_V(samples, truths[r]) / mean_r MMD_V(references[r], truths[r])

    A perfect model (a true sample in the model's place) scores about 1; 2 means twice
    the distance that sampling noise alone puts between two true samples. The means over
    R pairs matter: MMD_V between two finite samples scatters widely (at the median
    bandwidth, two true samples of ring8-like data spread by about +-30% of their mean:
    few kernel eigenvalues carry the distance), and with one pair a perfect model's ratio
    exceeds 2 about one time in ten; with R = 5 its spread is about +-0.25
    (tests/workbench/test_mmd_ratio.py). (The unbiased MMD^2 of two true samples scatters
    around 0 and is often negative, so a ratio to it means nothing.)

    Returns ``mmd`` and ``mmd_truth`` (the two means), ``mmd_truth_sd`` (the spread of the
    R true-vs-true distances), ``mmd_ratio``, ``mmd_bandwidth``, ``mmd_reps`` (R)."""
    truths, references = list(truths), list(references)
    if not truths or len(truths) != len(references):
        raise UserError(f"mmd_ratio: {len(truths)} true samples and {len(references)} "
                        "references; expected at least one pair")
    for r in truths + references:
        if len(r) != len(samples):
            raise UserError(f"mmd_ratio: a true sample of size {len(r)} beside "
                            f"{len(samples)} model samples; expected equal sizes")
    if h is None:
        h = median_bandwidth(truths[0], references[0])
    model = float(np.mean([mmd_v(samples, t, h) for t in truths]))
    null = np.array([mmd_v(r, t, h) for r, t in zip(references, truths)])
    base = float(null.mean())
    return {"mmd": model, "mmd_truth": base,
            "mmd_truth_sd": float(null.std(ddof=1)) if len(null) > 1 else float("nan"),
            "mmd_ratio": model / base if base > 0 else float("inf"),
            "mmd_bandwidth": float(h), "mmd_reps": len(null)}


# -------------------------------------------------------------------- memorization

def nn_distances(a, b, block=1024):
    """Euclidean distance from each row of ``a`` to its nearest row of ``b``, in
    blocks of rows so memory stays ``block * len(b)``."""
    a, b = _flat(a), _flat(b)
    bb = (b * b).sum(1)
    out = np.empty(len(a))
    for i in range(0, len(a), block):
        ab = a[i:i + block]
        m = ab @ b.T                       # argmin_j |a-b_j|^2 = argmin_j |b_j|^2 - 2 a.b_j
        m *= -2.0
        m += bb
        j = m.argmin(1)
        # the expansion finds the neighbour; the distance itself is recomputed directly,
        # so an exact copy is at distance 0.0, not at the expansion's rounding error
        out[i:i + block] = np.sqrt(((ab - b[j]) ** 2).sum(1))
    return out


def _copy_tol(train):
    t = _flat(train)
    return 1e-6 * (1.0 + float(np.sqrt((t * t).mean())))


def copy_rate(samples, train, tol=None, distances=None):
    """Fraction of samples that are copies of a training example: He L1, "to the
    extreme, using delta functions is like sampling from training data" -- the filing
    cabinet scores 1.0. Strings: exact membership. Arrays: nearest-neighbour distance
    <= ``tol`` (default ``1e-6 * (1 + rms of train)``, so floating-point copies count);
    pass ``distances`` (from :func:`nn_distances`) to reuse them."""
    if isinstance(samples, list):
        seen = set(train)
        return float(np.mean([s in seen for s in samples]))
    tol = _copy_tol(train) if tol is None else tol
    d = nn_distances(samples, train) if distances is None else distances
    return float((d <= tol).mean())


def memorization(samples, train, test):
    """``copy_rate``, and for arrays the mean nearest-neighbour distance of samples to
    the training set next to the same for fresh test data (the baseline: a model that
    generalizes sits as far from the training set as new data does; a memorizer at 0).
    An exact copy is at distance 0.0."""
    if isinstance(samples, list):
        return {"copy_rate": copy_rate(samples, train)}
    d = nn_distances(samples, train)
    return {"copy_rate": copy_rate(samples, train, distances=d), "nn_distance": float(d.mean()),
            "nn_distance_test": float(nn_distances(test, train).mean())}


# ------------------------------------------------------------------------- accuracy

def accuracy(pred, y):
    """``(accuracy, standard error)``; se = sqrt(a (1 - a) / n)."""
    pred, y = np.asarray(pred).reshape(-1), np.asarray(y).reshape(-1)
    if pred.shape != y.shape:
        raise UserError(f"{pred.size} predictions for {y.size} labels")
    a = float((pred == y).mean())
    return a, math.sqrt(a * (1.0 - a) / len(y))


# ------------------------------------------------------------ everything for one model

def dims_per_example(spec, x):
    """Numbers per example for per-dim NLL: ``prod(shape)``, or for text each string's
    length plus its end token."""
    if spec.kind == "text":
        return np.array([len(s) + 1 for s in x], dtype=np.float64)
    return spec.n_dims


def _true_modes(dataset):
    """(centres, std) when the dataset is a mixture the mode metrics apply to."""
    centers = getattr(dataset, "centers", None)
    std = getattr(dataset, "std", None)
    if centers is None or std is None or np.ndim(std) != 0:
        return None
    return np.asarray(centers, dtype=np.float64), float(std)


def evaluate(model, test, dataset=None, train=None, seed=0, n_samples=2500):
    """Every metric that applies to ``model`` on ``test`` (an object with ``.x`` and
    ``.y``): the NLL family when the model has ``log_prob``; KL to the truth when the
    dataset knows its entropy; the mode metrics on mixtures with known centres (ring8,
    grid25); MMD for continuous data; memorization against ``train``; accuracy for
    classifiers; and the model's own ``evaluate``. Sampling uses ``seed``."""
    rng = np.random.default_rng(seed)
    x, y = test.x, getattr(test, "y", None)
    out = {"model": model.name(), "n_test": len(x)}
    if model.has("log_prob"):
        lp = model.log_prob(x) if y is None or not model.conditional else model.log_prob(x, y)
        out.update(nll(lp, dims_per_example(model.spec, x)))
        if dataset is not None and getattr(dataset, "has_entropy", False):
            h = float(dataset.entropy())
            err = float(dataset.entropy_error()) if hasattr(dataset, "entropy_error") else 0.0
            out["entropy"] = h
            out["kl_to_truth"], out["kl_to_truth_se"] = kl_to_truth(out["nll"], out["nll_se"], h, err)
            # per dim: per token for text, by the dataset's exact mean length + end token
            per = (dataset.expected_tokens() if hasattr(dataset, "expected_tokens")
                   else model.spec.n_dims)
            if per:
                out["kl_to_truth_per_dim"] = out["kl_to_truth"] / per
    else:
        out.update({"nll": None, "nll_per_dim": None, "bits_per_dim": None,
                    "nll_note": f"{model.name()} gives no density"})
    samples = model.sample(n_samples, rng)
    modes = _true_modes(dataset) if dataset is not None else None
    if modes is not None and model.spec.kind == "continuous":
        out.update(mode_metrics(samples, *modes))
    if model.spec.kind == "continuous" and len(x) >= 2:
        if dataset is not None:
            a, b = dataset.sample(n_samples, rng), dataset.sample(n_samples, rng)
        elif train is not None and len(train.x) >= 2:
            a, b = x, train.x[:len(x)]
        else:
            a = b = None
        if a is not None:
            out.update(mmd_calibrated(samples, a, b))
    if train is not None:
        out.update(memorization(samples, train.x, x))
    if y is not None and model.has("predict"):
        out["accuracy"], out["accuracy_se"] = accuracy(model.predict(x), y)
    out.update(model.evaluate(test, dataset))
    return out
