"""One training run of an energy-based model on a built-in dataset, with the truth beside it.

Shared by the tour, the demo and the quality benchmark so that all three measure the
same thing the same way: the dataset's seeded train/test split (``data.load``), the
training loop of ``scratch_gen.train.fit`` step for step (a uniform minibatch drawn from
one generator, then ``train_step``), and the distance to the truth:

- binary data: the exact KL(data || model), a sum over the data's support with the
  model's exact log Z (no Monte Carlo error at all);
- 2D data: ``mean(log p_data(x) - log p_model(x))`` over test points, the model's log Z
  by quadrature on its box (Isola L14: "Z(theta) = integral e^{-E_theta(x)} dx"; in 2D
  we can add it up), with the standard error of the mean.

``callback(step, model, history)`` runs before the first step and every ``every`` steps
(snapshots for the demo's figures; history is the list of per-step metrics so far); its
time is not counted in ``seconds``.
"""
import math
import time

import numpy as np

from .. import data, metrics, registry
from ..registry import DataSpec


class Run:
    """What :func:`run` returns: the model, the splits, the dataset (the truth), the
    per-step metrics and the training time in seconds."""

    def __init__(self, model, train, test, dataset, history, seconds, steps):
        self.model, self.train, self.test, self.dataset = model, train, test, dataset
        self.history, self.seconds, self.steps = history, seconds, steps

    def kl(self):
        """(KL to the truth in nats, its standard error; 0.0 when exact)."""
        return kl_to_truth(self.model, self.test, self.dataset)

    def test_nll(self):
        return float(-np.mean(self.model.log_prob(self.test.x)))


def run(dataset, variant, config=None, steps=100, seed=0, batch_size=256, n_train=None,
        n_test=None, every=0, callback=None):
    """Train ``ebm/<variant>`` on the built-in ``dataset``; returns a :class:`Run`."""
    train, test, ds = data.load(dataset, seed=seed, n_train=n_train, n_test=n_test)
    model = registry.build("ebm", variant, DataSpec.from_data(train, name=dataset), config,
                           np.random.default_rng([seed, 1]))
    rng = np.random.default_rng([seed, 2])
    x = np.asarray(train.x)
    t0 = time.perf_counter()
    model.setup(x, None, rng)
    history, paused = [], 0.0
    if callback is not None:
        t1 = time.perf_counter()
        callback(0, model, history)
        paused += time.perf_counter() - t1
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(x), size=batch_size)
        history.append(dict(step=step, **model.train_step(x[idx], None, rng)))
        if callback is not None and every and (step % every == 0 or step == steps):
            t1 = time.perf_counter()
            callback(step, model, history)
            paused += time.perf_counter() - t1
    return Run(model, train, test, ds, history, time.perf_counter() - t0 - paused, steps)


def kl_to_truth(model, test, dataset):
    """Exact KL over the support for binary data; the paired test-set estimate in 2D."""
    if hasattr(dataset, "support"):
        return float(model.evaluate(test, dataset)["kl_exact"]), 0.0
    d = np.asarray(dataset.log_prob(test.x), float) - model.log_prob(test.x)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def modes(model, dataset, n=2500, seed=0, **sample_options):
    """PacGAN's mode metrics of ``n`` model samples (the model's own sampler)."""
    x = model.sample(n, np.random.default_rng(seed), **sample_options)
    return metrics.mode_metrics(x, dataset.centers, dataset.std), x
