"""Generalization: the likelihood of *test* data, swept over the KDE's bandwidth.

Isola L14, "What's the goal of generative modeling?": "The goal is not to replicate the
training data but to make new data that is realistic ... One way to quantify this is:
likelihood of the test data under the model. (A model that memorizes the training data
is overfit in exactly the same sense as a classifier can be overfit.)" He L1 draws the
same picture: "overfitting vs. underfitting: like discriminative models", and "to the
extreme, using delta functions is like sampling from training data".

The KDE's bandwidth h walks that whole line. For each h we measure the NLL of the
training points (the points the bumps sit on) and of fresh test points:

- h -> 0: every bump a delta function, the filing cabinet. The training NLL goes to
  -inf (each training point sits on its own spike, ``log p ~ -D log h``) while the test
  NLL goes to +inf (``|x - x_i|^2 / 2h^2`` for the nearest x_i). Overfit.
- h large: one blur; both NLLs rise together. Underfit.
- in between: the test NLL is U-shaped, and its bottom is the best KDE. On a dataset
  whose entropy H is known (DESIGN.md, "Data with ground truth"), ``test NLL - H`` is
  the KL from the truth, so the bottom says how far even the best KDE is from perfect.

Besides the plain test NLL, each row has the paired estimate of that KL,
``mean_i(log p_data(x_i) - log p_h(x_i))`` over the test points, whose standard error is
far smaller than the NLL's (the per-point noise of ``log p_data`` cancels).
"""
import math

import numpy as np

from ..metrics import mean_se
from .kde import kde_log_prob


def default_bandwidths(x, n=25, lo=1e-3, hi=3.0):
    """Log-spaced bandwidths from ``lo`` to ``hi`` times the data's scale."""
    scale = float(np.sqrt(np.asarray(x, np.float64).var(axis=0).mean()))
    return scale * np.geomspace(lo, hi, n)


def bandwidth_sweep(train, test, bandwidths, dataset=None):
    """Train and test NLL (nats per example) of the KDE on ``train`` at each bandwidth.

    Returns a dict of arrays ``bandwidth, train_nll, test_nll, test_nll_se`` and, with a
    ``dataset`` that knows its log_prob and entropy, ``entropy``, ``kl`` (paired, see the
    module docstring) and ``kl_se``; plus ``best`` (index of the lowest test NLL) and the
    filing cabinet's limits ``h0_train_nll = -inf``, ``h0_test_nll = +inf``.
    """
    train = np.ascontiguousarray(np.asarray(train, np.float64).reshape(len(train), -1))
    test = np.ascontiguousarray(np.asarray(test, np.float64).reshape(len(test), -1))
    hs = np.asarray(bandwidths, dtype=np.float64)
    log_truth = None
    if dataset is not None and getattr(dataset, "has_log_prob", False):
        log_truth = np.asarray(dataset.log_prob(test), dtype=np.float64)
    out = {"bandwidth": hs, "train_nll": np.empty(len(hs)), "test_nll": np.empty(len(hs)),
           "test_nll_se": np.empty(len(hs))}
    if log_truth is not None:
        out["kl"], out["kl_se"] = np.empty(len(hs)), np.empty(len(hs))
    for j, h in enumerate(hs):
        lp_test = kde_log_prob(test, train, h)
        out["train_nll"][j] = -kde_log_prob(train, train, h).mean()
        out["test_nll"][j], out["test_nll_se"][j] = mean_se(-lp_test)
        if log_truth is not None:
            out["kl"][j], out["kl_se"][j] = mean_se(log_truth - lp_test)
    if dataset is not None and getattr(dataset, "has_entropy", False):
        out["entropy"] = float(dataset.entropy())
    out["best"] = int(np.argmin(out["test_nll"]))
    out["h0_train_nll"], out["h0_test_nll"] = -math.inf, math.inf
    return out


def is_u_shaped(values):
    """True when ``values`` fall strictly to an interior minimum and rise strictly after."""
    v = np.asarray(values, dtype=np.float64)
    b = int(np.argmin(v))
    return (0 < b < len(v) - 1 and bool(np.all(np.diff(v[:b + 1]) < 0))
            and bool(np.all(np.diff(v[b:]) > 0)))
