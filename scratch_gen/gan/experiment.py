"""Running the game on a built-in dataset and scoring it: shared by the demo, the tour and
benchmarks/gan_quality.py, so all three measure the same thing the same way.

The score on ring8 and grid25 is PacGAN's (Lin et al. 2018, section 5; the workbench's
``metrics.mode_metrics``): 2,500 samples, each *high quality* when within 3 standard
deviations of its nearest mode, a mode *captured* when it gets one high-quality sample,
and the reverse KL of the histogram of high-quality samples over modes.
"""
import time

import numpy as np

from .. import data, metrics, registry
from ..registry import DataSpec

N_TRAIN = 20_000         # a fresh draw per seed: the 2D datasets are infinite

# The convolutional GAN on glyphs keeps the stabilized recipe but not its point-tuned
# numbers: with lr 3e-3, He init and gamma 0.1 (then chosen for ring8/grid25) the image game
# fell into black images; the slide's default init, lr 1e-3 and R1 gamma 1 (images
# have 256 coordinates, so d's input gradients are larger and need a firmer hand) drew
# recognizable digits within a few hundred steps.
GLYPHS_CONFIG = {"init": "default", "lr": 1e-3, "r1": 1.0}
N_SCORE = 2_500          # PacGAN's number of samples


def spec_for(dataset, conditional=False):
    """The DataSpec of a built-in dataset."""
    return DataSpec(dataset.kind, dataset.shape, dataset.levels,
                    dataset.num_classes if conditional else None, name=dataset.name)


def train(model, x, steps, batch_size=None, seed=0, every=0, on_snapshot=None):
    """Train ``model`` on ``x`` exactly as ``scratch_gen.train.fit`` does (one seeded
    generator draws each minibatch with replacement, then the model's noise), and call
    ``on_snapshot(step, model)`` at step 0 and every ``every`` steps, for pictures of
    training as it goes. Returns ``(wall, cpu)``: the wall-clock and the CPU seconds
    this process spent in ``train_step`` (on a shared machine the CPU seconds are the
    ones that say what the work costs)."""
    rng = np.random.default_rng(seed)
    batch_size = batch_size or model.default_batch_size
    model.setup(x, None, rng)
    wall = cpu = 0.0
    if on_snapshot is not None:
        on_snapshot(0, model)
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(x), size=batch_size)
        t0, c0 = time.perf_counter(), time.process_time()
        model.train_step(x[idx], None, rng)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        if on_snapshot is not None and every and (step % every == 0 or step == steps):
            on_snapshot(step, model)
    return wall, cpu


def modes(model, dataset, seed=0, n=N_SCORE):
    """PacGAN's mode metrics of ``n`` samples from ``model`` on a mixture dataset."""
    samples = model.sample(n, np.random.default_rng(10_000 + seed))
    out = metrics.mode_metrics(samples, dataset.centers, dataset.std)
    out["samples"] = samples
    return out


def run(dataset_name, variant, steps, seed=0, config=None, batch_size=None):
    """Train ``gan/variant`` for ``steps`` on a fresh sample of a built-in 2D mixture and
    score it; returns the mode metrics, ``seconds`` (wall), ``cpu_seconds``, the model
    and its training data."""
    ds = data.get(dataset_name)
    x = ds.sample(N_TRAIN, np.random.default_rng([seed, 1]))
    cfg = dict(config or {})
    cfg.setdefault("total_steps", steps)          # the learning-rate decay ends at the end
    model = registry.build("gan", variant, spec_for(ds), cfg, np.random.default_rng([seed, 2]))
    wall, cpu = train(model, x, steps, batch_size, seed=seed)
    out = modes(model, ds, seed)
    out.update(seconds=wall, cpu_seconds=cpu, model=model, data=x)
    return out
