"""train.fit: exact resume, Ctrl-C, NaN handling, the log and the progress line."""
import io
import json
import os

import numpy as np
import pytest

from scratch_gen import checkpoint
from scratch_gen.common.errors import UserError
from scratch_gen.train import TrainingDiverged, TrainingInterrupted, fit

from .toy import NoisyMean, TinyNet, blob, spec2d


def make(cls=NoisyMean, **config):
    return cls(spec2d(), config, np.random.default_rng(7))


def log_rows(out):
    with open(os.path.join(out, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def strip_time(rows):
    return [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in rows]


@pytest.mark.parametrize("cls", [NoisyMean, TinyNet])
def test_resume_after_stopping_repeats_the_uninterrupted_run(tmp_path, cls):
    x = blob()
    full = make(cls)
    ref = fit(full, x, steps=30, seed=3, out=str(tmp_path / "full"), ckpt_every=5,
              log_every=1, quiet=True)

    part = str(tmp_path / "part")
    first = fit(make(cls), x, steps=12, seed=3, out=part, ckpt_every=5, log_every=1, quiet=True)
    resumed_model = make(cls)          # fresh weights: everything must come from the checkpoint
    second = fit(resumed_model, x, steps=30, out=part, resume=True, ckpt_every=5,
                 log_every=1, quiet=True)

    assert first.losses + second.losses == ref.losses
    assert [h["step"] for h in second.history] == list(range(13, 31))
    a, b = full.state_dict(), resumed_model.state_dict()
    flat_a, arrays_a = checkpoint.encode_state(a)
    flat_b, arrays_b = checkpoint.encode_state(b)
    assert flat_a == flat_b
    for k in arrays_a:
        np.testing.assert_array_equal(arrays_a[k], arrays_b[k])
    assert strip_time(log_rows(part)) == strip_time(log_rows(str(tmp_path / "full")))


def test_ctrl_c_writes_a_checkpoint_and_resume_is_exact(tmp_path):
    x = blob()
    ref = fit(make(), x, steps=25, seed=1, quiet=True)
    out = str(tmp_path / "run")
    with pytest.raises(TrainingInterrupted) as info:
        fit(make(sigint_at=17), x, steps=25, seed=1, out=out, ckpt_every=10, quiet=True)
    assert info.value.step == 17
    record, _ = checkpoint.load(out)
    assert record["step"] == 17
    rest = fit(make(sigint_at=17), x, out=out, resume=True, quiet=True)
    assert rest.losses == ref.losses[17:]
    assert [r["step"] for r in log_rows(out)] == list(range(1, 26))


def test_resume_drops_log_lines_written_after_the_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    fit(make(), blob(), steps=20, seed=0, out=out, ckpt_every=10, log_every=1, quiet=True)
    # pretend the run crashed at step 14 after logging it: cut the checkpoint back to 10
    fit(make(), blob(), steps=10, seed=0, out=str(tmp_path / "ten"), log_every=1, quiet=True)
    for name in os.listdir(out):
        if name.startswith("checkpoint"):
            os.unlink(os.path.join(out, name))
    for name in os.listdir(tmp_path / "ten"):
        if name.startswith("checkpoint"):
            os.replace(os.path.join(tmp_path / "ten", name), os.path.join(out, name))
    fit(make(), blob(), steps=20, out=out, resume=True, log_every=1, quiet=True)
    assert [r["step"] for r in log_rows(out)] == list(range(1, 21))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    good = make()
    fit(good, blob(), steps=10, seed=2, quiet=True)
    with pytest.raises(TrainingDiverged) as info:
        fit(make(nan_at=13), blob(), steps=30, seed=2, out=out, ckpt_every=5, quiet=True)
    msg = str(info.value)
    assert "nan at step 13" in msg and "last good checkpoint (step 10)" in msg
    record, state = checkpoint.load(out)
    assert record["step"] == 10
    np.testing.assert_array_equal(state["model"]["mu"], good.mu)
    assert log_rows(out)[-1]["loss"] == "nan"        # the failing step is logged, honestly


def test_nonfinite_parameters_are_never_saved(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(TrainingDiverged, match="parameters stopped being finite at step 5"):
        fit(make(bad_param_at=5), blob(), steps=30, seed=2, out=out, ckpt_every=1, quiet=True)
    assert checkpoint.load(out)[0]["step"] == 4


def test_log_means_and_progress_line(tmp_path):
    out = str(tmp_path / "run")
    stream = io.StringIO()
    res = fit(make(), blob(), steps=20, seed=0, out=out, log_every=5, stream=stream)
    rows = log_rows(out)
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    for r, k in zip(rows, range(4)):
        assert r["loss"] == pytest.approx(np.mean(res.losses[5 * k:5 * k + 5]), rel=1e-12)
        assert r["steps_per_s"] > 0
    lines = stream.getvalue().splitlines()        # not a terminal: first, then every 2 s, last
    assert 2 <= len(lines) <= 4 and lines[0].startswith("step 5/20  loss ")
    assert lines[-1].startswith("step 20/20  loss ")
    assert "steps/s  ETA 0s" in lines[-1] and "grad_norm" in lines[-1]
    quiet = io.StringIO()
    fit(make(), blob(), steps=20, seed=0, quiet=True, stream=quiet)
    assert quiet.getvalue() == ""


def test_same_seed_same_losses_other_seed_other_losses():
    a = fit(make(), blob(), steps=10, seed=5, quiet=True).losses
    b = fit(make(), blob(), steps=10, seed=5, quiet=True).losses
    c = fit(make(), blob(), steps=10, seed=6, quiet=True).losses
    assert a == b and a != c


def test_user_mistakes_are_user_errors(tmp_path):
    out = str(tmp_path / "run")
    fit(make(), blob(), steps=5, seed=0, out=out, quiet=True)
    with pytest.raises(UserError, match="already holds a checkpoint"):
        fit(make(), blob(), steps=5, out=out, quiet=True)
    with pytest.raises(UserError, match="batch_size=8; resuming with batch_size=4"):
        fit(make(), blob(), steps=9, out=out, resume=True, batch_size=4, quiet=True)
    with pytest.raises(UserError, match="past steps=3"):
        fit(make(), blob(), steps=3, out=out, resume=True, quiet=True)
    with pytest.raises(UserError, match="trained with config"):
        fit(make(lr=0.5), blob(), steps=9, out=out, resume=True, quiet=True)
    with pytest.raises(UserError, match="no checkpoint"):
        fit(make(), blob(), out=str(tmp_path), resume=True, quiet=True)
    with pytest.raises(UserError, match="steps must be an integer >= 0, got -1"):
        fit(make(), blob(), steps=-1, quiet=True)
    with pytest.raises(UserError, match="empty"):
        fit(make(), np.zeros((0, 2)), quiet=True)
