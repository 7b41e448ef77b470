"""One training loop for every family: the contract between a model and the workbench.

Isola L14, "Density models": learning is ``argmax_theta 1/N sum_i log p_theta(x_i)``,
estimated on minibatches; every family's objective (max likelihood, contrastive
divergence, denoising, the GAN game) is one ``train_step`` away from that picture. This
module owns everything around the step, once, so families do not each reinvent it.

The contract
------------
``fit(model, train, steps, batch_size, seed, out, ...)`` with ``model`` a
:class:`scratch_gen.registry.Model` (see that module for the methods it calls):

1. Fresh run: ``rng = np.random.default_rng(seed)``; ``model.setup(x, y, rng)``.
   Resume (``resume=True``): model state, step and ``rng`` come back from ``out``'s
   checkpoint; ``setup`` is not called again.
2. Each step ``t``: ``idx = rng.integers(0, N, size=batch_size)`` (uniform with
   replacement: no epoch bookkeeping, so the RNG state alone says where the run is),
   then ``model.train_step(x[idx], y[idx] or None, rng)`` -> metrics, ``"loss"``
   required. The model draws its own noise from the same ``rng``.
3. Every ``log_every`` steps: one JSON line appended to ``out/log.jsonl`` (the means of
   each metric over the window, ``step``, ``time``, ``steps_per_s``) and, unless
   ``quiet``, a progress line ``step 300/2000  loss 1.2345  812.3 steps/s  ETA 2s``
   (redrawn in place on a terminal; elsewhere at most one line per 2 s, and the last).
4. Every ``ckpt_every`` steps and at the end: a checkpoint (checkpoint.py) holding
   ``model.state_dict()``, the step, and ``rng.bit_generator.state`` as JSON. Because
   every random number comes from that one generator, a resumed run repeats the
   uninterrupted one bit for bit (tests/workbench/test_train.py checks this).
5. A non-finite loss, or non-finite arrays in the state about to be saved, stop the
   run with :class:`TrainingDiverged`; the last good checkpoint is not overwritten.
6. Ctrl-C: the first one is deferred to the end of the current step (a half-done
   optimizer update is not a state worth saving), a checkpoint is written, and
   :class:`TrainingInterrupted` (a ``KeyboardInterrupt``) is raised. A second Ctrl-C
   stops at once without saving.

``train`` is an array ``(N, ...)``, a list of str (text), a pair ``(x, y)``, or any object
with ``.x`` and ``.y`` (the data package's splits). ``fit`` returns a :class:`FitResult`.
"""
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from . import checkpoint
from .common.errors import UserError
from .common.jsonio import atomic_write, jsonable

LOG = "log.jsonl"
PRINT_EVERY = 2.0      # seconds between progress lines when stderr is not a terminal


class TrainingDiverged(RuntimeError):
    """The loss (or the state) stopped being finite; the run is stopped."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during fit(); ``step`` is where it stopped, ``checkpoint`` what was saved."""

    def __init__(self, message, step, checkpoint_path):
        super().__init__(message)
        self.step, self.checkpoint = step, checkpoint_path


class FitResult:
    """What fit() did: the final ``step``, the per-step ``history`` of this call (a list
    of metric dicts with ``step``), the ``checkpoint`` path (or None), ``seconds``."""

    def __init__(self, step, history, checkpoint_path, seconds):
        self.step, self.history, self.checkpoint, self.seconds = step, history, checkpoint_path, seconds

    @property
    def losses(self):
        return [h["loss"] for h in self.history]

    def __repr__(self):
        return f"FitResult(step={self.step}, steps_run={len(self.history)}, checkpoint={self.checkpoint!r})"


def as_xy(train):
    """``(x, y)`` from the forms fit() accepts (see the module docstring)."""
    if isinstance(train, tuple) and len(train) == 2:
        x, y = train
    elif hasattr(train, "x"):
        x, y = train.x, getattr(train, "y", None)
    else:
        x, y = train, None
    if not isinstance(x, list):
        x = np.asarray(x)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise UserError(f"labels have {len(y)} entries but the data has {len(x)} examples")
    if len(x) == 0:
        raise UserError("the training set is empty; expected at least one example")
    return x, y


def take(x, idx):
    """``x[idx]`` for arrays and for lists of str."""
    return [x[i] for i in idx] if isinstance(x, list) else x[idx]


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _fmt_time(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _state_is_finite(tree):
    if isinstance(tree, dict):
        return all(_state_is_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(_state_is_finite(v) for v in tree)
    if isinstance(tree, (np.ndarray, np.generic)) and np.asarray(tree).dtype.kind in "fc":
        return bool(np.isfinite(tree).all())
    if isinstance(tree, float):
        return math.isfinite(tree)
    return True


@contextlib.contextmanager
def _deferred_sigint():
    """Turn the first SIGINT into a flag read between steps (main thread only)."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["hit"]:
            raise KeyboardInterrupt      # second Ctrl-C: the user means it
        flag["hit"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _record(model, step, steps, batch_size, seed, rng, meta):
    return {"family": model.family, "variant": model.variant, "config": jsonable(model.config),
            "data": model.spec.to_dict(), "step": step, "steps": steps,
            "batch_size": batch_size, "seed": seed, "rng": rng.bit_generator.state,
            "meta": jsonable(meta or {}), "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _truncate_log(path, step):
    """On resume, drop log lines past the checkpoint's step: they are re-run."""
    if not os.path.isfile(path):
        return
    with open(path) as f:
        keep = [ln for ln in f if ln.strip() and json.loads(ln).get("step", 0) <= step]
    atomic_write(path, lambda f: f.write("".join(keep).encode()))


def fit(model, train, steps=None, batch_size=None, seed=None, out=None, ckpt_every=None,
        resume=False, quiet=False, log_every=None, meta=None, stream=None):
    """Train ``model`` on ``train`` for ``steps`` steps in total (see module docstring).

    steps, batch_size: default to the model's ``default_steps``/``default_batch_size``;
    on resume, batch_size and seed default to the checkpoint's (a different explicit
    value is an error: the run would not be the same run). ``steps`` is the total, so
    resuming with a larger ``steps`` extends a finished run.
    out: run folder for checkpoints and the log (None: neither).
    meta: extra JSON stored in the checkpoint record (the CLI stores the data source).
    """
    x, y = as_xy(train)
    n = len(x)
    stream = sys.stderr if stream is None else stream
    if resume and out is None:
        raise UserError("resume=True needs the run folder: pass out=DIR (--out DIR)")

    start = 0
    rng = None
    if resume:
        record, state = checkpoint.load(out)
        if (record["family"], record["variant"]) != (model.family, model.variant):
            raise UserError(f"{out} holds a {record['family']}/{record['variant']} checkpoint, "
                            f"not {model.name()}")
        if record["config"] != jsonable(model.config):
            raise UserError(f"{out} was trained with config {record['config']}, "
                            f"not {jsonable(model.config)}")
        for key, value in (("batch_size", batch_size), ("seed", seed)):
            if value is not None and value != record[key]:
                raise UserError(f"{out} was trained with {key}={record[key]}; resuming with "
                                f"{key}={value} would not continue the same run")
        batch_size, seed, start = record["batch_size"], record["seed"], record["step"]
        steps = record["steps"] if steps is None else steps
        model.load_state_dict(state["model"])
        rng = np.random.default_rng()
        rng.bit_generator.state = record["rng"]
    elif out is not None and checkpoint.exists(out):
        raise UserError(f"{out} already holds a checkpoint; pass --resume to continue it "
                        "or choose another --out")

    steps = _check_count("steps", model.default_steps if steps is None else steps, 0)
    batch_size = _check_count("batch_size", model.default_batch_size if batch_size is None
                              else batch_size, 1)
    seed = _check_count("seed", 0 if seed is None else seed, 0)
    if steps > 0 and not model.trainable():
        raise UserError(f"{model.name()} is fitted in closed form; it takes no training "
                        f"steps (got steps={steps}; use --steps 0)")
    if steps < start:
        raise UserError(f"the checkpoint in {out} is at step {start}, past steps={steps}")
    log_every = _check_count("log_every", log_every if log_every is not None
                             else max(1, steps // 200), 1)
    ckpt_every = _check_count("ckpt_every", ckpt_every if ckpt_every is not None
                              else max(1, steps // 10), 1)

    log_path = None
    if out is not None:
        os.makedirs(out, exist_ok=True)
        log_path = os.path.join(out, LOG)
        if resume:
            _truncate_log(log_path, start)
        elif os.path.exists(log_path):
            os.unlink(log_path)          # a log without a checkpoint is a dead run's
    if rng is None:
        rng = np.random.default_rng(seed)
        model.setup(x, y, rng)

    ckpt_path = os.path.join(out, checkpoint.RECORD) if resume else None
    last_saved = start if resume else None

    def save(step):
        nonlocal ckpt_path, last_saved
        if out is None:
            return
        state = {"model": model.state_dict()}
        if not _state_is_finite(state):
            raise TrainingDiverged(
                f"{model.name()}: the parameters stopped being finite at step {step}; "
                f"stopped. {_kept(out, last_saved)}")
        ckpt_path = checkpoint.save(out, _record(model, step, steps, batch_size, seed, rng, meta),
                                    state)
        last_saved = step

    history, window = [], []
    t0 = time.perf_counter()
    tty = hasattr(stream, "isatty") and stream.isatty()
    step = start
    printed = -math.inf
    if start == 0 and steps == 0:
        save(0)                          # closed-form models: the fit is the checkpoint
    with _deferred_sigint() as sigint, (open(log_path, "a") if log_path else
                                        contextlib.nullcontext()) as log:
        try:
            for step in range(start + 1, steps + 1):
                idx = rng.integers(0, n, size=batch_size)
                metrics = model.train_step(take(x, idx), None if y is None else y[idx], rng)
                if "loss" not in metrics:
                    raise TypeError(f"{model.name()}.train_step must return a dict with 'loss'")
                metrics = {k: float(v) for k, v in metrics.items()}
                loss = metrics["loss"]
                history.append(dict(step=step, **metrics))
                window.append(metrics)
                if not math.isfinite(loss):
                    if log:
                        log.write(json.dumps(jsonable(dict(step=step, **metrics))) + "\n")
                    raise TrainingDiverged(
                        f"{model.name()}: the loss became {loss} at step {step}; stopped. "
                        f"{_kept(out, last_saved)} Try a smaller --lr.")
                if step % log_every == 0 or step == steps:
                    elapsed = time.perf_counter() - t0
                    rate = (step - start) / elapsed if elapsed > 0 else math.inf
                    means = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
                    window = []
                    if log:
                        log.write(json.dumps(jsonable(dict(step=step, **means, time=elapsed,
                                                           steps_per_s=rate))) + "\n")
                        log.flush()
                    # on a terminal the line redraws in place at every log point; in a
                    # file or pipe one line per PRINT_EVERY seconds, and the last step
                    if not quiet and (tty or step == steps or elapsed - printed >= PRINT_EVERY):
                        printed = elapsed
                        eta = (steps - step) / rate if rate > 0 else math.inf
                        extra = "".join(f"  {k} {v:.4g}" for k, v in means.items() if k != "loss")
                        line = (f"step {step}/{steps}  loss {means['loss']:.4f}{extra}  "
                                f"{rate:.1f} steps/s  ETA {_fmt_time(eta)}")
                        end = "\r" if tty and step < steps else "\n"
                        print(line, end=end, file=stream, flush=True)
                if step % ckpt_every == 0 or step == steps:
                    save(step)
                if sigint["hit"]:
                    if last_saved != step:
                        save(step)
                    where = f"; checkpoint written to {out}, continue with --resume" if out else ""
                    raise TrainingInterrupted(f"interrupted at step {step}{where}", step, ckpt_path)
        except KeyboardInterrupt as e:
            if not isinstance(e, TrainingInterrupted) and not quiet:
                print(f"\ninterrupted during step {step}; {_kept(out, last_saved)}",
                      file=stream, flush=True)
            raise
    return FitResult(step, history, ckpt_path, time.perf_counter() - t0)


def _kept(out, step):
    if out is None:
        return "No checkpoint is written without out=DIR."
    if step is None:
        return f"No good checkpoint was written to {out} yet."
    return f"The last good checkpoint (step {step}) in {out} is kept."
