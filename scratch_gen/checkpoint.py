"""Checkpoints: arrays in .npz, everything else in .json, never pickle.

DESIGN.md, "Conventions": a checkpoint is an ``.npz`` of arrays plus a ``.json`` of config,
step and RNG state, loaded with ``allow_pickle=False`` (a pickle can run code; a
checkpoint downloaded from a classmate should not), each written to a temporary file
and renamed, so a crash never leaves half a checkpoint.

Layout of a run folder ``DIR``::

    DIR/checkpoint.json             the record: family, variant, config, data spec, step,
                                    seed, batch size, RNG state, the state's non-array
                                    leaves, and which .npz holds its arrays (+ sha256)
    DIR/checkpoint-00001200.npz     the arrays of step 1200
    DIR/log.jsonl                   the training log (train.py)

Why the step is in the .npz name: two files cannot be replaced in one atomic operation.
The new arrays go to a *new* name first; then ``checkpoint.json`` is replaced, which is
the single commit point; only then is the previous .npz deleted. A crash anywhere
leaves a ``checkpoint.json`` that names a complete .npz whose hash it records.

A state is any nesting of dicts (str keys), lists/tuples, NumPy arrays and JSON scalars
(:func:`encode_state`). Arrays (and NumPy scalars, as 0-d arrays, so their dtype
survives) go to the .npz under their path ``model/opt/m/0``; the rest stays in the JSON,
where an array is written ``{"__array__": "model/opt/m/0"}``. Python floats survive
JSON exactly (``repr`` round-trips); non-finite ones are written as ``"inf"`` etc.
"""
import glob
import hashlib
import json
import math
import os
import zipfile

import numpy as np

from .common.errors import UserError
from .common.jsonio import atomic_write

FORMAT = 1
RECORD = "checkpoint.json"


class CheckpointError(UserError):
    """A checkpoint folder that is missing, incomplete, corrupted or from elsewhere."""


# ------------------------------------------------------------------ state <-> (json, arrays)

def encode_state(tree):
    """Split a nested state into (JSON-able skeleton, {path: ndarray})."""
    arrays = {}

    def walk(node, path):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if not isinstance(k, str):
                    raise TypeError(f"state keys must be str, got {k!r} at {path or '/'}")
                if k.startswith("__"):
                    raise TypeError(f"state key {k!r} at {path or '/'} is reserved")
                out[k] = walk(v, f"{path}/{k}" if path else k)
            return out
        if isinstance(node, (list, tuple)):
            return [walk(v, f"{path}/{i}" if path else str(i)) for i, v in enumerate(node)]
        if isinstance(node, (np.ndarray, np.generic)) and not isinstance(node, np.bool_):
            arr = np.asarray(node)
            if arr.dtype == object:
                raise TypeError(f"state array {path!r} has dtype object; checkpoints hold no pickles")
            if path in arrays:
                raise TypeError(f"two state arrays share the path {path!r} (a key contains '/')")
            arrays[path] = arr
            return {"__array__": path}
        if isinstance(node, np.bool_):
            return bool(node)
        if isinstance(node, float) and not math.isfinite(node):
            return {"__float__": "nan" if math.isnan(node) else ("inf" if node > 0 else "-inf")}
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"state value at {path!r} has type {type(node).__name__}; "
                        "expected dict, list, ndarray or a JSON scalar")

    return walk(tree, ""), arrays


def decode_state(skeleton, arrays):
    """Inverse of :func:`encode_state` (tuples come back as lists)."""
    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"__array__"}:
                return arrays[node["__array__"]]
            if set(node) == {"__float__"}:
                return float(node["__float__"])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return walk(skeleton)


# ------------------------------------------------------------------------- save and load

def exists(directory):
    return os.path.isfile(os.path.join(directory, RECORD))


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(directory, record, state):
    """Write ``state`` (nested arrays) and ``record`` (JSON: must hold ``step``) to
    ``directory`` atomically; returns the record's path. See the module docstring."""
    os.makedirs(directory, exist_ok=True)
    skeleton, arrays = encode_state(state)
    name = f"checkpoint-{int(record['step']):08d}.npz"
    npz_path = os.path.join(directory, name)

    def write_npz(f):
        # What np.savez does, minus its keyword clash (a key named "file" would collide
        # with savez's own argument): one .npy member per array, pickles refused.
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            for key, arr in arrays.items():
                with zf.open(key + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
    atomic_write(npz_path, write_npz)

    full = dict(record, format=FORMAT, arrays=name, sha256=_sha256(npz_path), state=skeleton)
    text = json.dumps(full, indent=1, allow_nan=False)
    path = os.path.join(directory, RECORD)
    atomic_write(path, lambda f: f.write(text.encode()))       # the commit point
    for old in glob.glob(os.path.join(glob.escape(directory), "checkpoint-*.npz")):
        if os.path.basename(old) != name:
            os.unlink(old)
    return path


def read_record(directory):
    """The JSON record of ``directory``'s checkpoint (no arrays loaded)."""
    path = os.path.join(directory, RECORD)
    if not os.path.isdir(directory):
        raise CheckpointError(f"run folder {directory!r} does not exist; expected a folder "
                              "written by 'scratch-gen train --out'")
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint in {directory!r}: {RECORD} is missing "
                              "(train first with 'scratch-gen train ... --out DIR')")
    try:
        with open(path) as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a scratch_gen checkpoint of format {FORMAT}")
    return record


def load(directory):
    """``(record, state)`` from ``directory``; CheckpointError if anything is off."""
    record = read_record(directory)
    npz_path = os.path.join(directory, record["arrays"])
    if not os.path.isfile(npz_path):
        raise CheckpointError(f"checkpoint arrays {npz_path} are missing")
    if _sha256(npz_path) != record["sha256"]:
        raise CheckpointError(f"checkpoint arrays {npz_path} do not match the hash in "
                              f"{RECORD}; the file is corrupted")
    with np.load(npz_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return record, decode_state(record["state"], arrays)


def load_model(directory):
    """Rebuild the model saved in ``directory``: ``(model, record)``."""
    from . import registry
    record, state = load(directory)
    spec = registry.DataSpec.from_dict(record["data"])
    model = registry.build(record["family"], record["variant"], spec, record["config"])
    model.load_state_dict(state["model"])
    return model, record
