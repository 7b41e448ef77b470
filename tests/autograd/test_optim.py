"""autograd.optim against hand-written updates (Kingma & Ba 2015 Algorithm 1,
Loshchilov & Hutter 2019, torch.optim's documented rules)."""
import math

import numpy as np
import pytest

from autograd import Tensor
from autograd import nn, optim
from autograd.backend import use_kernels


@pytest.fixture(params=["numpy", "numba"])
def kernel_set(request):
    """Run the fused-Adam tests with the reference kernel and with the compiled one."""
    import autograd.backend as backend
    before = backend._active
    use_kernels(request.param)
    yield request.param
    backend._active = before


def _params(rng, shapes, dtype=np.float64):
    return [nn.Parameter(rng.standard_normal(s), dtype=dtype) for s in shapes]


def _grads(rng, shapes, n):
    return [[rng.standard_normal(s) for s in shapes] for _ in range(n)]


SHAPES = [(3, 4), (4,), (2, 3, 2)]


# ------------------------------------------------------------------------ SGD

@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_weight_decay_matches_hand_computation(nesterov):
    rng = np.random.default_rng(0)
    params = _params(rng, SHAPES)
    ref = [p.data.copy() for p in params]
    bufs = [None] * len(params)
    lr, mu, wd = 0.1, 0.9, 0.01
    opt = optim.SGD(params, lr=lr, momentum=mu, weight_decay=wd, nesterov=nesterov)
    for grads in _grads(rng, SHAPES, 3):
        for p, g in zip(params, grads):
            p.grad = g.copy()
        opt.step()
        for i, g in enumerate(grads):        # torch.optim.SGD's documented rule
            d = g + wd * ref[i]
            bufs[i] = d.copy() if bufs[i] is None else mu * bufs[i] + d
            step = d + mu * bufs[i] if nesterov else bufs[i]
            ref[i] = ref[i] - lr * step
        for p, g, r in zip(params, grads, ref):
            np.testing.assert_allclose(p.data, r, rtol=0, atol=1e-12)
            np.testing.assert_array_equal(p.grad, g)   # the gradient is not modified


def test_plain_sgd_is_p_minus_lr_g():
    p = nn.Parameter(np.array([1.0, -2.0]), dtype=np.float64)
    p.grad = np.array([0.5, 0.25])
    optim.SGD([p], lr=0.2).step()
    np.testing.assert_allclose(p.data, [0.9, -2.05])


# ------------------------------------------------------------------------ Adam / AdamW

def _numpy_adam(p, grads, lr, b1, b2, eps, wd, decoupled):
    """Kingma & Ba 2015, Algorithm 1, written out; wd as L2 (Adam) or decoupled (AdamW)."""
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("cls,wd", [(optim.Adam, 0.0), (optim.Adam, 0.1),
                                    (optim.AdamW, 0.1)])
def test_adam_first_three_steps_match_algorithm_1(kernel_set, cls, wd):
    rng = np.random.default_rng(1)
    params = _params(rng, SHAPES)
    start = [p.data.copy() for p in params]
    grads = _grads(rng, SHAPES, 3)
    lr, betas, eps = 0.01, (0.8, 0.95), 1e-8
    opt = cls(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    refs = [_numpy_adam(s, [g[i] for g in grads], lr, *betas, eps, wd,
                        decoupled=cls is optim.AdamW) for i, s in enumerate(start)]
    for t in range(3):
        for p, g in zip(params, grads[t]):
            p.grad = g.copy()
        opt.step()
        for i, p in enumerate(params):
            np.testing.assert_allclose(p.data, refs[i][t], rtol=0, atol=1e-6)
    assert opt.steps == [3, 3, 3]


def test_adam_and_adamw_agree_without_weight_decay(kernel_set):
    rng = np.random.default_rng(2)
    a = _params(rng, SHAPES, np.float32)
    b = [nn.Parameter(p.data.copy()) for p in a]
    oa = optim.Adam(a, lr=3e-3)
    ob = optim.AdamW(b, lr=3e-3, weight_decay=0.0)
    for grads in _grads(rng, SHAPES, 4):
        for p, q, g in zip(a, b, grads):
            p.grad = g.astype(np.float32)
            q.grad = g.astype(np.float32)
        oa.step()
        ob.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.data.dtype == np.float32


def test_adam_defaults_are_pytorchs():
    p = nn.Parameter(np.zeros(2))
    a, w = optim.Adam([p]), optim.AdamW([p])
    assert (a.lr, a.betas, a.eps, a.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert w.weight_decay == 1e-2


def test_adam_skips_parameters_without_gradient(kernel_set):
    rng = np.random.default_rng(3)
    params = _params(rng, SHAPES)
    before = [p.data.copy() for p in params]
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = np.ones(SHAPES[0])
    opt.step()
    assert not np.allclose(params[0].data, before[0])
    for p, b in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.data, b)
    assert opt.steps == [1, 0, 0]


def test_adam_minimises_a_quadratic(kernel_set):
    rng = np.random.default_rng(4)
    target = rng.standard_normal((5, 3)).astype(np.float32)
    scale = Tensor(np.linspace(0.5, 4.0, 15, dtype=np.float32).reshape(5, 3))
    p = nn.Parameter(np.zeros((5, 3)))
    opt = optim.Adam([p], lr=0.05)
    first = None
    for _ in range(400):
        opt.zero_grad()
        loss = (scale * (p - Tensor(target)) ** 2).sum()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 1e-4 * first
    np.testing.assert_allclose(p.data, target, atol=1e-2)


def test_optimizer_zero_grad_drops_gradients():
    p = nn.Parameter(np.ones(3))
    p.grad = np.ones(3)
    optim.SGD([p], lr=1.0).zero_grad()
    assert p.grad is None


def test_optimizer_accepts_a_module_and_dedups_shared_parameters():
    lin = nn.Linear(2, 3, rng=0)
    opt = optim.Adam(lin)
    assert [id(p) for p in opt.params] == [id(lin.weight), id(lin.bias)]
    assert len(optim.SGD([lin.weight, lin.weight], lr=1.0).params) == 1
    with pytest.raises(ValueError):
        optim.SGD([], lr=1.0)


# ------------------------------------------------------------------------ resume

def _train(opt_factory, steps, resume_at=None):
    """Train a small model on fixed data; with ``resume_at``, checkpoint there, build
    everything afresh, load, and continue."""
    rng = np.random.default_rng(5)
    x = Tensor(rng.standard_normal((16, 3)).astype(np.float32))
    y = Tensor(rng.standard_normal((16, 2)).astype(np.float32))

    def build():
        model = nn.Sequential(nn.Linear(3, 8, rng=6), nn.Tanh(), nn.Linear(8, 2, rng=7))
        return model, opt_factory(model.parameters())

    model, opt = build()
    for t in range(steps):
        if t == resume_at:
            ms, os_ = model.state_dict(), opt.state_dict()
            model, opt = build()
            model.load_state_dict(ms)
            opt.load_state_dict(os_)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return model.state_dict()


@pytest.mark.parametrize("factory", [
    lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-3),
    lambda ps: optim.AdamW(ps, lr=1e-2),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
], ids=["adam", "adamw", "sgd"])
def test_state_dict_round_trip_resumes_exactly(factory):
    straight = _train(factory, 8)
    resumed = _train(factory, 8, resume_at=4)
    for k in straight:
        np.testing.assert_array_equal(straight[k], resumed[k])


def test_optimizer_state_dict_is_arrays_and_scalars_and_checks_sizes():
    lin = nn.Linear(2, 3, rng=0)
    opt = optim.Adam(lin.parameters(), lr=1e-2)
    for p in lin.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) >= {"lr", "steps", "exp_avg.0", "exp_avg_sq.1"}
    assert all(isinstance(v, (np.ndarray, float, int, bool)) for v in sd.values())
    sd["exp_avg.0"][:] = 123.0                      # a copy: the optimizer is unaffected
    assert not np.any(opt.state["exp_avg"][0] == 123.0)
    other = optim.Adam(nn.Linear(3, 3, rng=0).parameters())
    with pytest.raises(ValueError, match="exp_avg.0"):
        other.load_state_dict(opt.state_dict())


# ------------------------------------------------------------------------ clipping

def test_clip_grad_norm_returns_total_norm_and_scales_like_pytorch():
    rng = np.random.default_rng(8)
    params = _params(rng, SHAPES)
    grads = _grads(rng, SHAPES, 1)[0]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    got = optim.clip_grad_norm_(params, max_norm=0.5)
    assert got == pytest.approx(total, rel=1e-12)
    coef = 0.5 / (total + 1e-6)                   # torch: max_norm / (norm + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
    new_norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    assert new_norm == pytest.approx(0.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_skips_none():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))
    a.grad = np.array([3.0, 4.0], dtype=np.float32)
    assert optim.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    assert b.grad is None
    assert optim.clip_grad_norm_([a], 1.0, norm_type=float("inf")) == pytest.approx(4.0)
    np.testing.assert_allclose(a.grad, np.array([3.0, 4.0]) / (4.0 + 1e-6), rtol=1e-6)


# ------------------------------------------------------------------------ EMA

def test_ema_follows_its_formula():
    lin = nn.Linear(2, 2, rng=0)
    ema = optim.EMA(lin, decay=0.9)
    s = [p.data.astype(np.float64) for p in lin.parameters()]
    rng = np.random.default_rng(9)
    for _ in range(3):
        for p in lin.parameters():
            p.data += rng.standard_normal(p.shape).astype(np.float32)
        ema.update()
        s = [0.9 * a + 0.1 * p.data for a, p in zip(s, lin.parameters())]
    for a, b in zip(s, ema.shadow):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert ema.num_updates == 3


def test_ema_swapped_puts_average_in_and_restores_even_on_error():
    lin = nn.Linear(3, 2, rng=0)
    ema = optim.EMA(lin.parameters(), decay=0.5)
    for p in lin.parameters():
        p.data += 1.0
    ema.update()
    trained = [p.data.copy() for p in lin.parameters()]
    with ema.swapped(lin):
        for p, s in zip(lin.parameters(), ema.shadow):
            np.testing.assert_array_equal(p.data, s)
    for p, t in zip(lin.parameters(), trained):
        np.testing.assert_array_equal(p.data, t)
    with pytest.raises(RuntimeError):
        with ema.swapped(lin):
            raise RuntimeError("sampling failed")
    for p, t in zip(lin.parameters(), trained):
        np.testing.assert_array_equal(p.data, t)
    other = nn.Linear(3, 2, rng=1)
    ema.copy_to(other)
    for p, s in zip(other.parameters(), ema.shadow):
        np.testing.assert_array_equal(p.data, s)
    with pytest.raises(ValueError):
        ema.copy_to(nn.Linear(2, 2))


def test_ema_state_dict_round_trip():
    lin = nn.Linear(2, 2, rng=0)
    ema = optim.EMA(lin, decay=0.99)
    for p in lin.parameters():
        p.data += 1.0
    ema.update()
    sd = ema.state_dict()
    assert "shadow.weight" in sd and "shadow.bias" in sd
    fresh = optim.EMA(lin, decay=0.5)
    fresh.load_state_dict(sd)
    assert fresh.decay == 0.99 and fresh.num_updates == 1
    for a, b in zip(ema.shadow, fresh.shadow):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ schedule

def test_cosine_warmup_values():
    f = optim.cosine_warmup_lr
    assert f(0, 1.0, 10, 110) == 0.0
    assert f(5, 1.0, 10, 110) == pytest.approx(0.5)
    assert f(10, 1.0, 10, 110) == pytest.approx(1.0)           # end of warm-up: peak
    assert f(60, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.55)   # middle: halfway
    assert f(110, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.1)   # end: min_lr
    assert f(500, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.1)   # and stays there
    assert f(0, 2.0, 0, 100) == pytest.approx(2.0)                  # no warm-up


def test_cosine_warmup_scheduler_sets_optimizer_lr():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.4)
    sched = optim.CosineWarmup(opt, warmup_steps=4, total_steps=12, min_lr=0.0)
    seen = [opt.lr]
    for _ in range(12):
        sched.step()
        seen.append(opt.lr)
    expected = [optim.cosine_warmup_lr(t, 0.4, 4, 12, 0.0) for t in range(13)]
    np.testing.assert_allclose(seen, expected)
    assert seen[0] == 0.0 and seen[4] == pytest.approx(0.4) and seen[12] == pytest.approx(0)
    again = optim.CosineWarmup(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.4), 4, 12)
    again.load_state_dict(sched.state_dict())
    assert again.optimizer.lr == pytest.approx(opt.lr)
