"""Memorization, measured: does a model make new data, or hand back its training set?

He L1: "to the extreme, using delta functions is like sampling from training data".
Isola L14: "The goal is not to replicate the training data but to make new data that is
realistic." Two sample-based numbers separate the two halves of that sentence:

- *copy rate*: the fraction of samples that are training points (``metrics.copy_rate``),
  with the mean distance from a sample to its nearest training point next to the same
  distance for fresh data (``metrics.memorization``). New data is as far from the
  training set as fresh test data is; a memorizer is at 0.
- *coverage* of the test set (Naeem, Oh, Uh, Choi & Yoo 2020, "Reliable fidelity and
  diversity metrics for generative models", eq. 4): the fraction of test points with a
  sample inside the ball reaching to their k-th nearest test neighbour. It asks "is
  every part of the data produced?", which a memorizer answers as well as the truth
  does.

The filing cabinet scores perfectly on coverage and fails the copy rate; only the test
likelihood and the copy rate together tell it apart from a good model.
"""
import numpy as np

from .. import metrics


def kth_neighbour_distance(x, k):
    """Distance from each row of ``x`` to its k-th nearest *other* row."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if not 1 <= k < len(x):
        raise ValueError(f"k={k}: expected 1 <= k < {len(x)}")
    sq = (x * x).sum(1)
    out = np.empty(len(x))
    for i in range(0, len(x), 1024):
        d2 = sq[i:i + 1024, None] + sq[None, :] - 2.0 * x[i:i + 1024] @ x.T
        d2[np.arange(len(d2)), i + np.arange(len(d2))] = np.inf         # not itself
        out[i:i + 1024] = np.sqrt(np.maximum(np.partition(d2, k - 1, axis=1)[:, k - 1], 0.0))
    return out


def coverage(samples, real, k=5, radius=None):
    """Naeem et al. 2020, eq. 4: ``1/M sum_j 1[some sample within NND_k(real_j) of
    real_j]``, ``NND_k`` the distance to the k-th nearest other real point (pass
    ``radius``, from :func:`kth_neighbour_distance`, to reuse it). Naeem et al. compare
    equal numbers of samples and real points; a perfect sampler then covers about
    ``1 - 2^-k`` of them."""
    radius = kth_neighbour_distance(real, k) if radius is None else radius
    nearest_sample = metrics.nn_distances(real, samples)
    return float((nearest_sample <= radius).mean())


def memorization_table(models, train, test, n_samples, rng, truth=None, k=5):
    """One row per ``(name, model)`` in ``models`` (each draws ``n_samples``): copy rate,
    mean distance from a sample to its nearest training point, the same for the test
    points (``nn_distance_test``, the baseline of new data), coverage of the test set,
    and the test NLL. With ``truth`` (a dataset that samples), a first row for fresh
    data from it: the scores of a perfect model. Distances that do not depend on the
    model (test to train; the test points' k-th neighbours) are computed once."""
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    nn_test = float(metrics.nn_distances(test, train).mean())
    radius = kth_neighbour_distance(test, k)

    def row(name, samples, test_nll):
        d = metrics.nn_distances(samples, train)
        return {"model": name, "copy_rate": metrics.copy_rate(samples, train, distances=d),
                "nn_distance": float(d.mean()), "nn_distance_test": nn_test,
                "coverage": coverage(samples, test, k, radius), "test_nll": test_nll}

    rows = []
    if truth is not None:
        nll = (float(-np.mean(truth.log_prob(test)))
               if getattr(truth, "has_log_prob", False) else None)
        rows.append(row("fresh data (the truth)", truth.sample(n_samples, rng), nll))
    for name, model in models:
        nll = metrics.nll(model.log_prob(test), 1)["nll"] if model.has("log_prob") else None
        rows.append(row(name, model.sample(n_samples, rng), nll))
    return rows


def format_table(rows):
    """The table as fixed-width text (for demos and the benchmark's log)."""
    head = (f"{'model':<34}{'copy rate':>10}{'NN dist':>10}{'(test)':>9}{'coverage':>10}"
            f"{'test NLL':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        nll = r.get("test_nll")
        if nll is None:
            nll_text = "-"
        elif not np.isfinite(nll):
            nll_text = "inf" if nll > 0 else "-inf"      # the cabinet's, honestly
        else:
            nll_text = f"{nll:.3f}" if abs(nll) < 1e5 else f"{nll:.3g}"
        lines.append(f"{r['model']:<34}{r['copy_rate']:>10.3f}{r['nn_distance']:>10.4f}"
                     f"{r['nn_distance_test']:>9.4f}{r['coverage']:>10.3f}{nll_text:>11}")
    return "\n".join(lines)
