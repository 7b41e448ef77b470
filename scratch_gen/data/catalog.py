"""The names of the built-in datasets, and ``load``: one door for names and files."""

import os

import numpy as np

from .base import DataError, check_n
from .conditional import DATASETS_CONDITIONAL
from .discrete import DATASETS_DISCRETE
from .files import FileData, load_path
from .images import DATASETS_IMAGES
from .real import DATASETS_REAL
from .text import DATASETS_TEXT
from .toy2d import DATASETS_2D

DATASETS = {**DATASETS_2D, **DATASETS_DISCRETE, **DATASETS_TEXT, **DATASETS_IMAGES,
            **DATASETS_REAL, **DATASETS_CONDITIONAL}


def names():
    """Built-in dataset names, in catalogue order (2D, discrete, text, images, real)."""
    return list(DATASETS)


def get(name):
    """A new instance of the built-in dataset ``name`` (heavy tables are cached per
    process, so instances are cheap)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]()


def load(name_or_path, test_path=None, seed=0, n_train=None, n_test=None):
    """``(train, test, dataset_or_None)``, both splits as FileData.

    A built-in name is sampled: train from ``default_rng(SeedSequence(seed).spawn(2)[0])``
    and test from the second child, so the two are independent and the same seed gives
    the same data. Default sizes are ``dataset.default_sizes``: 10,000 / 2,000 for most,
    5,000 / 1,000 for river, 5,000 / 500 for pydoc; the real pools (eeg, mri) return
    each split whole (shuffled) unless sizes are given, and then draw from the split.

    A path is read by ``load_path`` (seeded 90/10 split unless ``test_path``);
    ``n_train`` / ``n_test`` then keep the first examples of each split.
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        if test_path is not None:
            raise DataError(f"--test-data {test_path}: the built-in dataset {name_or_path!r} "
                            "makes its own test set; --test-data goes with a file")
        ds = get(name_or_path)
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
        sizes = ds.default_sizes or (None, None)
        splits = [_draw(ds, n if n is not None else d, rng, split)
                  for n, d, rng, split in zip((n_train, n_test), sizes, rngs, ("train", "test"))]
        return splits[0], splits[1], ds
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise DataError(f"data {name_or_path!r}: expected a dataset name or a path")
    if not os.path.exists(name_or_path):
        raise DataError(f"{name_or_path}: neither a built-in dataset nor an existing file; "
                        f"built-in: {', '.join(DATASETS)}")
    train, test = load_path(name_or_path, test_path, seed)
    return _first(train, n_train, "n_train"), _first(test, n_test, "n_test"), None


def _draw(ds, n, rng, split):
    y = None
    if ds.has_splits:
        if n is None:
            pool = ds.pool(split)
            order = rng.permutation(len(pool))
            x = [pool[i] for i in order] if ds.kind == "text" else pool[order]
        else:
            x = ds.sample(n, rng, split=split)
    elif ds.num_classes is not None:
        x, y = ds.sample_labelled(n, rng)
    else:
        x = ds.sample(n, rng)
    vocab = ds.vocab() if ds.kind == "text" else None
    return FileData(x, y, ds.kind, ds.shape, ds.levels, ds.num_classes, ds.name, vocab)


def _first(data, n, what):
    if n is None:
        return data
    if check_n(n) > len(data):
        raise DataError(f"{what}={n}: {data.name} has only {len(data)} examples in this split")
    return data.take(np.arange(n))
