"""The regressor: what goes wrong when one input has many right answers.

He L1, "Discriminative vs. generative models": a discriminative model maps ``x => y``
with "one desired output"; the generative scenarios have "multiple or infinite
predictions to one input". A network ``f(y)`` trained with mean-squared error,
``min_f E ||x - f(y)||^2``, converges to the conditional mean ``f*(y) = E[x | y]``
(expand the square around ``E[x|y]``: the cross term vanishes), the average of the
answers: on the obstacle toy a waypoint inside the obstacle, on glyphs the blurred
average of every way to draw the digit. Chi et al. 2023 (Diffusion Policy, section 1
and figure 3) make exactly this point about regression policies; their fix is a
diffusion model of p(action | observation).

It is also a (poor) generative model, which lets the chapter score it beside the
others: squared error is the negative log-likelihood of ``N(x; f(y), sigma^2 I)`` up to
constants, so with ``sigma^2`` set to its maximum-likelihood value, the mean squared
residual per dimension, the regressor has a conditional density and a conditional NLL.
``sigma^2`` is an exponential moving average of the minibatch residuals (decay 0.99),
so it is the fit's own at the end of training, not the first steps'.

The five parts: formulation x ~ p(x | y) with one output per y; representation an MLP
from y (one-hot label or condition vector) to x; objective mean-squared error (the
Gaussian NLL with fixed variance); optimization Adam, with an optional cosine decay to
zero over ``decay_steps`` (the minibatch targets are bimodal, so at a constant rate the
prediction keeps jittering around the mean by a noticeable fraction of the modes'
spread); inference the prediction ``f(y)``
itself (``sample`` returns it, the same for every draw; ``noise=True`` adds the fitted
Gaussian's noise), and the Gaussian density.
"""
import math

import numpy as np

from autograd import Tensor, no_grad, nn, optim
from autograd import functional as F

from ..common.errors import UserError
from ..registry import register
from .condition import Conditioned

LOG_2PI = math.log(2 * math.pi)


class RegressionNet(nn.Module):
    """``f(c)``: ``layers`` hidden ReLU layers of ``hidden`` units, a linear output."""

    def __init__(self, n_in, n_out, hidden, layers, rng):
        super().__init__()
        dims = [n_in] + [hidden] * layers
        self.hidden = nn.ModuleList([nn.Linear(a, b, rng=rng) for a, b in zip(dims, dims[1:])])
        self.out = nn.Linear(dims[-1], n_out, rng=rng)

    def forward(self, c):
        h = c
        for layer in self.hidden:
            h = layer(h).relu()
        return self.out(h)


@register("conditional", "regressor")
class Regressor(Conditioned):
    description = ("mean-squared-error regression x = f(y): predicts the average of the "
                   "answers (the crash, the blurred digit)")
    slide = ("He L1, 'multiple or infinite predictions to one input'; Chi et al. 2023 "
             "(Diffusion Policy), figure 3")
    data_kinds = ("continuous", "image")
    default_steps = 2000
    default_batch_size = 128
    default_config = {"cond_dim": 0, "hidden": 128, "layers": 2, "lr": 2e-3, "decay_steps": 0}

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if c["hidden"] < 1 or c["layers"] < 1 or not c["lr"] > 0:
            raise UserError(f"{self.name()}: hidden={c['hidden']}, layers={c['layers']}, "
                            f"lr={c['lr']}: expected positive numbers")
        self.D = spec.n_dims
        self.net = RegressionNet(self.width, self.D, c["hidden"], c["layers"], self.rng)
        self.opt = optim.Adam(self.net.parameters(), lr=c["lr"])
        self.sigma2 = 1.0
        self.steps_done = 0

    def _flat(self, x):
        return np.asarray(self.check_x(x), dtype=np.float32).reshape(len(x), self.D)

    def predict_mean(self, c):
        """``f(y)`` for condition rows ``c`` (n, width), as float64 (n, D)."""
        with no_grad():
            return self.net(Tensor(np.asarray(c, np.float32))).data.astype(np.float64)

    def train_step(self, batch_x, batch_y, rng):
        x = self._flat(batch_x)
        c = self.cond_matrix(batch_y, len(x))
        pred = self.net(Tensor(c))
        loss = F.mse_loss(pred, Tensor(x))            # mean over examples and dimensions
        self.opt.zero_grad()
        loss.backward()
        if self.config["decay_steps"] > 0:
            self.opt.lr = optim.cosine_warmup_lr(self.steps_done + 1, self.config["lr"], 0,
                                                 self.config["decay_steps"])
        self.opt.step()
        mse = float(loss.item())
        decay = min(0.99, (1.0 + self.steps_done) / (10.0 + self.steps_done))
        self.sigma2 = decay * self.sigma2 + (1.0 - decay) * mse
        self.steps_done += 1
        return {"loss": mse, "sigma": math.sqrt(self.sigma2)}

    def log_prob_given(self, x, c):
        """``log N(x; f(y), sigma^2 I)``: the density the squared error implies."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), self.D)
        r2 = ((x - self.predict_mean(c)) ** 2).sum(axis=1)
        s2 = max(self.sigma2, 1e-12)
        return -0.5 * r2 / s2 - 0.5 * self.D * (LOG_2PI + math.log(s2))

    def sample_given(self, c, rng, noise=False):
        """The prediction ``f(y)`` per row: a regressor has one answer per input. With
        ``noise=True``, a draw of the implied Gaussian ``N(f(y), sigma^2 I)``."""
        m = self.predict_mean(c)
        if noise:
            m = m + math.sqrt(self.sigma2) * rng.standard_normal(m.shape)
        out = m.reshape((len(m),) + self.spec.shape)
        return out.astype(np.float32) if self.spec.kind == "image" else out

    def state_dict(self):
        return {**super().state_dict(), "net": dict(self.net.state_dict()),
                "opt": self.opt.state_dict(), "sigma2": float(self.sigma2),
                "steps_done": int(self.steps_done)}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.sigma2 = float(state["sigma2"])
        self.steps_done = int(state["steps_done"])
