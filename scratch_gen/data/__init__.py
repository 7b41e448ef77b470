"""Built-in datasets that know their ground truth, and loaders for a user's own files.

DESIGN, "Data with ground truth": every built-in dataset samples, and where the math
allows it also gives the exact ``log_prob`` and ``entropy``, so a model's test NLL minus
the entropy is its KL to the data (Isola L14, "max likelihood = min KL"). This package
is NumPy/SciPy/matplotlib only and never imports ``autograd``: data sits below models.

Interface (other packages code against exactly this)
----------------------------------------------------
``DataError(ValueError)``
    Every user-caused problem; one line naming the value or file and what was expected.
``DATASETS``: dict name -> Dataset class; ``get(name) -> Dataset``; ``names()``.
``Dataset`` attributes
    ``name``; ``kind`` in "continuous", "discrete", "image", "text"; ``shape`` of one
    example (``(2,)``, ``(16,)``, ``(40, 32)``; ``()`` for text); ``levels`` (values per
    coordinate of discrete/binary-image data, e.g. 2; None otherwise); ``num_classes``
    (None if unlabelled); ``has_log_prob``, ``has_entropy``; ``image_shape`` ((4, 4) for
    ising and bars_stripes, else None for vectors); ``default_sizes`` (n_train, n_test);
    ``has_splits`` (fixed real pools, below).
``Dataset`` methods
    ``sample(n, rng)`` (text: list of str); ``sample_labelled(n, rng) -> (x, y)``
    (labelled sets; the same x as ``sample`` from the same generator state);
    ``describe()`` (one line); ``log_prob(x)`` (nats per example, exact, -inf off the
    support); ``entropy()`` (nats per example, differential for continuous);
    ``entropy_error()`` (0.0 when exact, else the standard error of the quadrature or
    Monte Carlo value). Finite enumerable supports (ising, bars_stripes, heartbeat,
    river) also have ``support() -> (states, probs)``. Pools of real data (pydoc, eeg,
    mri) take ``sample(n, rng, split="train" | "test" | None)`` and ``pool(split)``,
    and never share an example (or pixel) between train and test.

Arrays: continuous 2D data float64 (n, 2); binary data (ising, bars_stripes, heartbeat)
int64 (n, D) of 0/1; river int64 (n, 40, 32) of 0/1 (levels 2); glyphs float32
(n, 16, 16) in [0, 1] with labels 0-9 (``quantize(x, levels)`` makes them int64);
eeg float64 (n, 32); mri float32 (n, 8, 8) in [0, 1]; text a list of str.

Text: ``CharVocab(strings)`` with ``encode(strings) -> (ids (n, L_max + 1), lengths)``
(each string then the end id, which counts as a token: ``lengths = len + 1``; padded
with the end id), ``decode(ids)``, ``size``, ``eos`` (= 0, also the start context).

Files: ``load_path(path, test_path=None, seed=0) -> (train, test)`` FileData (``x``,
``y``, ``kind``, ``shape``, ``levels``, ``num_classes``, ``name``, ``vocab`` for text)
from .npy, .npz (``x``, optional ``y``), .csv, .txt (one sequence per line) or a folder
of PNGs; integer arrays are discrete with levels 0..max, float arrays continuous,
(N, H, W) images; without ``test_path`` a seeded 90/10 split.
``load(name_or_path, test_path=None, seed=0, n_train=None, n_test=None)
-> (train, test, dataset_or_None)``: built-in names sampled with seeded generators
(sizes ``dataset.default_sizes``), paths read from files.

The datasets
------------
2D (toy2d): ring8, grid25 (PacGAN, Lin et al. 2018); gaussians8, checkerboard, moons,
swissroll, pinwheel, spirals (FFJORD toy data, Grathwohl et al. 2019).
Discrete (discrete): ising (4x4, exact Z over 2^16 states), bars_stripes (30 images),
heartbeat (5 phases). Text (text): stories (a finite LL(1) probabilistic grammar; exact
probabilities and entropy), pydoc (Python's reference manual; no truth). Images
(images): river (the lecture's turtle; log p = -10 ln 2 on its 1,024 images), glyphs
(DejaVu Sans digits with random pose; labelled, no density). Real (real): eeg, mri
(matplotlib's sample data; no truth).
"""

from .base import DataError, Dataset, DiscreteDataset
from .namegen import Names  # noqa: F401  (registers the "names" dataset)
from .catalog import DATASETS, get, load, names
from .files import FileData, load_path
from .images import quantize
from .text import CharVocab

__all__ = ["DataError", "Dataset", "DiscreteDataset", "DATASETS", "get", "load", "names",
           "FileData", "load_path", "quantize", "CharVocab"]
