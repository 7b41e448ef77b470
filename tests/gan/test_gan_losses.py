"""The objective: the slide's value function exactly, the generator losses, and the
penalties' derivatives against finite differences in float64."""
import math

import numpy as np
import pytest

import autograd
from autograd import Tensor
from scratch_gen.common.errors import UserError
from scratch_gen.gan import losses
from scratch_gen.gan.nets import MLPDiscriminator


def logits(seed, n, scale=3.0):
    return np.random.default_rng(seed).normal(0, scale, n)


def np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_value_is_the_slides_value_function():
    ar, af = logits(0, 50), logits(1, 70)
    v = losses.value(Tensor(ar), Tensor(af)).item()
    direct = np.mean(np.log(np_sigmoid(ar))) + np.mean(np.log(1 - np_sigmoid(af)))
    assert abs(v - direct) < 1e-12
    assert abs(losses.discriminator_loss(Tensor(ar), Tensor(af)).item() + direct) < 1e-12


def test_generator_losses():
    af = logits(2, 40)
    mm = losses.generator_loss(Tensor(af), "minimax").item()
    ns = losses.generator_loss(Tensor(af), "nonsaturating").item()
    assert abs(mm - np.mean(np.log(1 - np_sigmoid(af)))) < 1e-12     # the slide's g term
    assert abs(ns + np.mean(np.log(np_sigmoid(af)))) < 1e-12
    assert losses.generator_loss(Tensor(af), "wasserstein").item() == pytest.approx(-af.mean())
    critic = losses.discriminator_loss(Tensor(af[:20]), Tensor(af[20:]), "wasserstein").item()
    assert critic == pytest.approx(af[20:].mean() - af[:20].mean())


def test_losses_stay_finite_for_a_confident_discriminator():
    a = Tensor(np.array([-300.0, 300.0], dtype=np.float32), requires_grad=True)
    for kind in ("minimax", "nonsaturating"):
        loss = losses.generator_loss(a, kind) + losses.discriminator_loss(a, a)
        g = autograd.grad(loss, a)
        assert math.isfinite(loss.item()) and np.all(np.isfinite(g.data))


def test_the_minimax_generator_gradient_saturates_where_the_nonsaturating_one_does_not():
    # Goodfellow et al. 2014, section 3: early on d rejects fakes confidently (a << 0);
    # d/da log(1 - sigmoid(a)) = -sigmoid(a) -> 0, while d/da -log sigmoid(a) -> -1.
    a = Tensor(np.array([-10.0]), requires_grad=True)
    g_mm = autograd.grad(losses.generator_loss(a, "minimax"), a).data[0]
    g_ns = autograd.grad(losses.generator_loss(a, "nonsaturating"), a).data[0]
    assert abs(g_mm + np_sigmoid(-10.0)) < 1e-15 and abs(g_mm) < 5e-5
    assert abs(g_ns + (1 - np_sigmoid(-10.0))) < 1e-15


def test_unknown_loss_is_a_user_error():
    with pytest.raises(UserError, match="'hinge'"):
        losses.generator_loss(Tensor(np.zeros(2)), "hinge")


def small_discriminator(pack=1, seed=0):
    d = MLPDiscriminator(2, hidden=6, layers=2, pack=pack, rng=seed)
    return d.to(np.float64)


def fd_input_gradient(d, x, h=1e-6):
    """Central differences of sum(d(x)) in every coordinate of x."""
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (d(Tensor(xp)).data.sum() - d(Tensor(xm)).data.sum()) / (2 * h)
    return g


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_penalty_value_matches_finite_differences_of_d(pack):
    d = small_discriminator(pack)
    x = np.random.default_rng(1).normal(size=(8, 2))
    gamma = 0.7
    pen, real_logits = losses.r1_penalty(d, x, gamma)
    g = fd_input_gradient(d, x).reshape(8 // pack, -1)       # one gradient per pack
    expected = 0.5 * gamma * (g ** 2).sum(1).mean()
    assert abs(pen.item() - expected) < 1e-8 * max(1.0, expected)
    np.testing.assert_allclose(real_logits.data, d(Tensor(x)).data, rtol=1e-12)


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_penalty_gradient_in_the_weights_matches_finite_differences(pack):
    # The penalty is a function of d's first derivative, so its gradient in d's weights
    # is a second derivative: the engine's double backprop, checked entry by entry.
    d = small_discriminator(pack, seed=3)
    x = np.random.default_rng(4).normal(size=(6, 2))
    gamma = 2.0
    params = d.parameters()
    pen, _ = losses.r1_penalty(d, x, gamma)
    analytic = autograd.grad(pen, params)
    h = 1e-6
    worst = 0.0
    for p, ga in zip(params, analytic):
        for idx in np.ndindex(*p.shape):
            old = p.data[idx]
            p.data[idx] = old + h
            up = losses.r1_penalty(d, x, gamma)[0].item()
            p.data[idx] = old - h
            down = losses.r1_penalty(d, x, gamma)[0].item()
            p.data[idx] = old
            numeric = (up - down) / (2 * h)
            worst = max(worst, abs(numeric - ga.data[idx]) / max(1.0, abs(numeric)))
    assert worst < 1e-6, worst
    assert sum(float(np.abs(g.data).sum()) for g in analytic) > 1e-3   # not trivially zero


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # a(x) = w.x + b has gradient w everywhere: the penalty is lambda (|w| - 1)^2 wherever
    # the interpolates fall.
    d = MLPDiscriminator(2, hidden=1, layers=1, pack=2, rng=0).to(np.float64)
    d.hidden[0].weight.data[:] = [[0.3, -1.2, 0.5, 2.0]]
    d.hidden[0].bias.data[:] = 100.0                       # stays on leaky-ReLU's linear side
    d.out.weight.data[:] = [[1.5]]
    w = 1.5 * np.array([0.3, -1.2, 0.5, 2.0])
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    gp = losses.gradient_penalty(d, real, fake, 10.0, rng).item()
    assert abs(gp - 10.0 * (np.linalg.norm(w) - 1) ** 2) < 1e-9
