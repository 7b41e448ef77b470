"""The objective: the slide's value function, the generator's two ways to descend it,
and the penalties that make the game converge in practice.

Everything takes the discriminator's *logits* ``a`` (d = sigmoid(a)), because

    log d = log_sigmoid(a),    log(1 - d) = log_sigmoid(-a)

are exact for every logit, while ``log(sigmoid(a))`` underflows to log 0 = -inf as soon
as the discriminator is confident (a < -104 in float32). The engine's ``log_sigmoid`` is
``-softplus(-a)``, computed without ever exponentiating a large number.

- :func:`value`: Isola L14, "Generative Adversarial Networks (GANs)",
  ``V = E_data[log d(x)] + E_z[log(1 - d(g(z)))]``, as minibatch means.
- :func:`discriminator_loss`: ``-V`` (d ascends V; optimizers descend).
- :func:`generator_loss`: ``"minimax"`` is the slide's ``E_z[log(1 - d(g(z)))]``, the
  only part of V that depends on g. ``"nonsaturating"`` is ``-E_z[log d(g(z))]``
  (Goodfellow et al. 2014, section 3): the same fixed point, but when d confidently
  rejects the fakes (early in training) log(1 - d) is flat and its gradient vanishes,
  while -log d is steep there. ``"wasserstein"`` is ``-E_z[f(g(z))]`` for a critic f
  (Arjovsky et al. 2017).
- :func:`r1_penalty`: ``gamma/2 E_data ||grad_x a(x)||^2`` (Mescheder et al. 2018,
  eq. 9): a gradient of a gradient, through the engine.
- :func:`gradient_penalty`: ``lambda E_xhat (||grad a(xhat)|| - 1)^2`` on random
  interpolates of real and fake (Gulrajani et al. 2017, eq. 3; Algorithm 1).
"""
import numpy as np

import autograd
from autograd import Tensor
from autograd import functional as F

from ..common.errors import UserError

GENERATOR_LOSSES = ("minimax", "nonsaturating", "wasserstein")


def value(real_logits, fake_logits):
    """The slide's value function, estimated on a minibatch:
    ``mean log d(x_real) + mean log(1 - d(x_fake))``."""
    return F.log_sigmoid(real_logits).mean() + F.log_sigmoid(-fake_logits).mean()


def discriminator_loss(real_logits, fake_logits, kind="minimax"):
    """What the discriminator descends. For the two GAN losses it is ``-V`` (both use
    the same d: the generator's choice of loss does not change d's job). For the
    Wasserstein critic it is ``E f(fake) - E f(real)`` (Arjovsky et al. 2017)."""
    if kind == "wasserstein":
        return fake_logits.mean() - real_logits.mean()
    _check_kind(kind)
    return -value(real_logits, fake_logits)


def generator_loss(fake_logits, kind="minimax"):
    """What the generator descends; see the module docstring for the three kinds."""
    _check_kind(kind)
    if kind == "minimax":
        return F.log_sigmoid(-fake_logits).mean()          # E log(1 - d(g(z)))
    if kind == "nonsaturating":
        return -F.log_sigmoid(fake_logits).mean()          # -E log d(g(z))
    return -fake_logits.mean()


def _check_kind(kind):
    if kind not in GENERATOR_LOSSES:
        raise UserError(f"GAN loss {kind!r}; expected one of {', '.join(GENERATOR_LOSSES)}")


def input_gradient(discriminator, x, y=None):
    """``(logits, grad_x sum(logits))`` with the gradient kept differentiable
    (``create_graph=True``), so a penalty on it can be backpropagated into the
    discriminator's weights: the second derivative the R1 and WGAN-GP penalties need.
    Each logit depends only on its own (packed) input, so the gradient of the sum is
    every example's own gradient."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    x = Tensor(x.data, requires_grad=True)
    logits = discriminator(x, y)
    g = autograd.grad(logits.sum(), x, create_graph=True)
    return logits, g


def _squared_norms(g, packs):
    """``||g_i||^2`` per discriminator input: one row per pack of samples (PacGAN's d
    sees a pack as one input, so its gradient is taken over the whole pack)."""
    return (g * g).reshape(packs, -1).sum(axis=1)


def r1_penalty(discriminator, x_real, gamma, y=None):
    """``(gamma/2) E_data ||grad_x a(x)||^2`` and the real logits (Mescheder et al. 2018,
    eq. 9), so the caller reuses the logits for the value function.

    Why it helps: at the equilibrium q = p the best d is constant, yet nothing in V stops
    d from growing steep slopes on the data that make g overshoot and orbit the modes;
    R1 makes d flat on the data, and Mescheder et al. prove the game then converges
    locally (their Theorem 4.1), where the unregularized game need not."""
    logits, g = input_gradient(discriminator, x_real, y)
    packs = logits.shape[0]
    return (0.5 * gamma) * _squared_norms(g, packs).mean(), logits


def gradient_penalty(discriminator, x_real, x_fake, lam, rng, y=None):
    """``lambda E (||grad a(x_hat)||_2 - 1)^2`` with ``x_hat = e x_real + (1 - e) x_fake``,
    ``e ~ U[0, 1]`` per pack (Gulrajani et al. 2017, Algorithm 1): the soft form of the
    1-Lipschitz constraint the Wasserstein critic needs, enforced where it matters,
    between the two distributions."""
    real = x_real if isinstance(x_real, Tensor) else Tensor(np.asarray(x_real))
    fake = x_fake if isinstance(x_fake, Tensor) else Tensor(np.asarray(x_fake))
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {real.shape} and fake {fake.shape} differ")
    n = real.shape[0]
    packs = discriminator.packs(n)
    e = rng.random(packs).astype(np.dtype(real.dtype))
    e = Tensor(np.repeat(e, n // packs).reshape((n,) + (1,) * (real.ndim - 1)),
               device=real.device)            # the mix is made where the data lives
    x_hat = (e * real + (1 - e) * fake).detach()
    _, g = input_gradient(discriminator, x_hat, y)
    norms = (_squared_norms(g, packs) + 1e-12).sqrt()
    return lam * ((norms - 1.0) ** 2).mean()
