"""Optimisers, gradient clipping, parameter averaging and the learning-rate schedule.

PyTorch's names and update rules (``torch.optim``), so a recipe copied from a paper's
code behaves the same here. One simplification: no parameter groups -- an optimiser
holds a flat list of parameters and one ``lr`` attribute, which a schedule sets.

Every optimiser's ``state_dict()`` is a flat dict of NumPy arrays and Python scalars
(it saves into an ``.npz`` as is), holding everything needed to resume a run exactly:
the step counts and the moment / momentum buffers.

Buffers live on their parameter's device (built with ``np.zeros_like`` on the parameter,
and restored there by ``load_state_dict``); the update kernel is the one for that
device (``backend.kernels_for``). Build an optimizer after ``Module.to(device)``.
"""
from contextlib import contextmanager
import math

import numpy as np

from .backend import DeviceArrayBase, kernels, kernels_for, to_device, device_of

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "EMA",
           "CosineWarmup", "cosine_warmup_lr"]


def _param_list(params):
    """A list of distinct parameters from a Module, a list or a generator."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    out, seen = [], set()
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    if not out:
        raise ValueError("optimizer got an empty parameter list")
    return out


def _flat_view(p):
    """``p.data`` as a 1-D view that in-place updates write through to the parameter."""
    d = p.data
    if not d.flags.c_contiguous:
        d = p.data = d.copy()          # a C-contiguous copy, on the parameter's device
    return d.reshape(-1)


def _host_copy(a):
    """A NumPy copy of a buffer, wherever it lives (state dicts are host data)."""
    return a.copy_to_host() if isinstance(a, DeviceArrayBase) else np.array(a, copy=True)


def _zeros_flat(p):
    """A 1-D zero buffer with p's size and dtype, on p's device."""
    return np.zeros_like(p.data, shape=(p.data.size,))


class Optimizer:
    """A flat list of parameters, a learning rate ``lr`` and per-parameter state."""

    # state_dict keys: per-parameter buffers are saved as f"{name}.{index}"
    _buffer_names = ()

    def __init__(self, params, lr):
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.params = _param_list(params)
        self.lr = float(lr)
        self.steps = [0] * len(self.params)   # updates applied to each parameter
        self.state = {name: [None] * len(self.params) for name in self._buffer_names}

    def zero_grad(self):
        """Drop the gradients (PyTorch's default ``set_to_none=True``)."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def _hyper(self):
        """Hyper-parameters (Python scalars) saved with the state and restored by
        load_state_dict, as PyTorch restores its param_groups."""
        return {}

    def state_dict(self):
        out = {"lr": self.lr, "steps": np.array(self.steps, dtype=np.int64)}
        out.update(self._hyper())
        for name, bufs in self.state.items():
            for i, b in enumerate(bufs):
                if b is not None:
                    out[f"{name}.{i}"] = _host_copy(b)
        return out

    def load_state_dict(self, state):
        """Restore step counts, buffers (copies) and hyper-parameters, so continuing
        from a checkpoint gives the same parameters as never stopping."""
        steps = np.asarray(state["steps"])
        if steps.shape != (len(self.params),):
            raise ValueError(f"optimizer state has {steps.size} parameters, "
                             f"this optimizer has {len(self.params)}")
        for name, bufs in self.state.items():
            for i, p in enumerate(self.params):
                key = f"{name}.{i}"
                if key not in state:
                    bufs[i] = None
                    continue
                b = np.asarray(state[key])
                if b.size != p.data.size:
                    raise ValueError(f"optimizer state {key!r} has {b.size} entries, "
                                     f"parameter {i} has {p.data.size}")
                bufs[i] = to_device(np.array(b, dtype=p.data.dtype, copy=True).reshape(-1),
                                    device_of(p.data))
        self.steps = [int(s) for s in steps]
        self.lr = float(state["lr"])
        for k, v in self._hyper().items():
            if k in state:
                self._set_hyper(k, type(v)(state[k]))

    def _set_hyper(self, key, value):
        setattr(self, key, value)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``:
        g <- g + wd * p;  b <- g (first step), else b <- mu b + (1 - dampening) g
        g <- g + mu b (Nesterov) or b;  p <- p - lr g
    (Sutskever et al. 2013 for the momentum form; weight decay as an L2 term)."""

    _buffer_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, lr)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def _hyper(self):
        return {"momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov}

    def step(self):
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        bufs = self.state["momentum_buffer"]
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            d = p.data
            if wd != 0.0:
                g = g + wd * d                      # new array: p.grad is untouched
            if mu != 0.0:
                b = bufs[i]
                if b is None:
                    b = bufs[i] = g.astype(d.dtype).reshape(-1)     # a copy
                else:
                    b *= mu
                    b += (1.0 - self.dampening) * g.reshape(-1)
                b = b.reshape(d.shape)
                g = g + mu * b if self.nesterov else b
            d -= (lr * g).astype(d.dtype, copy=False)
            self.steps[i] += 1


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), PyTorch's defaults lr=1e-3,
    betas=(0.9, 0.999), eps=1e-8. ``weight_decay`` adds wd*p to the gradient (L2, as
    ``torch.optim.Adam``). The update runs in the backend's fused ``adam_update``
    kernel, one call per parameter, in place on flat views."""

    _buffer_names = ("exp_avg", "exp_avg_sq")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.betas = (float(b1), float(b2))
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        # The moments, allocated now: the step loop then has no branch for them.
        self.state["exp_avg"] = [_zeros_flat(p) for p in self.params]
        self.state["exp_avg_sq"] = [_zeros_flat(p) for p in self.params]

    def _hyper(self):
        return {"beta1": self.betas[0], "beta2": self.betas[1], "eps": self.eps,
                "weight_decay": self.weight_decay}

    def step(self):
        cpu_update = kernels().adam_update
        lr, (b1, b2), eps, wd = float(self.lr), self.betas, self.eps, self.weight_decay
        decoupled = self._decoupled
        ms, vs, steps = self.state["exp_avg"], self.state["exp_avg_sq"], self.steps
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            d = p.data
            update = cpu_update if type(d) is np.ndarray else kernels_for(d).adam_update
            flat = d.reshape(-1) if d.flags.c_contiguous else _flat_view(p)
            if g.dtype != d.dtype:
                g = g.astype(d.dtype)
            t = steps[i] = steps[i] + 1
            update(flat, g.reshape(-1), ms[i], vs[i], lr, b1, b2, eps, wd, t, decoupled)

    def _set_hyper(self, key, value):
        if key in ("beta1", "beta2"):
            b = list(self.betas)
            b[key == "beta2"] = value
            self.betas = tuple(b)
        else:
            setattr(self, key, value)

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for name in self._buffer_names:                 # a missing moment means zeros
            bufs = self.state[name]
            for i, p in enumerate(self.params):
                if bufs[i] is None:
                    bufs[i] = _zeros_flat(p)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): p <- p(1 - lr wd)
    apart from the adaptive step, so decay is not shrunk where gradients are large.
    Default weight_decay=1e-2, as ``torch.optim.AdamW``."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


def clip_grad_norm_(params, max_norm, norm_type=2.0, eps=1e-6):
    """Scale all gradients together so their joint norm is at most ``max_norm``; return
    the norm before clipping (``torch.nn.utils.clip_grad_norm_``: the factor is
    max_norm / (norm + 1e-6), applied only when below 1). Gradients are replaced by
    scaled copies, never scaled in place, in case an array is shared."""
    params = [p for p in _param_list(params) if p.grad is not None]
    if not params:
        return 0.0
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(p.grad))) for p in params)
    else:
        # Summed where the gradients live (float64 scalars, or device scalars on a GPU)
        # and converted once: one host sync per call, not one per parameter.
        total = float(sum(np.sum(np.abs(p.grad.astype(np.float64)) ** norm_type)
                          for p in params)) ** (1.0 / norm_type)
    coef = float(max_norm) / (total + eps)
    if coef < 1.0:
        for p in params:
            p.grad = p.grad * np.asarray(coef, dtype=p.grad.dtype)
    return total


class EMA:
    """Exponential moving average of parameters: s <- decay s + (1 - decay) p.

    Sampling from the averaged weights gives visibly better diffusion models and GANs
    (Ho et al. 2020 use decay 0.9999; Karras et al. 2018 for GANs) because it averages
    out the last steps' noise. Train the model; sample inside ``ema.swapped(model)``.
    """

    def __init__(self, module_or_params, decay=0.999):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
        self.decay = float(decay)
        if hasattr(module_or_params, "named_parameters"):
            named = module_or_params.named_parameters()
            self.names = [n for n, _ in named]
            self.params = [p for _, p in named]
        else:
            self.params = _param_list(module_or_params)
            self.names = [str(i) for i in range(len(self.params))]
        self.shadow = [p.data.copy() for p in self.params]
        self.num_updates = 0

    def update(self):
        """Fold the current parameters into the average (call after optimizer.step())."""
        a, b = self.decay, 1.0 - self.decay
        for s, p in zip(self.shadow, self.params):
            s *= a
            s += b * p.data
        self.num_updates += 1

    def _targets(self, module=None):
        if module is None:
            return self.params
        targets = _param_list(module)
        if len(targets) != len(self.shadow) or any(
                t.data.shape != s.shape for t, s in zip(targets, self.shadow)):
            raise ValueError("EMA.copy_to: the module's parameters do not match the "
                             f"{len(self.shadow)} averaged ones")
        return targets

    def copy_to(self, module=None):
        """Write the averaged weights into ``module`` (default: the tracked parameters)."""
        for s, p in zip(self.shadow, self._targets(module)):
            np.copyto(p.data, s)

    @contextmanager
    def swapped(self, module=None):
        """Run the body with the averaged weights in place; restore the trained ones
        after, even if the body raises."""
        targets = self._targets(module)
        saved = [p.data.copy() for p in targets]
        try:
            for s, p in zip(self.shadow, targets):
                np.copyto(p.data, s)
            yield
        finally:
            for b, p in zip(saved, targets):
                np.copyto(p.data, b)

    def state_dict(self):
        out = {"decay": self.decay, "num_updates": self.num_updates}
        for n, s in zip(self.names, self.shadow):
            out[f"shadow.{n}"] = _host_copy(s)
        return out

    def load_state_dict(self, state):
        for n, s in zip(self.names, self.shadow):
            key = f"shadow.{n}"
            if key not in state:
                raise ValueError(f"EMA state has no {key!r}")
            src = np.asarray(state[key])
            if src.shape != s.shape:
                raise ValueError(f"EMA state {key!r} has shape {src.shape}, "
                                 f"expected {s.shape}")
            np.copyto(s, src, casting="same_kind")
        self.decay = float(state["decay"])
        self.num_updates = int(state["num_updates"])


def cosine_warmup_lr(step, base_lr, warmup, total, min_lr=0.0):
    """Linear warm-up from 0 to ``base_lr`` over ``warmup`` steps, then half a cosine
    down to ``min_lr`` at ``total`` (Loshchilov & Hutter 2017's cosine annealing with
    the warm-up of Goyal et al. 2017; the shape of Hugging Face's
    ``get_cosine_schedule_with_warmup``). Warm-up keeps Adam's first, badly scaled
    steps small; after ``total`` the rate stays at ``min_lr``."""
    if step < warmup:
        return base_lr * step / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


class CosineWarmup:
    """Sets ``optimizer.lr`` by :func:`cosine_warmup_lr`; call ``step()`` after each
    ``optimizer.step()``, as PyTorch's schedulers. The optimizer's lr at construction
    is the peak rate."""

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0):
        if total_steps < warmup_steps:
            raise ValueError(f"total_steps ({total_steps}) < warmup_steps ({warmup_steps})")
        self.optimizer = optimizer
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.base_lr, self.min_lr = float(optimizer.lr), float(min_lr)
        self.last_step = 0
        optimizer.lr = self.get_lr()

    def get_lr(self):
        return cosine_warmup_lr(self.last_step, self.base_lr, self.warmup_steps,
                                self.total_steps, self.min_lr)

    def step(self):
        self.last_step += 1
        self.optimizer.lr = self.get_lr()
        return self.optimizer.lr

    def state_dict(self):
        return {"last_step": self.last_step, "base_lr": self.base_lr,
                "min_lr": self.min_lr, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps}

    def load_state_dict(self, state):
        self.last_step = int(state["last_step"])
        self.base_lr, self.min_lr = float(state["base_lr"]), float(state["min_lr"])
        self.warmup_steps = int(state["warmup_steps"])
        self.total_steps = int(state["total_steps"])
        self.optimizer.lr = self.get_lr()
