"""A user's own data: ``--data PATH`` and ``--test-data PATH``.

What a file means is decided by its contents, the same way for every format:
integer (or boolean) arrays are discrete data with levels ``0..max``; float arrays are
continuous; ``(N, D)`` is a set of vectors and ``(N, H, W)`` a set of images; lines of
text are sequences, modelled character by character with an end token. Every problem
is one DataError line that names the file (and the line or image) and what was wrong.
"""

import csv
import os
import re

import numpy as np

from .base import DataError
from .text import CharVocab

FORMATS = ".npy, .npz (keys x and optional y), .csv, .txt, or a folder of .png"


class FileData:
    """One split of a dataset, loaded or sampled.

    ``x``: array (N, D) or (N, H, W), or a list of str for text; ``y``: int64 labels
    (N,) or None; ``kind``, ``shape`` (of one example; ``()`` for text), ``levels``
    (``max + 1`` over train and test for integer data, else None), ``num_classes``
    (``max(y) + 1`` over train and test, or None); ``name`` (the file or dataset);
    ``vocab`` (text only: a CharVocab of train and test together); ``classes`` (class
    names, for a folder of class folders).
    """

    def __init__(self, x, y=None, kind="continuous", shape=(), levels=None,
                 num_classes=None, name=None, vocab=None, classes=None):
        self.x, self.y = x, y
        self.kind, self.shape = kind, tuple(shape)
        self.levels, self.num_classes = levels, num_classes
        self.name, self.vocab, self.classes = name, vocab, classes

    def __len__(self):
        return len(self.x)

    def take(self, idx):
        """The examples at ``idx`` (same metadata)."""
        x = [self.x[i] for i in idx] if self.kind == "text" else self.x[idx]
        return FileData(x, None if self.y is None else self.y[idx], self.kind, self.shape,
                        self.levels, self.num_classes, self.name, self.vocab, self.classes)

    def __repr__(self):
        return (f"FileData({self.name!r}: {len(self)} x {self.kind} {self.shape}, "
                f"levels={self.levels}, num_classes={self.num_classes})")


def load_path(path, test_path=None, seed=0):
    """``(train, test)`` FileData from a file or folder; without ``test_path`` a seeded
    90/10 split (``np.random.default_rng(seed).permutation``; test gets
    ``max(1, round(N / 10))`` examples)."""
    path = os.fspath(path)
    test_path = None if test_path is None else os.fspath(test_path)
    data = _read(path)
    if test_path is None:
        n = len(data.x)
        if n < 2:
            raise DataError(f"{path}: {n} example(s); need at least 2 to split off a test set "
                            "(or give --test-data)")
        perm = np.random.default_rng(seed).permutation(n)
        n_test = max(1, int(round(n / 10)))
        train, test = data.take(perm[n_test:]), data.take(perm[:n_test])
        return _finish(train, test, path, path)
    return _finish(data, _read(test_path), path, test_path)


def _finish(train, test, path, test_path):
    """Make the two splits agree on kind, shape, levels, labels and vocabulary."""
    if test.kind != train.kind or (train.kind == "image" and
                                   (train.levels is None) != (test.levels is None)):
        what = lambda d: d.kind + (" (integer)" if d.levels is not None else " (float)")
        raise DataError(f"{test_path}: {what(test)} data, but {path} holds {what(train)} data")
    if test.shape != train.shape:
        raise DataError(f"{test_path}: examples of shape {test.shape}, but {path} has "
                        f"{train.shape}")
    if (test.y is None) != (train.y is None):
        has, lacks = (path, test_path) if test.y is None else (test_path, path)
        raise DataError(f"{lacks}: no labels, but {has} has labels; give both or neither")
    for d in (train, test):
        if train.levels is not None:
            d.levels = max(train.levels, test.levels)
        if train.y is not None:
            d.num_classes = max(train.num_classes, test.num_classes)
        if train.kind == "text":
            d.vocab = CharVocab(train.x + test.x)
        d.classes = train.classes
        d.name = path if d is train else test_path
    return train, test


# ------------------------------------------------------------------------ readers

def _read(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        return _read_png_folder(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file or folder")
    ext = os.path.splitext(path)[1].lower()
    readers = {".npy": _read_npy, ".npz": _read_npz, ".csv": _read_csv, ".txt": _read_txt}
    if ext not in readers:
        raise DataError(f"{path}: unsupported file type {ext or '(none)'!r}; expected {FORMATS}")
    return readers[ext](path)


def _one_line(e):
    return " ".join(str(e).split()) or type(e).__name__


def _read_npy(path):
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as e:                       # any failure is the file's fault
        raise DataError(f"{path}: cannot read as .npy ({_one_line(e)})") from None
    if not isinstance(x, np.ndarray):
        raise DataError(f"{path}: expected one array, found an archive (name it .npz)")
    return _from_arrays(path, x, None)


def _read_npz(path):
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as e:
        raise DataError(f"{path}: cannot read as .npz ({_one_line(e)})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: not an .npz archive (a single array belongs in .npy)")
    with z:
        if "x" not in z.files:
            found = ", ".join(z.files) or "nothing"
            raise DataError(f"{path}: no array named 'x' (found: {found})")
        try:
            x = z["x"]
            y = z["y"] if "y" in z.files else None
        except Exception as e:
            raise DataError(f"{path}: cannot read its arrays ({_one_line(e)})") from None
    return _from_arrays(path, x, y)


_INT = re.compile(r"[+-]?\d+$")


def _read_csv(path):
    """Numbers separated by commas, one example per row; blank lines and lines starting
    with ``#`` are skipped; a first row that is not all numbers is a header, and a
    header column named ``y`` or ``label`` holds integer labels."""
    text = _read_text(path)
    header, rows, lines = None, [], []
    for lineno, fields in enumerate(csv.reader(text.splitlines()), 1):
        fields = [f.strip() for f in fields]
        if not any(fields) or fields[0].startswith("#"):
            continue
        if header is None and not rows and not all(_is_number(f) for f in fields):
            header = fields
            continue
        width = len(header) if header is not None else len(rows[0]) if rows else len(fields)
        if len(fields) != width:
            raise DataError(f"{path}: line {lineno} has {len(fields)} values, expected "
                            f"{width} (ragged rows)")
        for f in fields:
            if not _is_number(f):
                raise DataError(f"{path}: line {lineno}: {f!r} is not a number")
        rows.append(fields)
        lines.append(lineno)
    if not rows:
        raise DataError(f"{path}: empty (no rows of numbers)")
    label_col = None
    if header is not None:
        names = [h.lower() for h in header]
        label_col = next((i for i, h in enumerate(names) if h in ("y", "label")), None)
    cols = [i for i in range(len(rows[0])) if i != label_col]
    if not cols:
        raise DataError(f"{path}: only a label column, no data columns")
    as_int = all(_INT.match(r[i]) for r in rows for i in cols)
    x = np.array([[r[i] for i in cols] for r in rows], dtype=np.int64 if as_int else np.float64)
    y = None
    if label_col is not None:
        bad = next((k for k, r in enumerate(rows) if not _INT.match(r[label_col])), None)
        if bad is not None:
            raise DataError(f"{path}: line {lines[bad]}: label {rows[bad][label_col]!r} is "
                            "not an integer")
        y = np.array([r[label_col] for r in rows], dtype=np.int64)
    return _from_arrays(path, x, y)


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({_one_line(e)})") from None


def _read_txt(path):
    """One sequence per line; empty lines are skipped."""
    lines = [s for s in _read_text(path).splitlines() if s]
    if not lines:
        raise DataError(f"{path}: empty (no non-empty lines)")
    return FileData(lines, None, "text", (), name=path)


def _read_png_folder(path):
    """``path/*.png`` (unlabelled), or ``path/<class>/*.png`` (labelled by the sorted
    class folder names). Colour is converted to gray (ITU-R 601 luma), alpha ignored.
    All images must share one size. Images holding only 0 and 1 are binary (int64,
    levels 2); others are float32 in [0, 1]."""
    entries = sorted(os.listdir(path))
    pngs = [e for e in entries if e.lower().endswith(".png")
            and os.path.isfile(os.path.join(path, e))]
    files, labels, classes = [], None, None
    if pngs:
        files = [os.path.join(path, e) for e in pngs]
    else:
        classes = [e for e in entries if os.path.isdir(os.path.join(path, e))
                   and any(f.lower().endswith(".png") for f in os.listdir(os.path.join(path, e)))]
        labels = []
        for k, c in enumerate(classes):
            sub = sorted(f for f in os.listdir(os.path.join(path, c)) if f.lower().endswith(".png"))
            files += [os.path.join(path, c, f) for f in sub]
            labels += [k] * len(sub)
    if not files:
        raise DataError(f"{path}: a folder with no .png files (nor class folders of them)")
    images = [_read_png(f) for f in files]
    for f, im in zip(files, images):
        if im.shape != images[0].shape:
            raise DataError(f"{f}: size {im.shape[0]}x{im.shape[1]} differs from "
                            f"{files[0]}'s {images[0].shape[0]}x{images[0].shape[1]}")
    x = np.stack(images)
    if np.isin(x, (0.0, 1.0)).all():
        x = x.astype(np.int64)
    y = None if labels is None else np.array(labels, dtype=np.int64)
    data = _from_arrays(path, x, y)
    data.classes = classes
    return data


def _read_png(f):
    from matplotlib import image
    try:
        a = np.asarray(image.imread(f, format="png"))
    except Exception as e:                       # PIL and zlib raise many types
        raise DataError(f"{f}: unreadable PNG ({_one_line(e)})") from None
    if a.dtype.kind in "ui":
        a = a / np.iinfo(a.dtype).max
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3]
        a = rgb[..., 0] if (rgb == rgb[..., :1]).all() else rgb @ np.array([0.299, 0.587, 0.114])
    if a.ndim != 2:
        raise DataError(f"{f}: image of shape {a.shape}, expected gray, RGB or RGBA")
    return a.astype(np.float32)


# ------------------------------------------------------------------------ arrays

def _from_arrays(path, x, y):
    """Validate an array (and labels) and decide kind, shape and levels."""
    if x.ndim == 1 and x.dtype.kind == "U":
        if y is not None:
            raise DataError(f"{path}: labels for text are not supported")
        strings = [str(s) for s in x if str(s)]
        if not strings:
            raise DataError(f"{path}: empty (no non-empty strings)")
        return FileData(strings, None, "text", (), name=path)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: arrays of dtype {x.dtype} are not supported; expected "
                        "integers, booleans or floats")
    if x.ndim not in (2, 3):
        hint = "; reshape to (N, 1) for one number per example" if x.ndim == 1 else ""
        raise DataError(f"{path}: x has shape {x.shape}, expected 2 dimensions (N, D) or "
                        f"3 (N, H, W){hint}")
    if x.shape[0] == 0 or x.size == 0:
        raise DataError(f"{path}: empty (x has shape {x.shape})")
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if bad.any():
            raise DataError(f"{path}: x contains NaN or Inf (first in example "
                            f"{int(np.argmax(bad))})")
        x, levels = x.astype(np.float32 if x.ndim == 3 else np.float64), None
    else:
        x = x.astype(np.int64)
        if x.min() < 0:
            raise DataError(f"{path}: integer x has negative values (min {x.min()}); discrete "
                            "data must be 0..levels-1")
        levels = int(x.max()) + 1
    kind = "image" if x.ndim == 3 else ("continuous" if levels is None else "discrete")
    num_classes = None
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{path}: y has shape {y.shape} but x has {len(x)} examples; "
                            f"expected ({len(x)},) labels")
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        if y.dtype.kind not in "biu":
            raise DataError(f"{path}: labels y of dtype {y.dtype}; expected integers")
        y = y.astype(np.int64)
        if y.min() < 0:
            raise DataError(f"{path}: labels y must be 0..K-1, found {y.min()}")
        num_classes = int(y.max()) + 1
    return FileData(x, y, kind, x.shape[1:], levels, num_classes, name=path)
