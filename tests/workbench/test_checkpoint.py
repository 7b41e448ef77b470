"""checkpoint.py: exact round trips, no pickles, and atomic writes."""
import json
import os
import zipfile

import numpy as np
import pytest

from scratch_gen import checkpoint
from scratch_gen.checkpoint import CheckpointError


def state_example():
    rng = np.random.default_rng(0)
    return {"model": {"w": rng.normal(size=(3, 4)).astype(np.float32),
                      "file": np.arange(5),                 # np.savez would choke on this key
                      "cabinet": np.array(["ab", "", "c d"]),
                      "scalar": np.float32(1.5)},
            "opt": [{"m.0": rng.normal(size=4), "t": 7, "lr": 1e-3}, {"betas": (0.9, 0.999)}],
            "flags": {"done": False, "none": None, "best": float("inf"), "name": "x"}}


def assert_same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, list) and len(a) == len(b)
        for u, v in zip(a, b):
            assert_same(u, v)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert np.asarray(a).dtype == b.dtype and np.asarray(a).shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(123)
    rng.normal(size=5)
    record = {"step": 42, "rng": rng.bit_generator.state, "config": {"lr": 0.1 + 0.2}}
    checkpoint.save(str(tmp_path), record, state_example())
    back, state = checkpoint.load(str(tmp_path))
    assert_same(state_example(), state)
    assert back["config"]["lr"] == 0.1 + 0.2          # floats survive JSON bit for bit
    again = np.random.default_rng()
    again.bit_generator.state = back["rng"]
    np.testing.assert_array_equal(again.normal(size=3), rng.normal(size=3))
    assert state["opt"][1]["betas"] == [0.9, 0.999]   # tuples come back as lists


def test_files_hold_no_pickles(tmp_path):
    checkpoint.save(str(tmp_path), {"step": 1}, state_example())
    npz = [f for f in os.listdir(tmp_path) if f.endswith(".npz")]
    assert npz == ["checkpoint-00000001.npz"]
    with np.load(tmp_path / npz[0], allow_pickle=False) as z:   # would raise on a pickle
        assert sorted(z.files) == sorted(checkpoint.encode_state(state_example())[1])
    with open(tmp_path / "checkpoint.json") as f:
        assert json.load(f)["state"]["flags"]["best"] == {"__float__": "inf"}
    with pytest.raises(TypeError, match="dtype object"):
        checkpoint.save(str(tmp_path), {"step": 2}, {"bad": np.array([{}, 1], dtype=object)})


def test_a_failure_while_writing_arrays_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    d = str(tmp_path)
    checkpoint.save(d, {"step": 5}, {"w": np.arange(4.0)})
    before = sorted(os.listdir(d))

    real = np.lib.format.write_array

    def dies_midway(f, arr, **kw):
        f.write(b"\x93NUMPY partial bytes")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", dies_midway)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(d, {"step": 10}, {"w": np.arange(4.0) + 1})
    monkeypatch.setattr(np.lib.format, "write_array", real)

    assert sorted(os.listdir(d)) == before              # no temporary file left behind
    record, state = checkpoint.load(d)
    assert record["step"] == 5
    np.testing.assert_array_equal(state["w"], np.arange(4.0))


def test_a_failure_while_writing_the_record_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    d = str(tmp_path)
    checkpoint.save(d, {"step": 5}, {"w": np.arange(4.0)})
    real = checkpoint.atomic_write
    calls = []

    def fails_on_json(path, write, mode="wb"):
        calls.append(path)
        if path.endswith(".json"):
            def half(f):
                f.write(b'{"step": 1')
                raise KeyboardInterrupt
            return real(path, half, mode)
        return real(path, write, mode)
    monkeypatch.setattr(checkpoint, "atomic_write", fails_on_json)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(d, {"step": 10}, {"w": np.arange(4.0) + 1})
    monkeypatch.setattr(checkpoint, "atomic_write", real)

    record, state = checkpoint.load(d)                 # the record still names step 5's arrays
    assert record["step"] == 5 and len(calls) == 2
    np.testing.assert_array_equal(state["w"], np.arange(4.0))
    checkpoint.save(d, {"step": 15}, {"w": np.zeros(4)})   # the next save cleans up
    assert sorted(os.listdir(d)) == ["checkpoint-00000015.npz", "checkpoint.json"]


def test_damaged_or_missing_checkpoints_are_user_errors(tmp_path):
    d = str(tmp_path / "run")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(d)
    os.makedirs(d)
    with pytest.raises(CheckpointError, match="checkpoint.json is missing"):
        checkpoint.load(d)
    checkpoint.save(d, {"step": 3}, {"w": np.arange(3.0)})
    npz = os.path.join(d, "checkpoint-00000003.npz")
    with zipfile.ZipFile(npz, "w") as z:               # same name, other content
        z.writestr("w.npy", b"not the array")
    with pytest.raises(CheckpointError, match="corrupted"):
        checkpoint.load(d)
    os.unlink(npz)
    with pytest.raises(CheckpointError, match="missing"):
        checkpoint.load(d)
    with open(os.path.join(d, "checkpoint.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load(d)
