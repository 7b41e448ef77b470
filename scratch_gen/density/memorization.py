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


def coverage(samples, real, k=5):
    """Naeem et al. 2020, eq. 4: ``1/M sum_j 1[some sample within NND_k(real_j) of
    real_j]``, ``NND_k`` the distance to the k-th nearest other real point."""
    radius = kth_neighbour_distance(real, k)
    nearest_sample = metrics.nn_distances(real, samples)
    return float((nearest_sample <= radius).mean())


def memorization_row(name, model, train, test, n_samples, rng, k=5):
    """Copy rate, nearest-neighbour distances, coverage and test NLL of one model."""
    samples = model.sample(n_samples, rng)
    row = {"model": name, **metrics.memorization(samples, train, test),
           "coverage": coverage(samples, test, k)}
    if model.has("log_prob"):
        row["test_nll"] = metrics.nll(model.log_prob(test), 1)["nll"]
    return row


def memorization_table(models, train, test, n_samples, rng, truth=None, k=5):
    """One row per ``(name, model)`` in ``models``; with ``truth`` (a dataset that
    samples), a first row for fresh data from it: the scores of a perfect model."""
    rows = []
    if truth is not None:
        fresh = truth.sample(n_samples, rng)
        rows.append({"model": "fresh data (the truth)",
                     **metrics.memorization(fresh, train, test),
                     "coverage": coverage(fresh, test, k),
                     "test_nll": (float(-np.mean(truth.log_prob(test)))
                                  if getattr(truth, "has_log_prob", False) else None)})
    for name, model in models:
        rows.append(memorization_row(name, model, train, test, n_samples, rng, k))
    return rows


def format_table(rows):
    """The table as fixed-width text (for demos and the benchmark's log)."""
    head = f"{'model':<34}{'copy rate':>10}{'NN dist':>10}{'(test)':>9}{'coverage':>10}{'test NLL':>11}"
    lines = [head, "-" * len(head)]
    for r in rows:
        nll = r.get("test_nll")
        nll_text = "-" if nll is None else (f"{nll:.3f}" if np.isfinite(nll) else ("inf" if nll > 0 else "-inf"))
        lines.append(f"{r['model']:<34}{r['copy_rate']:>10.3f}{r['nn_distance']:>10.4f}"
                     f"{r['nn_distance_test']:>9.4f}{r['coverage']:>10.3f}{nll_text:>11}")
    return "\n".join(lines)
