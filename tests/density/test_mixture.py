"""A mixture of Gaussians: EM (Dempster et al. 1977) and gradient ascent through
autograd reach the same optimum; EM never lowers the likelihood; the model plugs into
the workbench."""

import numpy as np
import pytest
from scipy import stats

from scratch_gen import checkpoint, data, registry
from scratch_gen.common.errors import UserError
from scratch_gen.density import mixture as M
from scratch_gen.registry import DataSpec
from scratch_gen.train import fit


def three_blobs(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal([-2, 0], [0.5, 0.8], (n, 2)),
                           rng.normal([2, 1], [0.7, 0.4], (n, 2)),
                           rng.normal([0, 3], 0.6, (n, 2))])


def random_params(k, d, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, d, d))
    return (rng.dirichlet(np.ones(k)), rng.normal(size=(k, d)),
            a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(d))


def test_log_prob_is_the_mixture_formula():
    x = np.random.default_rng(1).normal(size=(40, 3))
    w, mu, cov = random_params(4, 3, 2)
    direct = np.log(sum(w[k] * stats.multivariate_normal(mu[k], cov[k]).pdf(x) for k in range(4)))
    np.testing.assert_allclose(M.log_prob(x, w, mu, cov), direct, rtol=1e-12)


def test_autograd_likelihood_and_parametrization_agree_with_numpy():
    x = np.random.default_rng(3).normal(size=(30, 2))
    w, mu, cov = random_params(3, 2, 4)
    u = M.to_unconstrained(w, mu, cov)
    back = M.from_unconstrained(*u)
    for a, b in zip(back, (w, mu, cov)):
        np.testing.assert_allclose(a, b, atol=1e-12)
    from autograd import Tensor
    ll = M.autograd_log_likelihood(x, *[Tensor(v, requires_grad=True) for v in u])
    assert ll.item() == pytest.approx(M.mean_log_likelihood(x, w, mu, cov), abs=1e-12)


def test_em_never_lowers_the_likelihood():
    x = three_blobs()
    start = M.init_params(x, 3, np.random.default_rng(5))
    *_, history = M.em(x, *start, iters=200, tol=-1.0)      # tol < 0: all 200 rounds
    assert len(history) == 201
    assert np.all(np.diff(history) >= -1e-12)               # Dempster et al., Theorem 1
    assert history[-1] - history[0] > 0.1


def test_em_and_gradient_ascent_reach_the_same_optimum():
    x = three_blobs()
    start = M.init_params(x, 3, np.random.default_rng(1))
    we, me, ce, he = M.em(x, *start, iters=500, tol=-1.0)
    wg, mg, cg, hg = M.gradient_ascent(x, *start, steps=600, lr=0.05)
    assert hg[-1] == pytest.approx(he[-1], abs=1e-10)
    order = np.argsort(mg[:, 0])                             # same components, same order
    assert (order == np.argsort(me[:, 0])).all()
    np.testing.assert_allclose(wg, we, atol=1e-7)
    np.testing.assert_allclose(mg, me, atol=1e-7)
    np.testing.assert_allclose(cg, ce, atol=1e-7)
    # the M-step is the fixed point: one more EM round moves nothing
    w2, m2, c2, _ = M.em_step(x, wg, mg, cg)
    np.testing.assert_allclose(m2, mg, atol=1e-7)


def test_mixture_model_on_gaussians8_is_near_the_truth(tmp_path):
    train, test, ds = data.load("gaussians8", n_train=4000, n_test=4000)
    model = registry.build("density", "mixture", DataSpec.from_data(train))
    fit(model, train, out=str(tmp_path / "m"), quiet=True)
    # the paired KL estimate mean(log p_data - log p_model): the truth is itself a mixture
    kl = float(np.mean(ds.log_prob(test.x) - model.log_prob(test.x)))
    assert 0 <= kl < 0.01
    np.testing.assert_allclose(np.sort(model.weights), np.full(8, 1 / 8), atol=0.02)
    back, _ = checkpoint.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(back.log_prob(test.x[:50]), model.log_prob(test.x[:50]))
    s = model.sample(40_000, np.random.default_rng(0))
    assert abs(s.mean(0)).max() < 0.05 and abs(s.var(0).mean() - train.x.var(0).mean()) < 0.1


def test_mixture_refuses_bad_settings():
    spec = DataSpec("continuous", (2,))
    for bad in ({"method": "newton"}, {"components": 0}, {"restarts": 0}):
        with pytest.raises(UserError):
            registry.build("density", "mixture", spec, bad)
    m = registry.build("density", "mixture", spec, {"components": 5})
    with pytest.raises(UserError, match="3 training points for 5 components"):
        fit(m, np.zeros((3, 2)), quiet=True)
