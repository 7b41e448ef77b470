"""A conditional dataset whose truth p(x|y) is known: one input, two right answers.

He L1, "What do these scenarios have in common?": "there are multiple or infinite
predictions to one input; some predictions are more plausible than some others". The
smallest picture of that is a robot in front of an obstacle, the toy of diffusion policy
(Chi et al. 2023, "Diffusion Policy", figure 3: pushing a T around, the demonstrations go
left or right and a regression policy averages them): from its start position y the
agent steps to a waypoint x that passes the obstacle on the left or on the right. Both
are right; their average is a crash.

The story, with every number a class attribute:

- the obstacle is a disk of radius ``obstacle_radius`` at the origin; the agent starts
  below it, at ``(s, -2)``;
- the start ``s`` is one of ``starts`` (-1, -0.5, 0, 0.5, 1), equally likely; its index
  is the label y (``num_classes = 5``). The truth below is written for any real ``s``
  in [-1, 1] (``*_at_start`` methods): the conditional chapter also trains every
  method on the start as a number and scores it at starts never seen in training
  (``scratch_gen.conditional.chapter.run_obstacle_continuous``);
- given s, the waypoint is a mixture of two isotropic Gaussians (std ``std``):
  ``p(x | s) = w_L(s) N(x; mu_L(s), std^2 I) + w_R(s) N(x; mu_R(s), std^2 I)`` with
  ``mu_L(s) = (-1.2 + 0.15 s, 0.2 s)``, ``mu_R(s) = (1.2 + 0.15 s, -0.2 s)`` and
  ``w_R(s) = 0.5 + 0.15 s``: starting on the right makes "right" more plausible, never
  certain (weights 0.35..0.65).

The conditional mean ``E[x | s] = w_L mu_L + w_R mu_R`` lies inside the obstacle for
every start (``crash_margin`` tells by how much): what a regressor trained with
mean-squared error converges to (the minimizer of ``E||x - f(y)||^2`` is ``E[x|y]``).

Truth: ``log_prob_given(x, y)`` exactly; ``log_prob(x)`` of the marginal ``p(x) = 1/5
sum_y p(x|y)`` exactly; entropies ``H(X|Y)`` and ``H(X)`` by the split ``H(X|K) + H(K) -
H(K|X)`` over mixture components K (closed form for the first two; the overlap term by
Gauss-Hermite quadrature, its stated error the change from 48 to 96 nodes per axis).
The two modes of one start are 24 std apart, so for ``H(X|Y)`` the overlap term is 0 to
double precision; the marginal's components of neighbouring starts are 1.25 std apart
and do overlap.
"""

import functools
import math

import numpy as np
from numpy.polynomial.hermite import hermgauss

from .base import DataError, Dataset, as_array, check_rng, logsumexp

LOG_2PI = math.log(2 * math.pi)


class Obstacle(Dataset):
    """Waypoints around an obstacle from five start positions (see the module docstring)."""

    name = "obstacle"
    kind = "continuous"
    shape = (2,)
    num_classes = 5
    has_log_prob = True
    has_entropy = True
    starts = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    start_height = -2.0
    obstacle_center = np.array([0.0, 0.0])
    obstacle_radius = 0.7
    std = 0.1
    summary = ("2D waypoints around a disk obstacle from 5 start positions (labels), left or "
               "right of it: a known two-mode p(x|y) (diffusion-policy toy, Chi et al. 2023)")

    # ------------------------------------------------------------------ the truth
    @staticmethod
    def _start(s):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim > 1 or not np.isfinite(s).all() or (np.abs(s) > 1).any():
            raise DataError(f"obstacle start s={s!r}: expected numbers in [-1, 1]")
        return np.atleast_1d(s)

    def modes_at_start(self, s):
        """``(centers (n, 2, 2), weights (n, 2))`` of ``p(x|s)``: left then right."""
        s = self._start(s)
        left = np.stack([-1.2 + 0.15 * s, 0.2 * s], axis=-1)
        right = np.stack([1.2 + 0.15 * s, -0.2 * s], axis=-1)
        w_right = 0.5 + 0.15 * s
        return np.stack([left, right], axis=1), np.stack([1.0 - w_right, w_right], axis=1)

    def _label(self, y, n=None):
        y = np.asarray(y)
        if y.ndim > 1 or y.dtype.kind not in "biu" or (y.size and (y.min() < 0 or
                                                                  y.max() >= self.num_classes)):
            raise DataError(f"obstacle labels y: expected integers in 0..{self.num_classes - 1}, "
                            f"got {y!r}")
        y = np.atleast_1d(y).astype(np.int64)
        if n is not None and len(y) == 1 and n != 1:
            y = np.full(n, y[0])
        if n is not None and len(y) != n:
            raise DataError(f"obstacle labels y: {len(y)} labels for {n} points")
        return y

    def modes(self, y):
        """``(centers (n, 2, 2), weights (n, 2))`` of ``p(x | y)`` for labels ``y``."""
        return self.modes_at_start(self.starts[self._label(y)])

    def conditional_mean(self, y):
        """``E[x | y]`` (n, 2): the best prediction under squared error, and a crash."""
        c, w = self.modes(y)
        return (w[:, :, None] * c).sum(axis=1)

    def crash_margin(self, x):
        """``radius - distance to the obstacle's centre``: positive inside the obstacle."""
        x = as_array(x, (2,), "obstacle.crash_margin(x)")
        return self.obstacle_radius - np.linalg.norm(x - self.obstacle_center, axis=1)

    def log_prob_at_start(self, x, s):
        """``log p(x | s)`` for real starts ``s`` (one per point, or one for all)."""
        x = np.ascontiguousarray(as_array(x, (2,), "obstacle.log_prob_given(x)"))
        s = self._start(s)
        if len(s) == 1 and len(x) != 1:
            s = np.full(len(x), s[0])
        if len(s) != len(x):
            raise DataError(f"obstacle: {len(s)} starts for {len(x)} points")
        c, w = self.modes_at_start(s)
        d2 = ((x[:, None, :] - c) ** 2).sum(-1)
        with np.errstate(divide="ignore"):
            lw = np.log(w)
        comp = lw - 0.5 * d2 / self.std ** 2 - LOG_2PI - 2.0 * math.log(self.std)
        return logsumexp(comp, axis=1)

    def log_prob_given(self, x, y):
        """``log p(x | y)`` in nats, exact: the conditional density the chapter scores
        every model against."""
        x = as_array(x, (2,), "obstacle.log_prob_given(x)")
        return self.log_prob_at_start(x, self.starts[self._label(y, len(x))])

    def _log_prob(self, x):
        """The marginal ``log p(x) = log (1/5) sum_y p(x | y)``."""
        x = np.ascontiguousarray(as_array(x, (2,), "obstacle.log_prob(x)"))
        k = self.num_classes
        per = np.stack([self.log_prob_given(x, np.full(len(x), y)) for y in range(k)], axis=1)
        return logsumexp(per, axis=1) - math.log(k)

    def sample_given(self, y, rng):
        """One waypoint per label in ``y``: pick left/right by its weight, then the
        Gaussian around that side's centre."""
        rng = check_rng(rng)
        y = self._label(y)
        c, w = self.modes(y)
        right = rng.random(len(y)) < w[:, 1]
        side = c[np.arange(len(y)), right.astype(np.int64)]
        return side + self.std * rng.standard_normal((len(y), 2))

    def _sample_labelled(self, n, rng):
        y = rng.integers(0, self.num_classes, size=n)
        return self.sample_given(y, rng), y

    # ------------------------------------------------------------------ entropies
    def _components(self, labels):
        """Centres (M, 2) and weights (M,) of the mixture over ``labels`` (equal prior)."""
        c, w = self.modes(np.asarray(labels))
        return c.reshape(-1, 2), (w / len(labels)).reshape(-1)

    def _mixture_entropy(self, centers, weights, nodes):
        """``H = H(X|K) + H(K) - H(K|X)`` for an isotropic Gaussian mixture; the overlap
        term ``E[-log p(k | x)]`` by Gauss-Hermite quadrature under each component."""
        u, g = hermgauss(nodes)
        z = math.sqrt(2.0) * np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
        gw = np.outer(g, g).ravel() / math.pi
        keep = weights > 0
        centers, weights = centers[keep], weights[keep]
        lw = np.log(weights)
        overlap = 0.0
        for k in range(len(centers)):
            x = centers[k] + self.std * z
            d2 = ((x[:, None, :] - centers[None]) ** 2).sum(-1)
            comp = lw - 0.5 * d2 / self.std ** 2
            log_post_k = comp[:, k] - logsumexp(comp, axis=1)
            overlap += weights[k] * float(-(gw * log_post_k).sum())
        h_given_k = 1.0 + LOG_2PI + 2.0 * math.log(self.std)
        h_k = float(-(weights * lw).sum())
        return h_given_k + h_k - overlap

    @functools.cache
    def _entropies(self):
        k = self.num_classes
        out = {}
        for nodes in (48, 96):
            marginal = self._mixture_entropy(*self._components(np.arange(k)), nodes)
            per = [self._mixture_entropy(*self._components([y]), nodes) for y in range(k)]
            out[nodes] = (marginal, np.array(per))
        (m1, p1), (m2, p2) = out[48], out[96]
        return m2, abs(m2 - m1), p2, float(np.abs(p2 - p1).max())

    def _entropy(self):
        h, err, _, _ = self._entropies()
        return h, err

    def entropy_given(self, y):
        """``H(X | Y = y)`` in nats for each label (a float for a scalar label)."""
        per = self._entropies()[2]
        scalar = np.ndim(y) == 0
        out = per[self._label(y)]
        return float(out[0]) if scalar else out

    def conditional_entropy(self):
        """``H(X | Y) = 1/5 sum_y H(X | Y = y)``: the floor of every model's conditional
        NLL on this data (its conditional NLL minus this is its expected KL to p(x|y))."""
        return float(self._entropies()[2].mean())

    def conditional_entropy_error(self):
        return self._entropies()[3]


DATASETS_CONDITIONAL = {"obstacle": Obstacle}
