"""Two-dimensional toy distributions, each defined so that its density is known.

The usual toy sets are given as sampling recipes; here each recipe is written as a
generative story whose density can be evaluated:

- *Mixtures* (ring8, grid25, gaussians8, pinwheel): K equally likely components, each a
  Gaussian or an invertible warp of one. ``log p(x) = logsumexp_k(log pi_k + log p_k(x))``
  exactly. The entropy has no closed form, but it splits as
  ``H(X) = H(K) + H(X | K) - H(K | X)``: the first two terms are closed form (``log K``
  and one component's entropy) and the overlap term ``H(K | X) = E[-log p(k | x)]`` is a
  smooth expectation under each component, computed by Gauss-Hermite quadrature; its
  stated error is the change from 64 to 128 nodes per axis. For well-separated modes
  (ring8, grid25) ``H(K | X)`` underflows to 0 and the near-closed form
  ``log K + log(2 pi e std^2)`` is the answer to double precision.
- *Curves* (moons, swissroll, spirals): a point ``c(t)`` on a curve, ``t`` drawn from a
  known law ``q(t)``, plus isotropic Gaussian noise. ``p(x) = int q(t) N(x; c(t), s^2 I)
  dt`` is a 1D integral, computed by composite Gauss-Legendre quadrature with panels of
  equal arc length (so every panel sees the same share of the Gaussian bump). The
  entropy ``-int p log p`` is then a 2D integral of a smooth, rapidly decaying function,
  computed by the plain grid (trapezoid) rule at spacing std/2; the stated error is the
  change when both the grid (x1.5) and the panels (x2) are coarsened, which bounds the
  finer rule's own error generously (measured: coarsening changes it by 4e-8..3e-6 nats,
  refining by under 1e-7).
- *checkerboard*: uniform on 8 squares, so everything is exact (entropy ``ln 32``).

Sources: ring8 and grid25 are the PacGAN protocol (Lin et al. 2018, section 5.1:
"2D-ring ... 2D-grid"); gaussians8, checkerboard, moons, swissroll, pinwheel and
spirals ("2spirals") follow the toy data of FFJORD (Grathwohl et al. 2019,
``lib/toy_data.py``), with the changes each class names.
"""

import functools
import math

import numpy as np
from numpy.polynomial.hermite import hermgauss
from numpy.polynomial.legendre import leggauss

from ._kernels import gauss_lse
from .base import Dataset, as_array, logsumexp

LOG_2PI = math.log(2 * math.pi)


def _points(x, name):
    return np.ascontiguousarray(as_array(x, (2,), f"{name}.log_prob(x)"))


# ----------------------------------------------------------------------- mixtures

def _hermite_grid(n):
    """Nodes ``z`` (n*n, 2) and weights with ``E_{z ~ N(0, I)}[g(z)] ~= sum w g(z)``
    (Gauss-Hermite for weight exp(-u^2), rescaled to the standard normal)."""
    u, w = hermgauss(n)
    z = math.sqrt(2.0) * np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
    return z, np.outer(w, w).ravel() / math.pi


class _Mixture(Dataset):
    """K equally likely components, each the image of a standard normal ``z`` under a
    map with constant volume change (so every component has the same entropy).
    Subclasses give the map ``_push``, that entropy, and the log-density (through
    ``_component_logpdf`` or their own ``_log_prob``)."""

    kind = "continuous"
    shape = (2,)
    has_log_prob = True
    has_entropy = True

    def _component_logpdf(self, x):
        """(n, K): ``log p_k(x)`` for every component (without the weight)."""
        raise NotImplementedError

    def _push(self, k, z):
        """A draw of component ``k`` from standard normal ``z`` (n, 2)."""
        raise NotImplementedError

    def _component_entropy(self):
        raise NotImplementedError

    def _sample_labelled(self, n, rng):
        y = rng.integers(0, self.num_classes, size=n)
        z = rng.standard_normal((n, 2))
        x = np.empty((n, 2))
        for k in range(self.num_classes):
            x[y == k] = self._push(k, z[y == k])
        return x, y

    def _log_prob(self, x):
        x = _points(x, self.name)
        return logsumexp(self._component_logpdf(x), axis=1) - math.log(self.num_classes)

    def _overlap(self, n_nodes):
        """``H(K | X) = sum_k pi_k E_{x ~ p_k}[-log p(k | x)]`` by Gauss-Hermite.

        Each component is a volume-scaling map of a standard normal ``z``, so
        ``log p_k(x) = -|z|^2 / 2 + 1 - H(X | K)`` at ``x = push_k(z)``, and
        ``-log p(k | x) = log p(x) + log K - log p_k(x)`` needs only ``log_prob``.
        """
        z, w = _hermite_grid(n_nodes)
        own = -0.5 * (z * z).sum(1) + 1.0 - self._component_entropy()
        total = 0.0
        for k in range(self.num_classes):
            lp = self._log_prob(self._push(k, z))
            total += np.sum(w * (lp + math.log(self.num_classes) - own))
        return total / self.num_classes

    def _entropy(self):
        return _mixture_entropy(type(self))


@functools.cache
def _mixture_entropy(cls):
    ds = cls()
    base = math.log(ds.num_classes) + ds._component_entropy()
    coarse, fine = ds._overlap(64), ds._overlap(128)
    return base - fine, abs(fine - coarse) + 1e-15 * abs(base)


class _GaussianMixture(_Mixture):
    """Isotropic Gaussians of one ``std`` at ``centers``. Both are public attributes:
    the mode metrics of PacGAN read them (scratch_gen.metrics.mode_metrics)."""

    centers = None
    std = None

    @property
    def num_classes(self):
        return len(self.centers)

    def _push(self, k, z):
        return self.centers[k] + self.std * z

    def _component_entropy(self):
        return 1.0 + LOG_2PI + 2 * math.log(self.std)       # log(2 pi e std^2)

    def _log_prob(self, x):
        # logsumexp over the components in one compiled pass, no (n, K) temporary
        x = _points(x, self.name)
        logw = np.full(self.num_classes, -math.log(self.num_classes))
        return (gauss_lse(x, self.centers, logw, 1.0 / (2 * self.std ** 2))
                - LOG_2PI - 2 * math.log(self.std))


class Ring8(_GaussianMixture):
    name = "ring8"
    centers = np.stack([np.cos(2 * np.pi * np.arange(8) / 8),
                        np.sin(2 * np.pi * np.arange(8) / 8)], axis=1)
    std = 0.01
    summary = ("8 Gaussians (std 0.01) at angles 2 pi i/8 on the unit circle, labels = mode "
               "(PacGAN 2D-ring, Lin et al. 2018)")


class Grid25(_GaussianMixture):
    name = "grid25"
    centers = np.array([(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0)
                        for b in (-4.0, -2.0, 0.0, 2.0, 4.0)])
    std = 0.05
    summary = ("25 Gaussians (std 0.05) at {-4,-2,0,2,4}^2, labels = mode "
               "(PacGAN 2D-grid, Lin et al. 2018)")


class Gaussians8(_GaussianMixture):
    """FFJORD's "8gaussians": centres at radius 4 in the 8 compass directions and std 0.5,
    then every point divided by 1.414 (their constant, not sqrt(2)); the modes overlap a
    little, so ``H(K | X)`` = 0.0063 nats is not negligible."""

    name = "gaussians8"
    _dirs = np.array([(1, 0), (-1, 0), (0, 1), (0, -1),
                      (1 / np.sqrt(2), 1 / np.sqrt(2)), (1 / np.sqrt(2), -1 / np.sqrt(2)),
                      (-1 / np.sqrt(2), 1 / np.sqrt(2)), (-1 / np.sqrt(2), -1 / np.sqrt(2))])
    centers = 4.0 * _dirs / 1.414
    std = 0.5 / 1.414
    summary = ("8 Gaussians (std 0.5) at radius 4, all divided by 1.414, labels = mode "
               "(FFJORD toy data, Grathwohl et al. 2019)")


class Pinwheel(_Mixture):
    """FFJORD's pinwheel as an exact change of variables.

    Their recipe: ``f ~ N((1, 0), diag(0.3^2, 0.1^2))``, then rotate ``f`` by
    ``-(2 pi k / 5 + 0.25 exp(f_1))`` and scale by 2. Because the angle depends on the
    coordinate ``f_1`` the map is not one-to-one. We let the angle depend on the radius
    ``|f|`` instead (``|f| - f_1`` is about 0.005 at typical draws): in polar coordinates
    ``(r, phi) -> (r, phi - theta_k(r))`` is a twist, one-to-one with Jacobian 1, so
    ``log p_k(x) = log N(twist_k^{-1}(x / 2)) - log 4`` exactly.
    """

    name = "pinwheel"
    num_classes = 5
    radial_std, tangential_std, rate = 0.3, 0.1, 0.25
    summary = ("5 twisted Gaussian arms, labels = arm (FFJORD pinwheel, Grathwohl et al. "
               "2019, angle driven by the radius so the warp is invertible)")

    def _angle(self, k, r):
        return 2 * np.pi * k / self.num_classes + self.rate * np.exp(r)

    def _push(self, k, z):
        f = np.stack([1.0 + self.radial_std * z[:, 0], self.tangential_std * z[:, 1]], 1)
        r = np.hypot(f[:, 0], f[:, 1])
        phi = np.arctan2(f[:, 1], f[:, 0]) - self._angle(k, r)
        return 2.0 * np.stack([r * np.cos(phi), r * np.sin(phi)], 1)

    def _component_logpdf(self, x):
        u = x / 2.0
        r = np.hypot(u[:, 0], u[:, 1])
        psi = np.arctan2(u[:, 1], u[:, 0])
        out = np.empty((len(x), self.num_classes))
        sr, st = self.radial_std, self.tangential_std
        for k in range(self.num_classes):
            phi = psi + self._angle(k, r)
            a = (r * np.cos(phi) - 1.0) / sr
            b = r * np.sin(phi) / st
            out[:, k] = -0.5 * (a * a + b * b) - LOG_2PI - math.log(sr * st) - math.log(4.0)
        return out

    def _component_entropy(self):
        return 1.0 + LOG_2PI + math.log(self.radial_std * self.tangential_std) + math.log(4.0)


# ----------------------------------------------------------------------- checkerboard

class Checkerboard(Dataset):
    """FFJORD's checkerboard: uniform on the 8 black squares (side 2) of a 4x4 board on
    [-4, 4)^2, area 32, so ``log p = -ln 32`` on the squares and the entropy is ln 32.
    Squares are half-open ``[a, a + 2)`` exactly as the sampler draws them."""

    name = "checkerboard"
    kind = "continuous"
    shape = (2,)
    has_log_prob = True
    has_entropy = True
    summary = ("uniform on the 8 black squares of a 4x4 board on [-4, 4]^2 "
               "(FFJORD toy data, Grathwohl et al. 2019)")

    def _sample(self, n, rng):
        # FFJORD's arithmetic: x1 in [-2, 2); x2 in [-2,-1) u [0,1), moved up by one on
        # odd columns; everything times 2.
        x1 = rng.random(n) * 4 - 2
        x2 = rng.random(n) - rng.integers(0, 2, size=n) * 2
        x2 = x2 + np.floor(x1) % 2
        return np.stack([x1, x2], axis=1) * 2

    def _log_prob(self, x):
        u = _points(x, self.name) / 2
        inside = np.all((u >= -2) & (u < 2), axis=1)
        black = (np.floor(u[:, 0]) + np.floor(u[:, 1])) % 2 == 0
        return np.where(inside & black, -math.log(32.0), -np.inf)

    def _entropy(self):
        return math.log(32.0), 0.0


# ----------------------------------------------------------------------- curves

class _Curve(Dataset):
    """``x = c_a(t) + noise * eps`` on arm ``a`` (equally likely), ``t ~ q_a``. Subclasses
    give ``_point(a, t)``, ``_draw_t(a, n, rng)``, ``_log_q(a, t)`` and ``t_range``."""

    kind = "continuous"
    shape = (2,)
    has_log_prob = True
    has_entropy = True
    arms = 1
    noise = None
    t_range = None
    gl_order = 8
    panel = 0.5             # panel arc length, in units of the noise std
    grid = 0.5              # entropy grid spacing, in units of the noise std
    # Quadrature error of log_prob, measured against 8x finer panels: below 1e-13 nats at
    # the samples and below 1e-9 out to 15 noise stds from the curve (tests check it).
    log_prob_error = 1e-9

    def _point(self, a, t):
        raise NotImplementedError

    def _draw_t(self, a, n, rng):
        raise NotImplementedError

    def _log_q(self, a, t):
        raise NotImplementedError

    # sampling
    def _sample_draws(self, n, rng):
        a = rng.integers(0, self.arms, size=n) if self.arms > 1 else np.zeros(n, np.int64)
        x = np.empty((n, 2))
        for k in range(self.arms):
            t = self._draw_t(k, int((a == k).sum()), rng)
            x[a == k] = self._point(k, t)
        return x + self.noise * rng.standard_normal((n, 2)), a

    def _sample(self, n, rng):
        return self._sample_draws(n, rng)[0]

    def _sample_labelled(self, n, rng):
        return self._sample_draws(n, rng)

    # density
    def _log_prob(self, x):
        centers, logw = _curve_nodes(type(self), self.panel)
        return self._log_prob_nodes(_points(x, self.name), centers, logw)

    def _log_prob_nodes(self, x, centers, logw):
        s = self.noise
        return gauss_lse(x, centers, logw, 1.0 / (2 * s * s)) - LOG_2PI - 2 * math.log(s)

    def _entropy(self):
        return _curve_entropy(type(self))


@functools.cache
def _curve_nodes(cls, panel):
    """Quadrature nodes ``c(t_j)`` and log-weights ``log(w_j q(t_j) / arms)`` for
    ``p(x) = sum_j W_j N(x; c_j, s^2 I)``: composite Gauss-Legendre on panels of equal
    arc length ``panel * noise`` (the exact integral over a panel does not depend on
    where its edges are; equal arc length only spreads the accuracy evenly)."""
    ds = cls()
    u, w = leggauss(ds.gl_order)
    centers, logw = [], []
    for a in range(ds.arms):
        t_fine = np.linspace(*ds.t_range, 20001)
        c = ds._point(a, t_fine)
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
        n_panels = int(math.ceil(s[-1] / (panel * ds.noise)))
        edges = np.interp(np.linspace(0, s[-1], n_panels + 1), s, t_fine)
        mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
        t = (mid[:, None] + half[:, None] * u[None]).ravel()
        wt = (half[:, None] * w[None]).ravel()
        centers.append(ds._point(a, t))
        logw.append(np.log(wt) + ds._log_q(a, t) - math.log(ds.arms))
    return np.ascontiguousarray(np.concatenate(centers)), np.concatenate(logw)


def _grid_entropy(ds, spacing, panel):
    """``-sum p log p h^2`` over a grid covering the curve plus 9 noise stds (the mass
    outside is below 1e-18)."""
    centers, logw = _curve_nodes(type(ds), panel)
    h = spacing * ds.noise
    lo, hi = centers.min(axis=0) - 9 * ds.noise, centers.max(axis=0) + 9 * ds.noise
    gx = np.arange(lo[0], hi[0] + h, h)
    gy = np.arange(lo[1], hi[1] + h, h)
    pts = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    lp = ds._log_prob_nodes(np.ascontiguousarray(pts), centers, logw)
    p = np.exp(lp)
    return -float(np.sum(np.where(p > 0, p * lp, 0.0))) * h * h


@functools.cache
def _curve_entropy(cls):
    ds = cls()
    main = _grid_entropy(ds, ds.grid, ds.panel)
    check = _grid_entropy(ds, ds.grid * 1.5, ds.panel * 2)
    return main, abs(main - check) + ds.log_prob_error


class Moons(_Curve):
    """Two interleaved half circles (scikit-learn's make_moons with noise 0.1), mapped
    by FFJORD's ``x * 2 + (-1, -0.2)``: so radius 2 and noise std 0.2. make_moons spaces
    t evenly on [0, pi]; here ``t ~ U(0, pi)``, its continuous version."""

    name = "moons"
    arms = 2
    num_classes = 2
    noise = 0.2
    t_range = (0.0, math.pi)
    summary = ("two half circles of radius 2 plus N(0, 0.2^2) noise, labels = moon "
               "(make_moons as in FFJORD toy data)")

    def _point(self, a, t):
        if a == 0:
            return np.stack([2 * np.cos(t) - 1, 2 * np.sin(t) - 0.2], 1)
        return np.stack([1 - 2 * np.cos(t), 0.8 - 2 * np.sin(t)], 1)

    def _draw_t(self, a, n, rng):
        return rng.random(n) * math.pi

    def _log_q(self, a, t):
        return np.full(t.shape, -math.log(math.pi))


class Swissroll(_Curve):
    """scikit-learn's make_swiss_roll (noise 1.0) as FFJORD uses it: coordinates (0, 2),
    divided by 5: ``(t cos t, t sin t) / 5``, ``t ~ U(1.5 pi, 4.5 pi)``, noise std 0.2."""

    name = "swissroll"
    noise = 0.2
    t_range = (1.5 * math.pi, 4.5 * math.pi)
    summary = ("(t cos t, t sin t)/5, t ~ U(1.5 pi, 4.5 pi), plus N(0, 0.2^2) noise "
               "(make_swiss_roll as in FFJORD toy data)")

    def _point(self, a, t):
        return np.stack([t * np.cos(t), t * np.sin(t)], 1) / 5

    def _draw_t(self, a, n, rng):
        return rng.uniform(1.5 * math.pi, 4.5 * math.pi, size=n)

    def _log_q(self, a, t):
        return np.full(t.shape, -math.log(3 * math.pi))


class Spirals(_Curve):
    """FFJORD's "2spirals": ``n = 3 pi sqrt(u)`` (so ``q(n) = 2n / (3 pi)^2`` on
    [0, 3 pi]), the point ``(-n cos n, n sin n) / 3`` or its mirror image, plus
    N(0, 0.1^2) noise. FFJORD also adds uniform jitter in [0, 0.5/3) to each coordinate
    before the Gaussian; we leave it out so the density stays a single integral."""

    name = "spirals"
    arms = 2
    num_classes = 2
    noise = 0.1
    t_range = (0.0, 3 * math.pi)
    summary = ("two interleaved spirals (-n cos n, n sin n)/3, n = 3 pi sqrt(u), plus "
               "N(0, 0.1^2) noise, labels = arm (FFJORD 2spirals)")

    def _point(self, a, t):
        sign = 1.0 if a == 0 else -1.0
        return sign * np.stack([-t * np.cos(t), t * np.sin(t)], 1) / 3

    def _draw_t(self, a, n, rng):
        return 3 * math.pi * np.sqrt(rng.random(n))

    def _log_q(self, a, t):
        with np.errstate(divide="ignore"):
            return np.log(2 * t) - 2 * math.log(3 * math.pi)


DATASETS_2D = {c.name: c for c in (Ring8, Grid25, Gaussians8, Checkerboard, Moons,
                                   Swissroll, Pinwheel, Spirals)}
