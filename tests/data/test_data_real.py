"""matplotlib's sample recordings: shapes, splits, and a clear error when missing."""

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data import real


def rng(seed=0):
    return np.random.default_rng(seed)


def test_eeg_windows_split_by_time_and_standardized_on_train():
    ds = data.get("eeg")
    train, test = ds.pool("train"), ds.pool("test")
    assert train.shape == (4 * (720 - 31), 32) and test.shape == (4 * (80 - 31), 32)
    assert train.dtype == np.float64
    per_channel = train.reshape(4, -1, 32)[:, :, 0]                # first sample of each window
    np.testing.assert_allclose(per_channel.mean(1), 0, atol=0.15)
    # consecutive windows of one channel are the series shifted by one step
    np.testing.assert_array_equal(train[1, :-1], train[0, 1:])
    x = ds.sample(100, rng(1), split="test")
    assert x.shape == (100, 32) and all((test == row).all(1).any() for row in x)
    assert not ds.has_log_prob


def test_mri_patches_are_unit_range_and_split_by_tile():
    ds = data.get("mri")
    train, test = ds.pool("train"), ds.pool("test")
    assert train.dtype == np.float32 and train.shape[1:] == (8, 8)
    assert len(test) == 3 * 625 and len(train) > 10_000
    for part in (train, test):
        assert part.min() >= 0 and part.max() <= 1 and (part.mean((1, 2)) >= 0.05).all()
    im = ds.image()
    assert im.shape == (256, 256) and im.max() == 1.0
    x = ds.sample(50, rng(2), split="train")
    assert x.shape == (50, 8, 8)


def test_missing_sample_file_is_one_clear_line(monkeypatch):
    from matplotlib import cbook

    def missing(fname, asfileobj=True):
        raise OSError("gone")

    monkeypatch.setattr(cbook, "get_sample_data", missing)
    with pytest.raises(data.DataError, match="eeg.dat") as e:
        real.sample_file("eeg.dat")
    assert "\n" not in str(e.value)
