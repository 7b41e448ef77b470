"""Binary datasets small enough to enumerate: every probability is exact, sampling is an
exact inverse-CDF draw over the enumerated states (no MCMC), and the entropy is a sum.

They are the test bed of the energy-based models (Isola L14, "Energy-based models":
``p(x) = exp(-E(x)) / Z``): with 2^16 states even Z can be summed, so a learned model's
log Z, its samples and its KL to the truth can all be checked exactly.
"""

import functools
import math

import numpy as np

from .base import DiscreteDataset, logsumexp


def all_binary_states(d):
    """int64 (2^d, d): row ``i`` holds the bits of ``i``, least significant first."""
    return (np.arange(1 << d, dtype=np.int64)[:, None] >> np.arange(d)) & 1


class Ising(DiscreteDataset):
    """A 4x4 Ising model with free boundaries, written on 0/1 pixels ``x = (s + 1) / 2``:

        p(s) = exp(J sum_<ij> s_i s_j + h sum_i s_i) / Z,   s_i in {-1, +1},

    summed over the 24 nearest-neighbour bonds. J = 0.4 sits just below the infinite
    lattice's critical coupling ln(1 + sqrt 2)/2 = 0.4407, so samples show ordered domains
    of all sizes (7% of the mass is on the two uniform images) rather than noise or two
    flat images; the field h = 0.05 breaks the +/- symmetry a little, so a model must
    learn that ink is slightly more likely. Z sums all 2^16 = 65,536 states.
    """

    name = "ising"
    shape = (16,)
    image_shape = (4, 4)
    has_log_prob = True
    has_entropy = True
    J = 0.4
    h = 0.05
    summary = ("4x4 Ising model, free boundaries, J=0.4, h=0.05 on 0/1 pixels; exact "
               "sampling and Z by enumerating 2^16 states")

    def energy(self, x):
        """``-(J sum s_i s_j + h sum s_i)`` of 0/1 states (n, 16); log p = -energy - log Z."""
        s = 2 * np.asarray(x, dtype=np.int64).reshape(-1, 4, 4) - 1
        bonds = (s[:, 1:, :] * s[:, :-1, :]).sum((1, 2)) + (s[:, :, 1:] * s[:, :, :-1]).sum((1, 2))
        return -(self.J * bonds + self.h * s.sum((1, 2)))

    def log_partition(self):
        """log Z, summed over all 2^16 states."""
        return _ising_table()[2]

    def _table(self):
        return _ising_table()[:2]


@functools.cache
def _ising_table():
    states = all_binary_states(16)
    logits = -Ising().energy(states)
    log_z = float(logsumexp(logits, axis=0))
    return states, logits - log_z, log_z


class BarsStripes(DiscreteDataset):
    """Bars and stripes on 4x4 (MacKay, *Information Theory, Inference, and Learning
    Algorithms*, 2003; a standard test of Boltzmann machines): every column on or off
    (2^4 bar patterns) or every row on or off (2^4 stripe patterns). All-off and all-on
    are both, so there are 2^4 + 2^4 - 2 = 30 distinct images. We make them equally
    likely (entropy ln 30); the classic recipe "pick bars or stripes, then the bits"
    would give the two shared images twice the probability of the others."""

    name = "bars_stripes"
    shape = (16,)
    image_shape = (4, 4)
    has_log_prob = True
    has_entropy = True
    summary = "4x4 bars and stripes: 30 distinct images, uniform (entropy ln 30)"

    def _table(self):
        return _bars_stripes_table()


@functools.cache
def _bars_stripes_table():
    masks = all_binary_states(4)                                       # (16, 4)
    bars = np.repeat(masks[:, None, :], 4, axis=1)                     # columns on/off
    stripes = np.repeat(masks[:, :, None], 4, axis=2)                  # rows on/off
    states = np.unique(np.concatenate([bars, stripes]).reshape(-1, 16), axis=0)
    assert len(states) == 30
    return states, np.full(len(states), -math.log(len(states)))


class Heartbeat(DiscreteDataset):
    """A 20-bit sequence with one pulse every 5 bits at a uniformly random phase:
    ``x_i = 1`` iff ``i mod 5 = phase``. Five states, entropy ln 5; every pair of bits 5
    apart is equal, so a sequence model must carry the phase a long way."""

    name = "heartbeat"
    shape = (20,)
    has_log_prob = True
    has_entropy = True
    period = 5
    summary = "20-bit sequences, a pulse every 5 bits at a random phase (5 states, entropy ln 5)"

    def _table(self):
        return _heartbeat_table()


@functools.cache
def _heartbeat_table():
    phase = np.arange(Heartbeat.period)
    states = (np.arange(20)[None, :] % Heartbeat.period == phase[:, None]).astype(np.int64)
    return states, np.full(len(states), -math.log(len(states)))


DATASETS_DISCRETE = {c.name: c for c in (Ising, BarsStripes, Heartbeat)}
