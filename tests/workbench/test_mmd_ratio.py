"""metrics.mmd_v (the biased V-statistic MMD) and metrics.mmd_ratio (model-vs-truth MMD
in units of truth-vs-truth MMD), the well-posed form of issue 8's criterion "MMD to the
truth at most twice that between two true samples"."""
import math

import numpy as np
import pytest

from scratch_gen import metrics as M
from scratch_gen.common.errors import UserError


def _direct_v(x, y, h):
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * h * h))
    xx = np.mean([[k(a, b) for b in x] for a in x])
    yy = np.mean([[k(a, b) for b in y] for a in y])
    xy = np.mean([[k(a, b) for b in y] for a in x])
    return math.sqrt(xx + yy - 2 * xy)


def test_v_statistic_matches_the_formula_and_the_unbiased_estimate():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(23, 3)), rng.normal(size=(17, 3)) + 0.3
    h = 1.3
    v = M.mmd_v(x, y, h, block=5)                   # blocks that do not divide 23
    assert v == pytest.approx(_direct_v(x, y, h), rel=1e-10)
    # V = U + the diagonal terms the unbiased estimate leaves out (k(a, a) = 1):
    # V - U = (1 - mean_{i != j} k(x_i, x_j)) / n + (1 - mean_{i != j} k(y_i, y_j)) / m
    def off_mean(a):
        d2 = ((a[:, None] - a[None]) ** 2).sum(-1)
        k = np.exp(-d2 / (2 * h * h))
        return (k.sum() - len(a)) / (len(a) * (len(a) - 1))
    gap = (1 - off_mean(x)) / len(x) + (1 - off_mean(y)) / len(y)
    assert v ** 2 == pytest.approx(M.mmd2(x, y, h) + gap, rel=1e-9)
    assert M.mmd_v(x, x, h) == pytest.approx(0.0, abs=1e-6)


def test_ratio_is_about_one_for_true_samples_and_large_for_a_collapsed_model():
    """A true sample in the model's place scores a ratio near 1 (over R = 5 pairs its
    spread is about +-0.25, so 2 is far out), a model on half the modes far above 2,
    and one missing two modes of eight above 2 as well. (At n = 400 and the median
    bandwidth one missing mode of eight scores about 1.8: the criterion is coarse.)"""
    rng = np.random.default_rng(1)
    centers = np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4])

    def truth(n, keep=8):
        return centers[rng.integers(0, keep, n)] + 0.05 * rng.normal(size=(n, 2))

    n, reps = 400, 5
    fair = []
    for _ in range(6):
        r = M.mmd_ratio(truth(n), [truth(n) for _ in range(reps)],
                        [truth(n) for _ in range(reps)])
        assert r["mmd_reps"] == reps and r["mmd_truth_sd"] > 0 and r["mmd_truth"] > 0
        fair.append(r["mmd_ratio"])
    assert 0.8 < np.mean(fair) < 1.3 and max(fair) < 2.0, fair
    truths, refs = [truth(n) for _ in range(reps)], [truth(n) for _ in range(reps)]
    assert M.mmd_ratio(truth(n, keep=4), truths, refs)["mmd_ratio"] > 5
    assert M.mmd_ratio(truth(n, keep=6), truths, refs)["mmd_ratio"] > 2


def test_mmd_inputs_are_checked_with_one_line_errors():
    x = np.zeros((4, 2))
    for call, match in [(lambda: M.mmd_v(x, np.zeros((4, 3)), 1.0), "same numbers"),
                        (lambda: M.mmd_v(x, x, 0.0), "bandwidth"),
                        (lambda: M.mmd_ratio(x, [], []), "at least one pair"),
                        (lambda: M.mmd_ratio(x, [x], [x, x]), "at least one pair"),
                        (lambda: M.mmd_ratio(x, [x], [np.zeros((5, 2))]), "equal sizes")]:
        with pytest.raises(UserError, match=match) as e:
            call()
        assert "\n" not in str(e.value)
