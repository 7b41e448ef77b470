"""The mixture-density head (Bishop 1994, "Mixture Density Networks") that both the
autoregressive MDN (``p(x_i | x_<i)``) and the conditional one (``p(x_i | x_<i, y)``)
put on every factor of the chain rule (Isola L14, "Autoregressive probability model"):

    p(x_i | inputs) = sum_m pi_m N(x_i; mu_m, sigma_m^2),

with ``pi = softmax(logits)`` and ``(logits, mu, log sigma)`` computed by a small MLP
from the factor's inputs. A mixture, not one Gaussian, because a factor may need two
modes (the two sides of a ring that share an x_1; the two ways around an obstacle).
"""
import math

from autograd import functional as F
from autograd import nn

LOG_2PI = math.log(2 * math.pi)


class MixtureHead(nn.Module):
    """``inputs (n, n_in) ->`` mixture logits, means and log-scales, each ``(n, M)``."""

    def __init__(self, n_in, hidden, M, rng):
        super().__init__()
        self.M = M
        self.fc1 = nn.Linear(n_in, hidden, rng=rng)
        self.fc2 = nn.Linear(hidden, hidden, rng=rng)
        self.out = nn.Linear(hidden, 3 * M, rng=rng)

    def forward(self, inputs):
        o = self.out(self.fc2(self.fc1(inputs).tanh()).tanh())
        M = self.M
        return o[:, :M], o[:, M:2 * M], F.maximum(o[:, 2 * M:], -7.0)   # sigma >= e^-7


def mixture_log_density(x, logits, mu, log_s):
    """``log sum_m pi_m N(x; mu_m, s_m^2)`` with ``pi = softmax(logits)``; x is (n, 1)."""
    r = (x - mu) / log_s.exp()
    log_n = -0.5 * r * r - log_s - 0.5 * LOG_2PI
    return F.logsumexp(F.log_softmax(logits, axis=1) + log_n, axis=1)
