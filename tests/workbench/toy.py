"""Small models for testing the training loop itself, independent of any family.

``NoisyMean`` is plain NumPy: heavy-ball SGD on the mean of the data with injected
gradient noise, so both the minibatch indices and the model's own noise come from the
loop's rng (the two sources a resume must replay). It can be told to produce a NaN loss,
non-finite parameters, or a Ctrl-C at a given step. ``TinyNet`` uses the engine: a
Linear layer trained by Adam, so resume also covers real optimizer state.
"""
import signal

import numpy as np

from scratch_gen.registry import DataSpec, Model


class NoisyMean(Model):
    family, variant = "_test", "noisy-mean"
    data_kinds = ("continuous",)
    default_steps = 30
    default_batch_size = 8
    default_config = {"lr": 0.1, "nan_at": -1, "bad_param_at": -1, "sigint_at": -1}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        self.mu = self.rng.normal(size=spec.n_dims)
        self.v = np.zeros(spec.n_dims)
        self.t = 0

    def train_step(self, bx, by, rng):
        self.t += 1
        target = bx.reshape(len(bx), -1).mean(0)
        g = self.mu - target + 0.1 * rng.standard_normal(self.mu.shape)
        self.v = 0.9 * self.v + g
        self.mu = self.mu - self.config["lr"] * self.v
        loss = 0.5 * float(((self.mu - target) ** 2).sum())
        if self.t == self.config["nan_at"]:
            loss = float("nan")
        if self.t == self.config["bad_param_at"]:
            self.mu[0] = np.inf
        if self.t == self.config["sigint_at"]:
            signal.raise_signal(signal.SIGINT)
        return {"loss": loss, "grad_norm": float(np.linalg.norm(g))}

    def state_dict(self):
        return {"mu": self.mu.copy(), "v": self.v.copy(), "t": self.t}

    def load_state_dict(self, state):
        self.mu, self.v, self.t = state["mu"].copy(), state["v"].copy(), state["t"]

    def sample(self, n, rng, label=None, **options):
        return self.mu + rng.standard_normal((n, len(self.mu)))


class TinyNet(Model):
    family, variant = "_test", "tiny-net"
    data_kinds = ("continuous",)
    default_steps = 20
    default_batch_size = 16
    default_config = {"lr": 0.05}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        from autograd import nn, optim
        d = spec.n_dims
        self.net = nn.Sequential(nn.Linear(d, 8, rng=self.rng), nn.Tanh(),
                                 nn.Linear(8, d, rng=self.rng))
        self.opt = optim.Adam(self.net.parameters(), lr=self.config["lr"])

    def train_step(self, bx, by, rng):
        from autograd import Tensor
        z = Tensor(rng.standard_normal(bx.shape).astype(np.float32))
        err = self.net(z) - Tensor(bx.astype(np.float32))
        loss = (err * err).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item()}

    def state_dict(self):
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])


def spec2d():
    return DataSpec("continuous", (2,), name="toy")


def blob(n=64, seed=0):
    """A 2D Gaussian blob, the toy models' training set."""
    return np.random.default_rng(seed).normal(loc=(1.0, -2.0), size=(n, 2))
