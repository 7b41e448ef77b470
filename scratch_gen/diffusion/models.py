"""The registered variants: the lecture's algorithm, DDPM, and class-conditional DDPM.

- ``diffusion/ddpm`` (default): Ho et al. 2020. The network predicts the noise eps that
  made x_t from x_0, trained by ``||eps - eps_theta(x_t, t)||^2`` at a uniform t (eq. 14,
  "L_simple"); sampled ancestrally (Algorithm 2) or by DDIM (Song et al. 2021) from the
  same network.
- ``diffusion/lecture``: Isola L14, Algorithm 1.2, literally: generate diffusion
  sequences by iterating the forward step, then train f_theta to predict x_{t-1} from
  (x_t, t), and sample ``x_{t-1} ~ N(f_theta(x_t, t), sigma^2)``.
- ``diffusion/ddpm-cond``: DDPM on p(x | y) with label dropout, sampled with
  classifier-free guidance (Ho & Salimans 2022); y a class label (``cond_dim`` 0) or a
  vector of ``cond_dim`` numbers (the conditional chapter's interface).

Data in model units: continuous data is standardized (``(x - mean) / scale`` with one
scalar scale, fitted in ``setup``), because the schedule assumes data of unit size --
x_T ~ N(0, I) must be "noise" relative to the data. The bound converts back exactly:
``-log p(x) = -log p(z) + D log(scale)`` (change of variables). Images go to [-1, 1]
as in Ho et al. section 3.3: pixel value v of ``levels`` values maps to
``2 v / (levels - 1) - 1``; float images in [0, 1] map by ``2 x - 1``.

For 2D data the MLP reads random Fourier features of x (``fourier`` frequencies,
denoisers.py): ring8's modes have std 0.01 on the unit circle, and near t = 0 the best
denoiser snaps every point onto its mode, a function far sharper than an MLP of raw
(x, y) learns in a few thousand steps (measured on ring8 at 3,000 steps: 22% of samples
within 3 std of a mode from raw x, about 90% with Fourier features).

All three sample with the exponential moving average of the weights (Ho et al. use
decay 0.9999; our runs are shorter, so 0.999 with a warm-up): the average of the last
few thousand iterates is a better denoiser than the last one, which matters most at
the final steps, where a 2D mode's width (ring8's std 0.01) is decided.
"""
import math

import numpy as np

from autograd import Tensor, no_grad
from autograd import functional as F
from autograd import optim
from ..common.errors import UserError
from ..registry import Model, register
from . import bound as bound_mod
from . import sampling
from .denoisers import NULL_LABEL, MLPDenoiser, UNet
from .schedule import Schedule

SAMPLERS = ("ancestral", "ddim")
FLOAT_IMAGE_LEVELS = 256        # float images are scored as 8-bit images


def _positive(name, value, integer=False):
    if integer and (isinstance(value, bool) or not float(value).is_integer()):
        raise UserError(f"{name}={value!r}: expected a positive integer")
    if not value > 0:
        raise UserError(f"{name}={value!r}: expected a positive number")


class _Diffusion(Model):
    """What every variant shares: data <-> model units, the schedule, the network, Adam
    with warm-up, EMA, the bound, and the sampler options."""

    data_kinds = ("continuous", "image")
    default_steps = 5000
    default_batch_size = 256
    image_steps = 3000              # defaults used instead for images (U-Net is slower)
    image_batch_size = 64
    default_config = {
        "T": 1000,                  # diffusion steps (Ho et al.: 1000)
        "schedule": "linear",       # "linear" (Ho et al.) or "cosine" (Nichol & Dhariwal)
        "beta_1": 1e-4,             # linear schedule ends (Ho et al. section 4)
        "beta_T": 0.02,
        "max_beta": 0.999,          # cosine schedule: betas clipped here (N & D: 0.999)
        "variance": "beta",         # reverse-step sigma_t^2: "beta" or "beta_tilde"
        "hidden": 128,              # MLP width (continuous data)
        "depth": 3,                 # MLP residual blocks
        "fourier": 32,              # MLP input: random Fourier frequencies (0: raw x)
        "fourier_max": 64.0,        # the highest, in cycles per unit of standardized x
        "channels": 16,             # U-Net base width (images)
        "mults": [1, 2, 2],         # U-Net width multipliers per resolution
        "lr": 1e-3,
        "warmup": 200,              # linear lr warm-up steps
        "decay_steps": 0,           # cosine lr decay to 0 over this many steps (0: none)
        "grad_clip": 1.0,
        "ema": 0.999,               # EMA decay of the sampling weights
        "sampler": "ancestral",     # default sampler: "ancestral" or "ddim"
        "sample_steps": 0,          # default number of sampling steps (0: T for
                                    # ancestral, 100 for ddim)
        "bound_strata": 100,        # t's per example in the bound estimate (>= T-1: all)
    }

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        _positive("T", c["T"], integer=True)
        for key in ("hidden", "depth", "channels", "bound_strata"):
            _positive(key, c[key], integer=True)
        for key in ("lr", "grad_clip"):
            _positive(key, c[key])
        if not 0.0 <= c["ema"] < 1.0:
            raise UserError(f"ema={c['ema']!r}: expected a decay in [0, 1)")
        if c["sampler"] not in SAMPLERS:
            raise UserError(f"sampler={c['sampler']!r}: expected one of {', '.join(SAMPLERS)}")
        if c["sample_steps"] < 0 or c["sample_steps"] > c["T"]:
            raise UserError(f"sample_steps={c['sample_steps']!r}: expected 0..T={c['T']}")
        if c["variance"] not in ("beta", "beta_tilde"):
            raise UserError(f"variance={c['variance']!r}: expected 'beta' or 'beta_tilde'")
        self.schedule = Schedule.make(c["schedule"], c["T"], c["beta_1"], c["beta_T"],
                                      max_beta=c["max_beta"])
        if spec.kind == "image":
            # Instance attributes read by train.fit when no --steps/--batch-size is given.
            self.default_steps, self.default_batch_size = self.image_steps, self.image_batch_size
            shape = spec.shape
            if len(shape) == 2:
                self.image_chw = (1,) + tuple(shape)
            elif len(shape) == 3:
                self.image_chw = tuple(shape)
            else:
                raise UserError(f"images of shape {shape}: expected (H, W) or (C, H, W)")
            mults = c["mults"]
            if not (isinstance(mults, list) and mults and
                    all(isinstance(m, int) and m > 0 for m in mults)):
                raise UserError(f"mults={mults!r}: expected a list of positive integers")
            self.net = UNet(self.image_chw[0], c["channels"], tuple(mults),
                            num_classes=self._num_classes(), cond_dim=self._cond_dim(),
                            rng=self.rng)
        else:
            self.image_chw = None
            self.net = MLPDenoiser(spec.n_dims, c["hidden"], c["depth"],
                                   num_classes=self._num_classes(),
                                   cond_dim=self._cond_dim(), fourier=c["fourier"],
                                   fourier_max=c["fourier_max"], rng=self.rng)
        self.opt = optim.Adam(self.net.parameters(), lr=c["lr"])
        self.ema = optim.EMA(self.net, decay=c["ema"])
        self.steps_done = 0
        d = spec.n_dims
        self.data_mean = np.zeros(d)            # continuous data: standardization
        self.data_scale = 1.0

    def _num_classes(self):
        return None

    def _cond_dim(self):
        return None

    # ---- data <-> model units -------------------------------------------------------
    def to_model(self, x):
        """Data -> model units: standardized vectors (N, D), or images (N, C, H, W) in
        [-1, 1]."""
        x = self.check_x(x)
        if self.image_chw is None:
            return (x.reshape(len(x), -1).astype(np.float64) - self.data_mean) / self.data_scale
        x = x.astype(np.float64).reshape((len(x),) + self.image_chw)
        if self.spec.levels:
            return 2.0 * x / (self.spec.levels - 1) - 1.0
        return 2.0 * x - 1.0

    def from_model(self, z):
        """Model units -> data: undo the standardization, or map [-1, 1] back to pixel
        values (rounded to the nearest of ``levels`` values, or clipped to [0, 1])."""
        if self.image_chw is None:
            return (z * self.data_scale + self.data_mean).reshape((len(z),) + self.spec.shape)
        z = np.clip(z, -1.0, 1.0).reshape((len(z),) + self.spec.shape)
        if self.spec.levels:
            return np.round((z + 1.0) / 2.0 * (self.spec.levels - 1)).astype(np.int64)
        return ((z + 1.0) / 2.0).astype(np.float32)

    def log_det(self):
        """log |d model-units / d data| per example, so -log p(x) = -log p(z) - log_det:
        ``-D log(scale)`` for the standardization. Images are scored by the discretized
        decoder, a probability mass: nothing to convert."""
        if self.image_chw is None:
            return -self.spec.n_dims * math.log(self.data_scale)
        return 0.0

    def decoder_levels(self):
        """None (Gaussian decoder) for continuous data; the pixel levels for images:
        the data's own, or 256 for float images in [0, 1], which are scored as 8-bit
        images (quantized as ``scratch_gen.data.quantize(x, 256)``), the way Ho et al.
        report bits/dim: a float image's pixels sit on exact zeros (background), where
        a density is unbounded, so only a mass is a meaningful number."""
        if self.image_chw is None:
            return None
        return self.spec.levels or FLOAT_IMAGE_LEVELS

    def bound_input(self, x):
        """The data the bound scores, in model units (float images quantized first)."""
        if self.image_chw is None or self.spec.levels:
            return self.to_model(x)
        k = np.minimum(np.floor(np.asarray(self.check_x(x), np.float64) * FLOAT_IMAGE_LEVELS),
                       FLOAT_IMAGE_LEVELS - 1)
        return (2.0 * k / (FLOAT_IMAGE_LEVELS - 1) - 1.0).reshape((len(k),) + self.image_chw)

    def setup(self, train_x, train_y, rng):
        x = self.check_x(train_x)
        if self.image_chw is None:
            flat = x.reshape(len(x), -1).astype(np.float64)
            self.data_mean = flat.mean(axis=0)
            scale = float(np.sqrt(((flat - self.data_mean) ** 2).mean()))
            self.data_scale = scale if scale > 0 else 1.0

    # ---- the network as a function of arrays ---------------------------------------
    def _net_fn(self, cond=None):
        """``f(x_t, t) -> network output`` on float64 arrays, without a graph, in chunks
        (so a 2,500-point sampler or a big bound fits in memory). ``cond``: None, or the
        network's condition keywords (``y`` labels, or ``c`` vectors and ``c_keep``), one
        row per example, sliced along with x."""
        chunk = 256 if self.image_chw is not None else 8192

        def f(x, t):
            out = np.empty_like(x)
            with no_grad():
                for i in range(0, len(x), chunk):
                    sl = slice(i, i + chunk)
                    kw = {} if cond is None else {k: v[sl] for k, v in cond.items()}
                    out[sl] = self.net(x[sl].astype(np.float32), t[sl], **kw).data
            return out
        return f

    def _ema_weights(self):
        return self.ema.swapped(self.net)

    def _lr_now(self):
        """Linear warm-up, then constant, or a cosine decay to 0 at ``decay_steps``
        (autograd.optim.cosine_warmup_lr): the last steps at a small rate settle the
        fine detail, as the EMA does."""
        c, n = self.config, self.steps_done + 1
        if c["decay_steps"] > 0:
            return optim.cosine_warmup_lr(n, c["lr"], c["warmup"], c["decay_steps"])
        return c["lr"] * min(1.0, n / c["warmup"]) if c["warmup"] > 0 else c["lr"]

    def _update(self, loss):
        """Backward, clip, Adam (with warm-up), EMA (with warm-up: decay
        min(ema, (1 + n) / (10 + n)), so the average forgets the random init early)."""
        self.opt.zero_grad()
        loss.backward()
        norm = optim.clip_grad_norm_(self.net.parameters(), self.config["grad_clip"])
        self.opt.lr = self._lr_now()
        self.opt.step()
        n = self.steps_done
        self.ema.decay = min(self.config["ema"], (1.0 + n) / (10.0 + n))
        self.ema.update()
        self.steps_done += 1
        return norm

    # ---- checkpoints -----------------------------------------------------------------
    def state_dict(self):
        return {"net": dict(self.net.state_dict()), "opt": self.opt.state_dict(),
                "ema": self.ema.state_dict(), "steps_done": self.steps_done,
                "data_mean": self.data_mean.copy(), "data_scale": float(self.data_scale)}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.ema.load_state_dict(state["ema"])
        self.steps_done = int(state["steps_done"])
        self.data_mean = np.array(state["data_mean"], dtype=np.float64).reshape(-1)
        self.data_scale = float(state["data_scale"])

    # ---- inference ---------------------------------------------------------------------
    def _noise(self, n, rng):
        shape = (n,) + (self.image_chw if self.image_chw is not None else (self.spec.n_dims,))
        return rng.standard_normal(shape)

    def _options(self, options, allowed):
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise UserError(f"{self.name()} sample() has no option {unknown[0]!r}; "
                            f"its options: {', '.join(sorted(allowed))}")
        sampler = options.get("sampler") or self.config["sampler"]
        if sampler not in SAMPLERS:
            raise UserError(f"sampler={sampler!r}: expected one of {', '.join(SAMPLERS)}")
        steps = options.get("steps") or self.config["sample_steps"] or None
        if sampler == "ddim" and steps is None:
            steps = min(100, self.schedule.T)
        if steps is not None:
            sampling.timesteps(self.schedule.T, steps)         # validates
        eta = options.get("eta")
        eta = (0.0 if sampler == "ddim" else 1.0) if eta is None else float(eta)
        if eta < 0:
            raise UserError(f"eta={eta}: expected >= 0 (0 is deterministic DDIM, 1 is DDPM)")
        return sampler, steps, eta

    def sample(self, n, rng, label=None, condition=None, **options):
        """``n`` samples in data units. Options: ``sampler`` ("ancestral" | "ddim"),
        ``steps`` (fewer than T: the respaced generalized step, Song et al. eq. 12),
        ``eta`` (DDIM's noise, default 0; ancestral is eta = 1); for ``ddpm-cond``,
        ``guidance`` w and ``label`` (an int, or one int per sample) or, when built with
        ``cond_dim`` C > 0, ``condition`` (one vector of C numbers for all n samples, or
        n of them)."""
        return self._run(n, rng, label, condition, None, False, options)[0]

    def sample_path(self, n, rng, label=None, x_T=None, condition=None, **options):
        """``(samples in data units, path in model units (K + 1, n, ...))``: the reverse
        trajectory from x_T, for the pictures. ``x_T`` fixes the starting noise ("dice
        rolls")."""
        return self._run(n, rng, label, condition, x_T, True, options)

    def _count(self, n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise UserError(f"number of samples must be an integer >= 0, got {n!r}")
        return int(n)

    def _run(self, n, rng, label, condition, x_T, record, options):
        raise NotImplementedError

    # ---- likelihood ----------------------------------------------------------------
    def _mean_fn(self, y=None):
        raise NotImplementedError

    def bound_terms(self, x, y=None, rng=None, n_strata=None):
        """Ho et al. eq. 5 per example, in nats, for data ``x`` in data units: a dict of
        arrays ``prior`` (L_T), ``diffusion`` (sum of L_{t-1}), ``decoder`` (L_0),
        ``log_det`` (the change of variables back to data units) and their sum
        ``total``, an upper bound on -log p_theta(x). Uses the EMA weights."""
        rng = np.random.default_rng(0) if rng is None else rng
        z = self.bound_input(x)
        if y is not None and len(y) != len(z):
            raise UserError(f"{len(y)} labels or conditions for {len(z)} examples; expected "
                            "one per example")
        with self._ema_weights():
            terms = bound_mod.variational_bound(
                self._mean_fn(y), self.schedule, z, rng, variance=self._bound_variance(),
                levels=self.decoder_levels(),
                n_strata=n_strata or self.config["bound_strata"])
        terms["log_det"] = np.full(len(z), -self.log_det())
        terms["total"] = terms["total"] + terms["log_det"]
        return terms

    def _bound_variance(self):
        return self.config["variance"]

    def log_prob(self, x, y=None):
        """``-L``, minus the variational bound of Ho et al. eq. 5: a *lower* bound on
        log p_theta(x) (so the NLL the workbench reports is an upper bound on the model's
        true NLL, and NLL - entropy an upper bound on its KL to the data). Stochastic in
        x_t and t; a fixed internal seed makes it repeatable."""
        return -self.bound_terms(x, y)["total"]

    def evaluate(self, test, dataset):
        """The bound split into its parts (Ho et al. eq. 5), in nats per example."""
        x, y = test.x, getattr(test, "y", None)
        terms = self.bound_terms(x, y if self.conditional else None)
        out = {f"bound_{k}": float(np.mean(v)) for k, v in terms.items()}
        if self.image_chw is not None:
            out["bound_bits_per_dim"] = out["bound_total"] / (self.spec.n_dims * math.log(2))
        return out


# ================================================================================ DDPM

@register("diffusion", "ddpm")
class DDPM(_Diffusion):
    description = "DDPM: eps-prediction (Ho et al. eq. 14), ancestral or DDIM sampling"
    slide = ("Isola L14, 'Gaussian diffusion models'; Ho et al. 2020 eq. 14, Algorithm 2; "
             "Song et al. 2021 (DDIM)")

    def train_step(self, batch_x, batch_y, rng):
        """Ho et al. Algorithm 1: t ~ U{1..T}, eps ~ N(0, I), x_t = sqrt(abar_t) x_0 +
        sqrt(1 - abar_t) eps (eq. 4), loss ||eps - eps_theta(x_t, t)||^2 (eq. 14)."""
        x0 = self.to_model(batch_x)
        n = len(x0)
        t = rng.integers(1, self.schedule.T + 1, size=n)
        eps = rng.standard_normal(x0.shape)
        x_t = self.schedule.q_sample(x0, t, eps)
        cond = self._train_cond(batch_y, rng, n)
        pred = self.net(x_t.astype(np.float32), t, **(cond or {}))
        loss = F.mse_loss(pred, Tensor(eps.astype(np.float32)))
        norm = self._update(loss)
        return {"loss": loss.item(), "grad_norm": norm}

    def _train_cond(self, batch_y, rng, n):
        return None

    def _sample_cond(self, n, label, condition):
        """The network's condition keywords for n samples (None: unconditional)."""
        if condition is not None:
            raise UserError(f"{self.name()} is unconditional; it cannot sample with a "
                            "condition vector")
        self.check_label(label)
        return None

    def _eps_fn(self, cond=None, guidance=1.0):
        return self._net_fn()

    def _mean_fn(self, y=None):
        eps_fn = self._net_fn(None if y is None else {"y": np.asarray(y)})
        return lambda x, t: self.schedule.mean_from_eps(x, t, eps_fn(x, t))

    def _run(self, n, rng, label, condition, x_T, record, options):
        n = self._count(n)
        allowed = {"sampler", "steps", "eta"} | ({"guidance"} if self.conditional else set())
        sampler, steps, eta = self._options(options, allowed)
        cond = self._sample_cond(n, label, condition)
        guidance = float(options.get("guidance", 1.0) if options.get("guidance") is not None
                         else 1.0)
        x = self._noise(n, rng) if x_T is None else np.asarray(x_T, dtype=np.float64)
        clip = 1.0 if self.image_chw is not None else None
        with self._ema_weights():
            eps_fn = self._eps_fn(cond, guidance)
            if sampler == "ancestral" and (steps is None or steps == self.schedule.T) \
                    and eta == 1.0:
                out = sampling.ancestral(eps_fn, self.schedule, x, rng,
                                         variance=self.config["variance"], clip=clip,
                                         record=record)
            else:
                out = sampling.ddim(eps_fn, self.schedule, x, rng, steps=steps or
                                    self.schedule.T, eta=eta, clip=clip, record=record)
        z, path = out if record else (out, None)
        return self.from_model(z), path


# ========================================================================= conditional

@register("diffusion", "ddpm-cond")
class ConditionalDDPM(DDPM):
    """DDPM on p(x | y), y either a class label (``cond_dim`` 0, the default) or a vector
    of ``cond_dim`` = C numbers (any shape per example, flattened; e.g. a glyph's lower
    half for completion, a 2D start position). The interface is the conditional chapter's
    (scratch_gen/conditional/condition.py): train with ``train.fit(model, (x, y))``;
    sample with ``model.sample(n, rng, label=k)`` or ``model.sample(n, rng,
    condition=c)`` (one vector for all n samples, or an (n, C) array), ``guidance=w``.

    The condition enters the denoiser through its embedding, added to the time
    embedding (MLP and U-Net alike, denoisers.Conditioning). Vectors are centred and
    scaled (one scalar) by their training statistics, as the data is. For guidance
    the unconditional model is the same network given the *null* condition: a learned
    null label, or for vectors a learned null embedding chosen by a flag (not the zero
    vector, which is often a real condition: an empty lower half). Without a label or
    condition, sample() draws from that unconditional model."""
    description = ("conditional DDPM (class labels, or vectors with cond_dim) with label "
                   "dropout and classifier-free guidance")
    slide = ("He L1, 'Generative models are about p(x|y)'; Ho & Salimans 2022 "
             "(classifier-free guidance)")
    conditional = True
    default_config = dict(DDPM.default_config, p_uncond=0.1, guidance=1.0, cond_dim=0)

    def __init__(self, spec, config=None, rng=None):
        cond_dim = dict(self.default_config, **(config or {})).get("cond_dim", 0)
        if isinstance(cond_dim, bool) or not isinstance(cond_dim, (int, np.integer)) or \
                cond_dim < 0:
            raise UserError(f"{self.name()} setting cond_dim={cond_dim!r}: expected 0 (class "
                            "labels) or the number of numbers in each condition vector")
        if cond_dim == 0 and not spec.num_classes:
            raise UserError(f"{self.name()} conditions on class labels (cond_dim=0) and needs "
                            f"labelled data (num_classes); {spec.name or 'this data'} has "
                            "none; give labelled data or condition vectors (cond_dim=C)")
        super().__init__(spec, config, rng)
        if not 0.0 <= self.config["p_uncond"] < 1.0:
            raise UserError(f"p_uncond={self.config['p_uncond']!r}: expected a probability "
                            "in [0, 1)")
        self.width = int(self.config["cond_dim"])
        self.cond_mean = np.zeros(self.width)         # vectors: training statistics
        self.cond_scale = 1.0

    @property
    def by_label(self):
        return self.width == 0

    def _num_classes(self):
        return self.spec.num_classes if self._vector_width() == 0 else None

    def _cond_dim(self):
        return self._vector_width() or None

    def _vector_width(self):
        return int(self.config["cond_dim"])

    def check_label(self, label):
        if label is not None and not self.by_label:
            raise UserError(f"{self.name()} conditions on vectors of {self.width} numbers, "
                            f"not on labels; got label={label!r} (pass condition=)")
        return super().check_label(label)

    # ---- y -> the network's condition --------------------------------------------------
    def _vectors(self, c, n, what="condition vectors"):
        """(n, C) float64 from anything of n * C numbers, checked; then standardized."""
        c = np.asarray(c)
        if c.dtype.kind not in "biuf":
            raise UserError(f"{what} of dtype {c.dtype}: expected numbers")
        if c.ndim == 0 or len(c) != n or c.size != n * self.width:
            raise UserError(f"{what} of shape {c.shape}: expected {n} vectors of {self.width} "
                            f"numbers each (cond_dim={self.width})")
        c = c.reshape(n, self.width).astype(np.float64)
        if not np.isfinite(c).all():
            raise UserError(f"{what} hold nan or inf; expected finite numbers")
        return (c - self.cond_mean) / self.cond_scale

    def _labels(self, y, n):
        y = np.asarray(y).reshape(-1)
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        k = self.spec.num_classes
        if y.shape != (n,) or y.dtype.kind not in "iu" or (n and (y.min() < 0 or y.max() >= k)):
            raise UserError(f"labels y: expected {n} integers in 0..{k - 1}, got shape "
                            f"{y.shape} dtype {y.dtype}")
        return y.astype(np.int64)

    def _cond(self, y, n, keep=None):
        """User-facing labels or vectors of n examples -> the network's keywords."""
        if self.by_label:
            labels = self._labels(y, n)
            if keep is not None:
                labels = np.where(keep, labels, NULL_LABEL)
            return {"y": labels}
        c = self._vectors(y, n)
        return {"c": c, "c_keep": np.ones(n, bool) if keep is None else keep}

    def _null(self, cond):
        """The same batch with every condition replaced by the null one."""
        if "y" in cond:
            return {"y": np.full(len(cond["y"]), NULL_LABEL)}
        return {"c": cond["c"], "c_keep": np.zeros(len(cond["c"]), bool)}

    def setup(self, train_x, train_y, rng):
        if train_y is None:
            raise UserError(f"{self.name()} trains on (x, y) pairs; got no labels or "
                            "conditions")
        super().setup(train_x, train_y, rng)
        if not self.by_label:
            c = self._vectors(train_y, len(train_y), "training condition vectors")
            self.cond_mean = c.mean(axis=0)
            scale = float(np.sqrt(((c - self.cond_mean) ** 2).mean()))
            self.cond_scale = scale if scale > 0 else 1.0
        else:
            self._labels(train_y, len(train_y))

    def _train_cond(self, batch_y, rng, n):
        """Label dropout (Ho & Salimans 2022, Algorithm 1): with probability p_uncond the
        condition is replaced by the null one, so one network learns both eps(x_t | y)
        and eps(x_t), the two halves of guidance."""
        if batch_y is None:
            raise UserError(f"{self.name()} trains on (x, y) pairs; got no labels or "
                            "conditions")
        return self._cond(batch_y, n, keep=rng.random(n) >= self.config["p_uncond"])

    def _sample_cond(self, n, label, condition):
        """The condition of each of n samples: a label (an int, or n of them), or a vector
        (one for all, or n of them); None (neither): the unconditional model."""
        if condition is not None:
            if label is not None:
                raise UserError("give a label or a condition, not both")
            if self.by_label:
                raise UserError(f"{self.name()} conditions on class labels (cond_dim=0); "
                                "pass label=, not a condition vector")
            c = np.asarray(condition)
            if c.size == self.width:                     # one vector for all n samples
                c = np.broadcast_to(c.reshape(1, -1), (n, self.width))
            return self._cond(c, n)
        if label is None:
            return None
        if np.ndim(label) == 0 or not self.by_label:
            label = self.check_label(label)
            return self._cond(np.full(n, label, dtype=np.int64), n)
        return self._cond(label, n)                      # one label per sample

    def _mean_fn(self, y=None):
        """The reverse mean given y (labels or vectors, one per example), for the bound;
        y None: the unconditional model."""
        if y is None:
            eps_fn = self._net_fn(None)
        else:
            eps_fn = self._net_fn(self._cond(y, len(y)))
        return lambda x, t: self.schedule.mean_from_eps(x, t, eps_fn(x, t))

    def _eps_fn(self, cond=None, guidance=None):
        """eps for sampling: unconditional (the null condition) when ``cond`` is None,
        else ``eps_u + w (eps_c - eps_u)`` (sampling.guided_eps), w = ``guidance`` (config
        default 1: plain conditional). Both halves in one network call on a doubled
        batch, as Ho & Salimans' implementation does."""
        if cond is None:
            return self._net_fn(None)          # the network reads no condition as null
        w = self.config["guidance"] if guidance is None else guidance
        if w == 1.0:
            return self._net_fn(cond)
        null = self._null(cond)
        both = self._net_fn({k: np.concatenate([null[k], cond[k]]) for k in cond})

        def eps(x, t):
            e = both(np.concatenate([x, x]), np.concatenate([t, t]))
            return sampling.guided_eps(e[:len(x)], e[len(x):], w)
        return eps

    def _run(self, n, rng, label, condition, x_T, record, options):
        if options.get("guidance") is None:
            options = dict(options, guidance=self.config["guidance"])
        return super()._run(n, rng, label, condition, x_T, record, options)

    def state_dict(self):
        return dict(super().state_dict(), cond_mean=self.cond_mean.copy(),
                    cond_scale=float(self.cond_scale))

    def load_state_dict(self, state):
        super().load_state_dict(state)
        # checkpoints from before vector conditions hold neither: labels need none
        self.cond_mean = np.array(state.get("cond_mean", np.zeros(self.width)),
                                  dtype=np.float64).reshape(-1)
        self.cond_scale = float(state.get("cond_scale", 1.0))


# ============================================================================= lecture

@register("diffusion", "lecture")
class Lecture(_Diffusion):
    description = ("Isola L14 Algorithm 1.2: iterate the forward chain, regress x_{t-1} "
                   "on (x_t, t), sample x_{t-1} ~ N(f(x_t, t), sigma^2)")
    slide = "Isola L14, 'Stripped down training algorithm' (Algorithm 1.2)"
    # Fewer, larger steps than DDPM: the regression target x_{t-1} is noisy (its noise
    # has std sqrt(beta~_t) per coordinate, while the signal E[x_{t-1} | x_t] - x_t is
    # about sqrt(beta_t / t) times that), so the signal-to-noise ratio of the t-th
    # problem falls like 1/t and a long chain learns slowly. T = 100 with betas
    # 2e-3..0.14 still ends at abar_T = 6e-4, i.e. at noise.
    default_config = dict(_Diffusion.default_config, T=100, beta_1=2e-3, beta_T=0.14,
                          pairs=4)

    def _f(self, x_t, t, out):
        """f_theta(x_t, t) = x_t + sqrt(beta_t) g_theta(x_t, t): a prediction of x_{t-1}.
        Writing it as x_t plus a step of size sqrt(beta_t) only rescales the network's
        output to order one (x_{t-1} - x_t is of that size); f still predicts x_{t-1}."""
        sb = np.sqrt(self.schedule.beta[t]).reshape((-1,) + (1,) * (x_t.ndim - 1))
        return x_t + sb * out

    def train_step(self, batch_x, batch_y, rng):
        """Algorithm 1.2. Lines 3-7: generate the diffusion sequence of each example by
        iterating the slide's step (only as far as needed: up to the largest t drawn).
        Line 10 sums over every example and every t; we estimate the sum with ``pairs``
        random t's per sequence (the sequence costs T steps to make, the network far
        less per pair). Each pair is a regression (x_t, t) -> x_{t-1} with
        the loss L = -log N(x_{t-1}; f_theta(x_t, t), sigma_t^2 I) = ||x_{t-1} -
        f_theta||^2 / (2 sigma_t^2) + const, sigma_t^2 = beta_t: the maximum-likelihood
        loss of the reverse step the slide writes down. Since ``E ||x_{t-1} - f||^2 =
        ||mu~ - f||^2 + const`` under q(x_{t-1} | x_t, x_0), this is Ho et al.'s L_{t-1}
        up to a constant, but estimated with the noise of the sample x_{t-1}, which DDPM's
        eps-parameterization removes."""
        x0 = self.to_model(batch_x)
        n, k = len(x0), self.config["pairs"]
        t = rng.integers(1, self.schedule.T + 1, size=(k, n))
        chain = self.schedule.forward_chain(x0, rng, t_max=int(t.max()))
        rows = np.broadcast_to(np.arange(n), (k, n))
        t, rows = t.reshape(-1), rows.reshape(-1)
        x_t, x_prev = chain[t, rows], chain[t - 1, rows]
        sb = np.sqrt(self.schedule.beta[t]).reshape((-1,) + (1,) * (x0.ndim - 1))
        g = self.net(x_t.astype(np.float32), t)
        # ||x_{t-1} - f||^2 / (2 beta_t) = ||(x_{t-1} - x_t) / sqrt(beta_t) - g||^2 / 2
        target = ((x_prev - x_t) / sb).astype(np.float32)
        loss = F.mse_loss(g, Tensor(target))
        norm = self._update(loss)
        return {"loss": loss.item(), "grad_norm": norm}

    def _mean_fn(self, y=None):
        g = self._net_fn()
        return lambda x, t: self._f(x, t, g(x, t))

    def _bound_variance(self):
        """The slide's sigma^2 is a modeling choice; ours is beta_t (Ho et al. section
        3.2), for sampling and for the bound alike, whatever ``variance`` says."""
        return "beta"

    def _run(self, n, rng, label, condition, x_T, record, options):
        """The slide's reverse process: x_{t-1} ~ N(f_theta(x_t, t), beta_t I), the last
        step its mean. ``sampler="ddim"`` reads the same f as a noise prediction (invert
        Ho et al. eq. 11: eps = (x_t - sqrt(alpha_t) f) sqrt(1 - abar_t) / beta_t) and
        runs DDIM on it, to compare."""
        n = self._count(n)
        sampler, steps, eta = self._options(options, {"sampler", "steps", "eta"})
        self.check_label(label)
        if condition is not None:
            raise UserError(f"{self.name()} is unconditional; it cannot sample with a "
                            "condition vector")
        x = self._noise(n, rng) if x_T is None else np.asarray(x_T, dtype=np.float64)
        with self._ema_weights():
            mean_fn = self._mean_fn()
            if sampler == "ancestral" and (steps is None or steps == self.schedule.T) \
                    and eta == 1.0:
                out = sampling.lecture_sampler(mean_fn, self.schedule, x, rng,
                                               variance="beta", record=record)
            else:
                s = self.schedule

                def eps_fn(x_t, t):
                    shape = (-1,) + (1,) * (x_t.ndim - 1)
                    a, b = s.alpha[t].reshape(shape), s.beta[t].reshape(shape)
                    ab = s.abar[t].reshape(shape)
                    return (x_t - np.sqrt(a) * mean_fn(x_t, t)) * np.sqrt(1.0 - ab) / b
                clip = 1.0 if self.image_chw is not None else None
                out = sampling.ddim(eps_fn, s, x, rng, steps=steps or s.T, eta=eta,
                                    clip=clip, record=record)
        z, path = out if record else (out, None)
        return self.from_model(z), path
