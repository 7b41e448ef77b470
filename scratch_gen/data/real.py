"""Real measurements that ship inside a dependency: matplotlib's sample data.

No truth is known for them, so they measure models against each other, not against
the best possible. Both are fixed pools, so train and test are cut from different parts
of the recording (time for the EEG, regions of the image for the MRI) and never share
a sample or a pixel; ``sample(n, rng, split=...)`` draws with replacement from a split,
and ``pool(split)`` returns it whole.
"""

import functools
import gzip
import os

import numpy as np

from .base import DataError, Dataset, check_n, check_rng


def sample_file(fname):
    """Path of one of matplotlib's sample files, or a DataError (nothing is downloaded)."""
    import matplotlib
    from matplotlib import cbook
    try:
        path = cbook.get_sample_data(fname, asfileobj=False)
    except (OSError, ValueError):
        path = None
    if path is None or not os.path.isfile(path):
        raise DataError(f"matplotlib {matplotlib.__version__} does not ship the sample file "
                        f"{fname} (looked in {matplotlib.get_data_path()}/sample_data)")
    return path


class _Pool(Dataset):
    has_splits = True
    default_sizes = None          # data.load takes each split whole

    def sample(self, n, rng, split=None):
        n, rng = check_n(n), check_rng(rng)
        pool = self.pool(split)
        return pool[rng.integers(0, len(pool), size=n)]

    def pool(self, split=None):
        """Every example of ``split`` ("train", "test", or None for both), a new array."""
        if split not in ("train", "test", None):
            raise DataError(f"split={split!r}: expected 'train', 'test' or None")
        train, test = self._pools()
        if split is None:
            return np.concatenate([train, test])
        return (train if split == "train" else test).copy()


class EEG(_Pool):
    """Windows of matplotlib's ``eeg.dat``: 4 channels x 800 samples (float64, 10 s at
    80 Hz in matplotlib's "MRI with EEG" example). Each example is 32 consecutive samples
    of one channel, standardized with that channel's mean and std over the training part.
    Train windows lie in the first 720 samples (2,756 windows), test windows in the last
    80 (196 windows); windows within a split overlap (stride 1).

    Standardizing per window instead would pin every window's mean and norm, leaving the
    data on a lower-dimensional surface that no density in R^32 can fit.
    """

    name = "eeg"
    kind = "continuous"
    shape = (32,)
    n_channels, n_samples, split_at = 4, 800, 720
    summary = ("32-sample windows of matplotlib's 4-channel EEG recording (eeg.dat), "
               "standardized per channel; test = last 10% of the recording")

    def _pools(self):
        return _eeg_pools()


@functools.cache
def _eeg_pools():
    raw = np.fromfile(sample_file("eeg.dat"), dtype=np.float64)
    if raw.size != EEG.n_channels * EEG.n_samples:
        raise DataError(f"eeg.dat holds {raw.size} numbers, expected "
                        f"{EEG.n_channels * EEG.n_samples}")
    series = raw.reshape(EEG.n_samples, EEG.n_channels).T          # (channel, time)
    head = series[:, :EEG.split_at]
    series = (series - head.mean(axis=1, keepdims=True)) / head.std(axis=1, keepdims=True)
    w = EEG.shape[0]

    def windows(part):
        idx = np.arange(part.shape[1] - w + 1)[:, None] + np.arange(w)
        return part[:, idx].reshape(-1, w)

    return windows(series[:, :EEG.split_at]), windows(series[:, EEG.split_at:])


class MRI(_Pool):
    """8x8 patches of matplotlib's sample MRI slice ``s1045.ima.gz`` (256 x 256, uint16,
    divided by its maximum 55,040 so pixels lie in [0, 1]; float32, kind "image").

    The image is cut into 32 x 32 tiles; patches lie inside one tile (625 positions per
    tile) and are kept when their mean is at least 0.05, so background is left out.
    Tiles with mean above 0.1 (29 of 64, all inside the head) are numbered in raster
    order, and those numbered 5, 15, 25 hold the test patches; the rest are training.
    The pixel values are multiples of 1/55,040 (really 12-bit steps): a continuous
    density model should dequantize them.
    """

    name = "mri"
    kind = "image"
    shape = (8, 8)
    tile = 32
    summary = ("8x8 patches of matplotlib's sample MRI slice (s1045.ima.gz), values in "
               "[0, 1]; test = patches from 3 held-out 32x32 tiles")

    def _pools(self):
        return _mri_pools()

    def image(self):
        """The whole slice, float32 (256, 256) in [0, 1]."""
        return _mri_image().copy()


@functools.cache
def _mri_image():
    with gzip.open(sample_file("s1045.ima.gz"), "rb") as f:
        raw = f.read()
    if len(raw) != 256 * 256 * 2:
        raise DataError(f"s1045.ima.gz holds {len(raw)} bytes, expected {256 * 256 * 2}")
    im = np.frombuffer(raw, dtype="<u2").reshape(256, 256).astype(np.float64)
    return (im / im.max()).astype(np.float32)


@functools.cache
def _mri_pools():
    im = _mri_image()
    t, p = MRI.tile, MRI.shape[0]
    nt = im.shape[0] // t
    means = im.reshape(nt, t, nt, t).mean(axis=(1, 3))
    head = [(a, b) for a in range(nt) for b in range(nt) if means[a, b] > 0.1]
    test_tiles = {head[k] for k in range(5, len(head), 10)}
    train, test = [], []
    for a in range(nt):
        for b in range(nt):
            block = im[a * t:(a + 1) * t, b * t:(b + 1) * t]
            idx = np.arange(t - p + 1)
            patches = block[idx[:, None, None, None] + np.arange(p)[None, None, :, None],
                            idx[None, :, None, None] + np.arange(p)[None, None, None, :]]
            patches = patches.reshape(-1, p, p)
            patches = patches[patches.mean(axis=(1, 2)) >= 0.05]
            (test if (a, b) in test_tiles else train).append(patches)
    return np.concatenate(train), np.concatenate(test)


DATASETS_REAL = {c.name: c for c in (EEG, MRI)}
