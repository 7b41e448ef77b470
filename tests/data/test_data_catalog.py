"""The catalogue: every built-in dataset keeps the shared contract, and ``load`` works
the same for names and files."""

import math
import subprocess
import sys

import numpy as np
import pytest

from scratch_gen import data
from scratch_gen.data.base import KINDS

EXPECTED = ["ring8", "grid25", "gaussians8", "checkerboard", "moons", "swissroll",
            "pinwheel", "spirals", "ising", "bars_stripes", "heartbeat", "stories", "pydoc",
            "river", "glyphs", "eeg", "mri"]


def test_names_and_get():
    assert set(EXPECTED) <= set(data.names()) and set(data.names()) == set(data.DATASETS)
    with pytest.raises(data.DataError, match="unknown dataset 'nope'.*ring8.*mri"):
        data.get("nope")


@pytest.mark.parametrize("name", EXPECTED)
def test_every_dataset_keeps_the_contract(name):
    ds = data.get(name)
    assert ds.name == name and ds.kind in KINDS
    assert isinstance(ds.shape, tuple) and (ds.kind == "text") == (ds.shape == ())
    line = ds.describe()
    assert isinstance(line, str) and line and "\n" not in line
    x = ds.sample(7, np.random.default_rng(0))
    again = ds.sample(7, np.random.default_rng(0))
    if ds.kind == "text":
        assert x == again and len(x) == 7
    else:
        assert x.shape == (7,) + ds.shape
        np.testing.assert_array_equal(x, again)
        if ds.levels is not None:
            assert x.dtype == np.int64 and x.min() >= 0 and x.max() < ds.levels
    empty = ds.sample(0, np.random.default_rng(0))
    assert len(empty) == 0
    if ds.has_entropy:
        assert math.isfinite(ds.entropy()) and ds.entropy_error() >= 0
        assert np.isfinite(ds.log_prob(x)).all()
    else:
        with pytest.raises(data.DataError, match="entropy"):
            ds.entropy()
    if not ds.has_log_prob:
        with pytest.raises(data.DataError, match="log_prob"):
            ds.log_prob(x)
    if ds.num_classes is None:
        with pytest.raises(data.DataError, match="no labels"):
            ds.sample_labelled(3, np.random.default_rng(0))


def test_randomness_only_through_a_generator():
    ds = data.get("moons")
    with pytest.raises(data.DataError, match="Generator"):
        ds.sample(3, 0)
    with pytest.raises(data.DataError, match="n=-1"):
        ds.sample(-1, np.random.default_rng(0))


def test_load_builtin_is_seeded_with_independent_splits():
    train, test, ds = data.load("moons", seed=3, n_train=500, n_test=100)
    assert ds.name == "moons" and train.x.shape == (500, 2) and test.x.shape == (100, 2)
    assert train.y is not None and train.num_classes == 2 and train.kind == "continuous"
    again, _, _ = data.load("moons", seed=3, n_train=500, n_test=100)
    np.testing.assert_array_equal(train.x, again.x)
    other, _, _ = data.load("moons", seed=4, n_train=500, n_test=100)
    assert not np.array_equal(train.x, other.x)
    assert not np.array_equal(train.x[:100], test.x)
    tr, te, _ = data.load("ising")
    assert (len(tr), len(te)) == data.get("ising").default_sizes


def test_load_builtin_text_and_pools():
    train, test, _ = data.load("stories", n_train=50, n_test=10)
    assert train.kind == "text" and train.shape == () and len(train.x) == 50
    train.vocab.encode(train.x + test.x)
    tr, te, ds = data.load("mri")
    assert len(tr) == len(ds.pool("train")) and len(te) == len(ds.pool("test"))
    assert tr.kind == "image" and tr.shape == (8, 8)
    tr, te, _ = data.load("pydoc", n_train=20, n_test=5)
    assert len(tr.x) == 20 and not set(te.x) & set(data.get("pydoc").pool("train"))


def test_load_path_and_its_sizes(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(40.0).reshape(20, 2))
    train, test, ds = data.load(str(tmp_path / "x.npy"), n_train=5)
    assert ds is None and len(train) == 5 and len(test) == 2
    with pytest.raises(data.DataError, match="n_test=9"):
        data.load(str(tmp_path / "x.npy"), n_test=9)
    with pytest.raises(data.DataError, match="test set"):
        data.load("ring8", test_path=str(tmp_path / "x.npy"))
    with pytest.raises(data.DataError, match="neither a built-in dataset"):
        data.load(str(tmp_path / "missing.npy"))


def test_data_package_does_not_import_the_engine():
    code = "import sys, scratch_gen.data; assert 'autograd' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
