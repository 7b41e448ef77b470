"""JSON that stays honest about infinities, and files that are never half written.

JSON has no Infinity or NaN (RFC 8259; Python's ``json`` writes the non-standard
``Infinity`` unless told not to). A filing cabinet's test NLL *is* infinite (Isola L14,
"Is the filing cabinet a good generative model?"), and writing it as a large finite
number would be a lie, so every number this project writes to JSON goes through
:func:`jsonable`: ``inf``, ``-inf`` and ``nan`` become the strings ``"inf"``, ``"-inf"``
and ``"nan"``. :func:`from_jsonable_float` reads them back.

:func:`atomic_write` is the one way files are written here: to a temporary file in the
same folder, flushed to disk, then ``os.replace``'d over the target. ``os.replace`` is
atomic on POSIX and Windows when both names are on one file system, so a reader (or a
crash) sees either the old file or the new one, never half of one.
"""
import math
import os
import tempfile

import numpy as np

NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def jsonable(obj):
    """``obj`` with NumPy scalars/arrays made plain Python and non-finite floats made
    the strings ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has no Infinity)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    return obj


def from_jsonable_float(value):
    """Read back a number written by :func:`jsonable` (``"inf"`` -> ``math.inf``)."""
    if isinstance(value, str):
        return NONFINITE[value]
    return value if value is None else float(value)


def atomic_write(path, write, mode="wb"):
    """Write ``path`` by calling ``write(f)`` on a temporary file in the same folder,
    then renaming it over ``path``. On any exception the temporary file is removed and
    whatever ``path`` held before is untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
