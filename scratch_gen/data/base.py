"""The Dataset contract, the one error type users see, and the checks every dataset shares.

A built-in dataset is a *known* distribution: it samples, and where the math allows it
also scores (``log_prob``) and knows its own entropy. That is what lets a model's test
NLL be read as a distance to the truth: ``E_data[-log p_model] - H(data) = KL(data ||
model)`` (Isola L14, "max likelihood = min KL").
"""

import math

import numpy as np

KINDS = ("continuous", "discrete", "image", "text")


class DataError(ValueError):
    """A problem the user caused (unknown name, bad file, wrong shape): the message is one
    line naming the value or file and what was expected, so the CLI can print it as is."""


def check_n(n):
    """``n`` as a non-negative int, or a DataError naming it."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError(f"number of samples n={n!r}: expected a non-negative integer")
    return int(n)


def check_rng(rng):
    """Randomness only through an explicit Generator (DESIGN, "Conventions"): a seed or the
    legacy global state would make two runs disagree silently."""
    if not isinstance(rng, np.random.Generator):
        raise DataError(f"rng={rng!r}: expected a numpy.random.Generator "
                        "(np.random.default_rng(seed))")
    return rng


def as_array(x, shape, name, dtype=np.float64):
    """``x`` as an array of ``(n, *shape)``; a single example is not silently accepted,
    because a (2,) array could be one point or two scalars. ``dtype=None`` keeps any
    numeric dtype (integer images need no float copy)."""
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind not in "biuf":
        raise DataError(f"{name}: expected a numeric array of shape (n, "
                        f"{', '.join(map(str, shape))})")
    if a.ndim != 1 + len(shape) or tuple(a.shape[1:]) != tuple(shape):
        raise DataError(f"{name}: got shape {a.shape}, expected (n, "
                        f"{', '.join(map(str, shape))})")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DataError(f"{name}: contains NaN or Inf")
    return a


def logsumexp(a, axis):
    """log(sum(exp(a))) without overflow; rows that are all -inf give -inf."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


class Dataset:
    """A distribution to learn, with as much ground truth as its math allows.

    Subclasses set the class attributes and implement ``_sample_labelled`` (or
    ``_sample``), and, when they know them, ``_log_prob`` and ``_entropy``.
    ``entropy_error`` is 0.0 for exact values; otherwise the stated error of the
    numerical value (a conservative quadrature error estimate, or a Monte Carlo standard
    error), added to a test NLL's standard error in quadrature by
    ``scratch_gen.metrics.kl_to_truth``.
    """

    name = None
    kind = "continuous"
    shape = ()
    levels = None
    num_classes = None
    image_shape = None
    has_log_prob = False
    has_entropy = False
    default_sizes = (10_000, 2_000)   # (n_train, n_test) used by data.load
    has_splits = False                # finite real pools: sample(n, rng, split="train"|"test")
    summary = ""                      # one line; describe() appends the truth it knows

    # ------------------------------------------------------------------ sampling
    def sample(self, n, rng):
        """``n`` independent examples (text: a list of str)."""
        n, rng = check_n(n), check_rng(rng)
        if self.num_classes is not None:
            return self._sample_labelled(n, rng)[0]
        return self._sample(n, rng)

    def sample_labelled(self, n, rng):
        """``(x, y)`` with integer labels ``y`` in ``0..num_classes-1``; the same ``x`` as
        ``sample(n, rng)`` would give from the same generator state."""
        if self.num_classes is None:
            raise DataError(f"dataset {self.name!r} has no labels")
        n, rng = check_n(n), check_rng(rng)
        return self._sample_labelled(n, rng)

    # ------------------------------------------------------------------ truth
    def log_prob(self, x):
        """Exact log-density (continuous) or log-probability (discrete, text) of each
        example, in nats; ``-inf`` off the support."""
        if not self.has_log_prob:
            raise DataError(f"dataset {self.name!r} has no known log_prob")
        return self._log_prob(x)

    def entropy(self):
        """Entropy in nats per example (differential entropy for continuous data)."""
        if not self.has_entropy:
            raise DataError(f"dataset {self.name!r} has no known entropy")
        return float(self._entropy()[0])

    def entropy_error(self):
        """0.0 when ``entropy()`` is exact, else its stated standard error."""
        if not self.has_entropy:
            raise DataError(f"dataset {self.name!r} has no known entropy")
        return float(self._entropy()[1])

    def describe(self):
        """One line: what it is, where it comes from, and which truth it knows."""
        truth = []
        if self.has_log_prob:
            truth.append("exact log_prob")
        if self.has_entropy:
            h, err = self._entropy()
            truth.append(f"entropy {h:.6g} nats" + (" (exact)" if err == 0 else f" (+-{err:.1g})"))
        if not truth:
            truth.append("no known density")
        return f"{self.summary}; {', '.join(truth)}"

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {self.kind}, shape {self.shape}>"

    # subclasses
    def _sample(self, n, rng):
        raise NotImplementedError

    def _sample_labelled(self, n, rng):
        raise NotImplementedError

    def _log_prob(self, x):
        raise NotImplementedError

    def _entropy(self):
        """``(entropy, error)``; cached by subclasses whose entropy takes work."""
        raise NotImplementedError


class DiscreteDataset(Dataset):
    """Finite support given as an explicit table of states and probabilities: sampling is
    an exact inverse-CDF draw, ``log_prob`` a table lookup, the entropy an exact sum."""

    kind = "discrete"
    levels = 2

    def support(self):
        """``(states, probs)``: every state with positive probability, and its probability."""
        states, logp = self._table()
        return states.copy(), np.exp(logp)

    def _table(self):
        """``(states int64 (S, D), log-probabilities (S,))``; cached by subclasses."""
        raise NotImplementedError

    def _sample(self, n, rng):
        states, logp = self._table()
        cdf = np.cumsum(np.exp(logp))
        idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
        return states[np.minimum(idx, len(states) - 1)].copy()

    def _log_prob(self, x):
        states, logp = self._table()
        d = states.shape[1]
        a = np.asarray(x)
        if self.image_shape is not None and a.ndim == 3 and a.shape[1:] == self.image_shape:
            a = a.reshape(len(a), d)
        a = as_array(a, (d,), f"{self.name}.log_prob(x)")
        out = np.full(len(a), -np.inf)
        ok = np.all((a == 0) | (a == 1), axis=1)
        # A binary state is its own index: bit i of the key is x[:, i].
        bits = np.int64(1) << np.arange(d, dtype=np.int64)
        table_keys = states @ bits
        order = np.argsort(table_keys)
        keys = a[ok].astype(np.int64) @ bits
        pos = np.minimum(np.searchsorted(table_keys[order], keys), len(order) - 1)
        found = table_keys[order][pos] == keys
        vals = np.full(len(keys), -np.inf)
        vals[found] = logp[order][pos[found]]
        out[ok] = vals
        return out

    def _entropy(self):
        _, logp = self._table()
        return -math.fsum(np.exp(logp) * logp), 0.0
