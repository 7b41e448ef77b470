"""Enumerable binary sets: exact tables, exact samplers."""

import math

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data.discrete import all_binary_states

NAMES = ["ising", "bars_stripes", "heartbeat"]


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", NAMES)
def test_support_is_a_distribution(name):
    ds = data.get(name)
    states, probs = ds.support()
    assert states.dtype == np.int64 and states.shape[1:] == ds.shape
    assert set(np.unique(states)) <= {0, 1}
    assert len(np.unique(states, axis=0)) == len(states)
    assert (probs > 0).all()
    assert abs(math.fsum(probs) - 1.0) < 1e-12
    assert ds.entropy() == pytest.approx(-math.fsum(probs * np.log(probs)), abs=1e-12)
    assert ds.entropy_error() == 0.0
    np.testing.assert_allclose(ds.log_prob(states), np.log(probs), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_samples_follow_the_table(name):
    ds = data.get(name)
    x = ds.sample(20_000, rng(1))
    assert x.dtype == np.int64 and x.shape == (20_000,) + ds.shape
    np.testing.assert_array_equal(x, ds.sample(20_000, rng(1)))
    lp = ds.log_prob(x)
    assert np.isfinite(lp).all()
    se = lp.std(ddof=1) / math.sqrt(len(lp))
    assert abs(-lp.mean() - ds.entropy()) <= 4 * se + 1e-12
    # the most likely states turn up as often as they should (4 binomial std errors)
    states, probs = ds.support()
    top = np.argsort(probs)[::-1][:5]
    for i in top:
        freq = np.all(x == states[i], axis=1).mean()
        assert abs(freq - probs[i]) < 4 * math.sqrt(probs[i] * (1 - probs[i]) / len(x)) + 1e-12


def test_named_entropies():
    assert data.get("bars_stripes").entropy() == pytest.approx(math.log(30), abs=1e-15)
    assert data.get("heartbeat").entropy() == pytest.approx(math.log(5), abs=1e-15)
    assert len(data.get("bars_stripes").support()[0]) == 30
    assert len(data.get("ising").support()[0]) == 2 ** 16


def test_bars_and_stripes_are_what_they_say():
    states, _ = data.get("bars_stripes").support()
    imgs = states.reshape(-1, 4, 4)
    cols_const = (imgs == imgs[:, :1, :]).all(axis=(1, 2))
    rows_const = (imgs == imgs[:, :, :1]).all(axis=(1, 2))
    assert (cols_const | rows_const).all()
    assert cols_const.sum() == 16 and rows_const.sum() == 16
    assert (cols_const & rows_const).sum() == 2


def test_heartbeat_pulses_every_five_bits():
    states, _ = data.get("heartbeat").support()
    assert (states.sum(1) == 4).all()
    for s in states:
        on = np.flatnonzero(s)
        assert (np.diff(on) == 5).all()


def test_ising_energy_is_the_stated_hamiltonian():
    ds = data.get("ising")
    x = rng(2).integers(0, 2, size=(50, 16))
    for row, e in zip(x, ds.energy(x)):
        s = 2 * row.reshape(4, 4) - 1
        bonds = sum(s[i, j] * s[i + 1, j] for i in range(3) for j in range(4))
        bonds += sum(s[i, j] * s[i, j + 1] for i in range(4) for j in range(3))
        assert e == pytest.approx(-(ds.J * bonds + ds.h * s.sum()), abs=1e-12)
    states = all_binary_states(16)
    log_z = np.log(np.exp(-ds.energy(states)).sum())
    assert ds.log_partition() == pytest.approx(log_z, abs=1e-10)
    # ordered domains: the two uniform images carry several percent of the mass
    _, probs = ds.support()
    assert 0.03 < probs[0] + probs[-1] < 0.2


def test_log_prob_off_support_and_image_shapes():
    bs = data.get("bars_stripes")
    checker = (np.indices((4, 4)).sum(0) % 2).reshape(1, 16)
    assert bs.log_prob(checker)[0] == -np.inf
    assert bs.log_prob(checker * 2)[0] == -np.inf                   # not binary
    states, _ = bs.support()
    np.testing.assert_allclose(bs.log_prob(states.reshape(-1, 4, 4)), -math.log(30))
    hb = data.get("heartbeat")
    assert hb.log_prob(np.zeros((1, 20)))[0] == -np.inf
    with pytest.raises(data.DataError, match="shape"):
        hb.log_prob(np.zeros((1, 16)))
