"""Softmax regression: the discriminative side, a network whose output is a distribution.

Isola L14, "Math background": instead of ``f: X -> Y`` we consider ``f: X -> P(Y)``,
"e.g., softmax regression to model P(class | X = x): f_theta: R^{N x M x C} ->
Delta^{d-1}" -- "the outputs of our neural nets are, implicitly or explicitly,
distributions". Here the network is one linear layer, ``logits = W x + b``, and the
output ``softmax(logits)`` is a categorical distribution over the K classes (non-negative,
summing to one). Training minimizes the NLL of the true labels under that distribution,
``-1/N sum_i log f(x_i)[y_i]``: the cross-entropy loss *is* maximum likelihood for
p(y|x) (L14, "Density models", with the data now being labels).

He L1 asks the reverse question, "can discriminative models be generative?": this model
alone cannot sample an x; ``p(x|y) = p(y|x) p(x) / p(y)`` "still needs to model the
prior" p(x) (see :func:`scratch_gen.conditional.bayes.bayes_rule`).
"""
import numpy as np

from autograd import Tensor, no_grad, nn, optim
from autograd import functional as F

from ..common.errors import UserError


class SoftmaxRegression(nn.Module):
    """``f(x) = softmax(W x + b)`` on flattened inputs, float64 by default."""

    def __init__(self, in_features, num_classes, rng=None, dtype=np.float64):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes, rng=rng, dtype=dtype)
        self.dtype = dtype

    def _input(self, x):
        a = np.asarray(x, dtype=self.dtype)
        a = a.reshape(len(a), -1)
        if a.shape[1] != self.linear.in_features:
            raise UserError(f"inputs of {a.shape[1]} numbers; this classifier takes "
                            f"{self.linear.in_features}")
        return Tensor(a)

    def forward(self, x):
        """The logits (n, K)."""
        return self.linear(self._input(x))

    def probs(self, x):
        """``f(x)``: one categorical distribution over the classes per row."""
        with no_grad():
            return F.softmax(self.forward(x), axis=-1).numpy()

    def log_posterior(self, x):
        with no_grad():
            return F.log_softmax(self.forward(x), axis=-1).numpy()

    def predict(self, x):
        return np.argmax(self.log_posterior(x), axis=1)

    def loss(self, x, y):
        """The mean NLL of the labels under f(x): ``F.cross_entropy`` (a fused
        log-softmax at the target; the tests check it equals ``-mean log probs[y]``)."""
        return F.cross_entropy(self.forward(x), np.asarray(y, dtype=np.int64))

    def fit(self, x, y, steps, rng, lr=0.05, batch_size=256, weight_decay=0.0):
        """Adam on minibatches drawn uniformly with replacement (as the workbench's
        training loop does), or on the whole set when ``batch_size >= len(x)`` (then the
        steps are deterministic); the learning rate decays linearly to 0. Returns the
        loss of each step."""
        x = np.asarray(x, dtype=self.dtype).reshape(len(x), -1)
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        opt = optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        history = []
        for t in range(steps):
            opt.lr = lr * (1.0 - t / steps)
            idx = (slice(None) if batch_size >= len(x)
                   else rng.integers(0, len(x), size=batch_size))
            opt.zero_grad()
            loss = self.loss(x[idx], y[idx])
            loss.backward()
            opt.step()
            history.append(float(loss.item()))
        return history
