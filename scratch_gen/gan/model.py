"""The GAN as a workbench model: the alternating game of the slide, and its stabilizers,
each a config switch.

Isola L14, "GANs -- Training": "iterate between training d and g with backprop". One
``train_step`` is one round of that game:

1. ``k`` discriminator steps (Goodfellow et al. 2014, Algorithm 1: "for k steps"): each
   takes its own slice of the real minibatch (``batch_size // k`` examples, so every real
   example is seen once per step) and as many fresh fakes, and descends
   ``-V`` (or the Wasserstein critic's loss), plus the R1 or WGAN-GP penalty if on;
2. one generator step on fresh noise, descending the slide's ``E log(1 - d(g(z)))``
   (``loss="minimax"``) or the non-saturating ``-E log d(g(z))``;
3. the EMA of the generator's weights is updated, if on.

The switches (``--set key=value``; each is off in the slide's ``minimax`` variant):

- ``loss``: ``minimax`` | ``nonsaturating`` | ``wasserstein`` (losses.py).
- ``k``: discriminator steps per generator step.
- ``r1``: gamma of the R1 penalty (Mescheder et al. 2018), 0 = off; ``r1_every``: apply
  it on every n-th discriminator step only, scaled by n (Karras et al. 2020's "lazy
  regularization", section 3.1): the same penalty on average for 1/n of the double
  backprop.
- ``gp``: lambda of the WGAN-GP penalty (Gulrajani et al. 2017), 0 = off.
- ``pack``: PacGAN's m (Lin et al. 2018): d judges m samples at once (nets.py).
- ``spectral_norm``: Miyato et al. 2018 on every layer of d.
- ``ema``: decay of an exponential moving average of g's weights, 0 = off; samples come
  from the average (Yazici et al. 2019, "The unusual effectiveness of averaging in GAN
  training": the iterates of a game orbit its equilibrium, and their average sits
  closer to it than any one of them). The decay warms up as ``min(ema, (1+t)/(10+t))``
  so the random initial weights are forgotten quickly.
- ``lr_decay``: the last fraction of ``total_steps`` over which both learning rates fall
  linearly to zero, so the game settles instead of orbiting (``total_steps`` 0 means the
  variant's default number of steps; set it when training longer or shorter).
- ``topk``: top-k generator training (Sinha et al. 2020, "Top-k Training of GANs:
  Improving GAN Performance by Throwing Away Bad Samples", Algorithm 1), 0 = off. In
  the generator step d scores all fakes of the batch and only the k it rates most real
  give g its gradient: the worst fakes' gradients point each towards whichever mode is
  near, and on average drag g's whole map about; the best ones are the samples g is
  already nearly right about. k is the whole batch at first and falls by the factor
  ``topk_decay`` every epoch (every ``len(train)`` real examples seen) down to the
  floor ``topk`` x batch: ``k = max(topk, topk_decay ** epoch) x batch`` (packs, with
  PacGAN). Only g's step changes; d still sees every fake.

Conditioning (He L1, "generative models are about p(x|y)"; Mirza & Osindero 2014):
with ``conditional=true`` both players read y. ``cond_dim`` says what y is, as in
scratch_gen/conditional/condition.py: 0 (default) an integer class label in
``0..K-1`` (``K = spec.num_classes``), seen as one-hot; ``C > 0`` a vector of C numbers
per example (any shape, flattened; standardized like points), e.g. the lower half of a
glyph. Train with ``fit(model, (x, y))``; sample with ``sample(n, rng, label=k)`` or
``sample(n, rng, condition=c)`` (one vector for all n samples, or n of them).

Points are standardized (the data's mean removed, divided by one overall scale, so
shapes are kept) before either network sees them, and g's output is mapped back: the
same networks and learning rates then serve ring8 (radius 1) and grid25 (radius 5.7).
Images in [0, 1] are seen as 2 x - 1, and g's (linear) output is mapped back and clipped
to [0, 1] when sampling.
"""
import numpy as np

import autograd
from autograd import Tensor, optim

from ..common.errors import UserError
from ..registry import Model, register
from . import losses
from .nets import (ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator,
                   he_init)

SLIDE = "Isola L14, 'Generative Adversarial Networks (GANs)' and 'GANs -- Training'"

BASE_CONFIG = {
    "loss": "minimax",
    "k": 1,
    "r1": 0.0,
    "r1_every": 1,
    "gp": 0.0,
    "pack": 1,
    "spectral_norm": False,
    "ema": 0.0,
    "lr": 1e-3,
    "lr_d": 0.0,              # d's learning rate; 0 = the same as lr
    "beta1": 0.5,
    "beta2": 0.9,
    "lr_decay": 0.0,
    "total_steps": 0,
    "latent_dim": 0,          # 0: 2 for points (as much noise as data), 32 for images
    "hidden": 128,
    "g_layers": 3,
    "d_layers": 2,
    "channels": 32,
    "conditional": False,
    "cond_dim": 0,            # conditional only: 0 = class labels, C > 0 = vectors of C numbers
    "init": "default",        # "he": He et al. 2015's normal init for both (nets.he_init)
    "topk": 0.0,              # top-k generator steps: the floor fraction nu, 0 = off
    "topk_decay": 0.99,       # top-k: k's factor per epoch (Sinha et al. 2020's gamma)
}


class GAN(Model):
    """Shared by every variant; the variants differ only in their default switches."""

    data_kinds = ("continuous", "image")
    default_steps = 3000
    default_batch_size = 256
    default_config = dict(BASE_CONFIG)
    slide = SLIDE

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        self._check_config(c)
        self.conditional = bool(c["conditional"])
        cond_dim = c["cond_dim"]
        if cond_dim and not self.conditional:
            raise UserError(f"{self.name()} setting cond_dim={cond_dim} needs conditional=true "
                            "(an unconditional GAN reads no y)")
        if self.conditional and not cond_dim and not spec.num_classes:
            raise UserError(f"conditional=true with cond_dim=0 conditions on class labels, but "
                            f"{spec.name or 'this data'} has no classes; give labelled data or "
                            "cond_dim=C for condition vectors of C numbers")
        self.cond_dim = int(cond_dim) if self.conditional else 0
        labels = spec.num_classes if self.conditional and not cond_dim else None
        vectors = self.cond_dim or None
        self.image = spec.kind == "image"
        self.latent_dim = c["latent_dim"] or (32 if self.image else 2)
        rng = self.rng
        if self.image:
            self.G = ConvGenerator(self.latent_dim, spec.shape, c["channels"], labels, vectors,
                                   rng=rng)
            self.D = ConvDiscriminator(spec.shape, c["channels"], c["pack"], labels, vectors,
                                       spectral=c["spectral_norm"], rng=rng)
        else:
            d = spec.n_dims
            self.G = MLPGenerator(self.latent_dim, d, c["hidden"], c["g_layers"], labels,
                                  vectors, rng=rng)
            self.D = MLPDiscriminator(d, c["hidden"], c["d_layers"], c["pack"], labels,
                                      vectors, spectral=c["spectral_norm"], rng=rng)
        if c["init"] == "he":
            he_init(self.G, rng)
            he_init(self.D, rng)
        elif c["init"] != "default":
            raise UserError(f"{self.name()} setting init={c['init']!r}; "
                            "expected 'default' or 'he'")
        betas = (c["beta1"], c["beta2"])
        self.opt_g = optim.Adam(self.G.parameters(), lr=c["lr"], betas=betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=c["lr_d"] or c["lr"], betas=betas)
        self.ema = optim.EMA(self.G, decay=c["ema"]) if c["ema"] > 0 else None
        self.shift = np.zeros(spec.n_dims or 1)
        self.scale = 1.0
        self.cond_shift = np.zeros(self.cond_dim)
        self.cond_scale = 1.0
        self.steps_done = 0
        self.d_steps = 0
        self.last_r1 = 0.0
        self.n_train = 0              # training examples (setup): an epoch, for top-k
        self.examples_seen = 0

    @classmethod
    def _check_config(cls, c):
        losses._check_kind(c["loss"])
        cd = c["cond_dim"]
        if isinstance(cd, bool) or not isinstance(cd, (int, np.integer)) or cd < 0:
            raise UserError(f"{cls.name()} setting cond_dim={cd!r}; expected 0 (class labels) "
                            "or the number C of numbers in each condition vector")
        checks = [("k", c["k"] >= 1), ("pack", c["pack"] >= 1), ("r1", c["r1"] >= 0),
                  ("r1_every", c["r1_every"] >= 1),
                  ("gp", c["gp"] >= 0), ("ema", 0 <= c["ema"] < 1), ("lr", c["lr"] > 0),
                  ("lr_d", c["lr_d"] >= 0), ("beta1", 0 <= c["beta1"] < 1),
                  ("beta2", 0 <= c["beta2"] < 1), ("lr_decay", 0 <= c["lr_decay"] <= 1),
                  ("total_steps", c["total_steps"] >= 0), ("latent_dim", c["latent_dim"] >= 0),
                  ("hidden", c["hidden"] >= 1), ("g_layers", c["g_layers"] >= 1),
                  ("d_layers", c["d_layers"] >= 1), ("channels", c["channels"] >= 1),
                  ("topk", 0 <= c["topk"] <= 1), ("topk_decay", 0 < c["topk_decay"] <= 1)]
        for key, ok in checks:
            if not ok:
                raise UserError(f"{cls.name()} setting {key}={c[key]!r} is out of range; "
                                f"expected {_RANGES[key]}")

    # ---- data in the networks' coordinates -------------------------------------------
    def setup(self, train_x, train_y, rng):
        """Standardize points: the mean and one overall scale of the training data; and
        so condition vectors, when the model reads them."""
        if self.cond_dim:
            if train_y is None:
                raise UserError(f"{self.name()} with cond_dim={self.cond_dim} trains on (x, y) "
                                "pairs; got no condition vectors")
            y = self._vectors(train_y, len(train_y), standardize=False)
            self.cond_shift = y.mean(axis=0).astype(np.float64)
            self.cond_scale = float(y.std()) or 1.0
        self.n_train = len(train_x)
        if self.image:
            return
        x = self._flat(train_x)
        self.shift = x.mean(axis=0)
        self.scale = float(x.std()) or 1.0

    def _flat(self, x):
        return self.check_x(np.asarray(x, dtype=np.float64)).reshape(len(x), -1)

    def to_model(self, x):
        """Data -> what d reads (float32 Tensor-ready array)."""
        if self.image:
            x = np.asarray(x, dtype=np.float32).reshape((len(x),) + self.spec.shape)
            return 2.0 * x - 1.0
        return ((self._flat(x) - self.shift) / self.scale).astype(np.float32)

    def from_model(self, x):
        """What g writes -> data."""
        if self.image:
            return np.clip((np.asarray(x, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0)
        return (np.asarray(x, dtype=np.float64) * self.scale + self.shift).reshape(
            (len(x),) + self.spec.shape)

    def noise(self, n, rng):
        """``z ~ N(0, I)``: the latent variables (L14, "noise as latent variables")."""
        return Tensor(rng.standard_normal((n, self.latent_dim)).astype(np.float32))

    # ---- the game --------------------------------------------------------------------
    def lr_factor(self, step):
        """The factor on both learning rates: 1, falling linearly to 0 over the last
        ``lr_decay`` of ``total_steps``."""
        c = self.config
        total = c["total_steps"] or self.default_steps
        tail = c["lr_decay"] * total
        if tail <= 0 or step <= total - tail:
            return 1.0
        return max(0.0, (total - step) / tail)

    def topk_fraction(self):
        """Top-k's fraction of each generator batch that gives g its gradient:
        ``max(topk, topk_decay ** epoch)`` (Sinha et al. 2020), 1 when top-k is off."""
        c = self.config
        if c["topk"] <= 0:
            return 1.0
        epoch = self.examples_seen // self.n_train if self.n_train else 0
        return max(c["topk"], c["topk_decay"] ** epoch)

    def _vectors(self, y, n, standardize=True):
        """Condition vectors (n, ...) -> (n, cond_dim) float32, standardized."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise UserError(f"condition vectors of dtype {y.dtype}: expected numbers")
        c = y.reshape(len(y), -1) if y.ndim else y
        if c.shape != (n, self.cond_dim):
            raise UserError(f"condition vectors: expected shape ({n}, {self.cond_dim}) after "
                            f"flattening, got {tuple(y.shape)}")
        if not np.isfinite(c).all():
            raise UserError("condition vectors hold nan or inf; expected finite numbers")
        c = c.astype(np.float64)
        if standardize:
            c = (c - self.cond_shift) / self.cond_scale
        return c.astype(np.float32)

    def _labels(self, y, n):
        """y as the networks read it: int labels (n,), standardized vectors (n, C), or None."""
        if not self.conditional:
            return None
        if y is None:
            what = (f"condition vectors of {self.cond_dim} numbers" if self.cond_dim
                    else "labels")
            raise UserError(f"{self.name()} with conditional=true trains on (x, y) pairs; "
                            f"got no {what}")
        y = np.asarray(y)[:n]
        if self.cond_dim:
            return self._vectors(y, n)
        y = y.reshape(-1)
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        return y

    def train_step(self, batch_x, batch_y, rng):
        c = self.config
        x = self.to_model(batch_x)
        y = self._labels(batch_y, len(x)) if self.conditional else None
        k, m = c["k"], c["pack"]
        per = (len(x) // k) // m * m          # each d step: whole packs of real examples
        if per == 0:
            raise UserError(f"batch size {len(x)} is too small for k={k} discriminator steps "
                            f"on packs of {m}; expected at least {k * m}")
        factor = self.lr_factor(self.steps_done)
        self.opt_g.lr = c["lr"] * factor
        self.opt_d.lr = (c["lr_d"] or c["lr"]) * factor
        out = {}
        for i in range(k):
            real = x[i * per:(i + 1) * per]
            yi = None if y is None else y[i * per:(i + 1) * per]
            out = self._discriminator_step(real, yi, rng)
        out.update(self._generator_step(per, y if y is None else y[:per], rng))
        if self.ema is not None:
            t = self.steps_done
            self.ema.decay = min(c["ema"], (1.0 + t) / (10.0 + t))
            self.ema.update()
        self.steps_done += 1
        self.examples_seen += len(x)
        out["lr"] = self.opt_g.lr
        return out

    def _discriminator_step(self, real, y, rng):
        c = self.config
        with autograd.no_grad():
            fake = self.G(self.noise(len(real), rng), y)
        penalty = {}
        self.d_steps += 1
        if c["r1"] > 0 and self.d_steps % c["r1_every"] == 0:
            r1, real_logits = losses.r1_penalty(self.D, real, c["r1"] * c["r1_every"], y)
            penalty["r1"] = r1
        else:
            real_logits = self.D(Tensor(real), y)
        fake_logits = self.D(fake, y)
        loss = losses.discriminator_loss(real_logits, fake_logits, c["loss"])
        if c["gp"] > 0:
            penalty["gp"] = losses.gradient_penalty(self.D, real, fake, c["gp"], rng, y)
        total = loss
        for p in penalty.values():
            total = total + p
        self.opt_d.zero_grad()
        total.backward()
        self.opt_d.step()
        out = {"loss": float(loss.item())}
        if "gp" in penalty:
            out["gp"] = float(penalty["gp"].item())
        if c["r1"] > 0:                  # a lazy step reports the last penalty it computed
            if "r1" in penalty:
                self.last_r1 = float(penalty["r1"].item()) / c["r1_every"]
            out["r1"] = self.last_r1
        if c["loss"] != "wasserstein":      # d's belief that real is real, fake is real
            out["d_real"] = float(real_logits.sigmoid().mean().item())
            out["d_fake"] = float(fake_logits.sigmoid().mean().item())
        return out

    def _generator_step(self, n, y, rng):
        z = self.noise(n, rng)
        frac = self.topk_fraction()
        if frac < 1:                     # top-k: only the fakes d likes best teach g
            z, y = self._top_fakes(z, y, frac)
        with _frozen(self.D):            # d is the fixed opponent here: no weight gradients
            fake_logits = self.D(self.G(z, y), y)
            loss = losses.generator_loss(fake_logits, self.config["loss"])
            self.opt_g.zero_grad()
            loss.backward()
        self.opt_g.step()
        return {"g_loss": float(loss.item())}

    def _top_fakes(self, z, y, frac):
        """The noise (and conditions) of the ``ceil(frac x packs)`` packs of fakes that d
        scores highest. g's loss on only those is the same function of g's weights as
        Sinha et al.'s masked batch loss, so the same gradient, without the backward
        pass through the discarded fakes."""
        m = self.config["pack"]
        with autograd.no_grad():
            logits = self.D(self.G(z, y), y).numpy()
        k = max(1, int(np.ceil(frac * len(logits) - 1e-9)))
        best = np.sort(np.argsort(-logits, kind="stable")[:k])
        rows = (best[:, None] * m + np.arange(m)).reshape(-1)
        z = Tensor(z.numpy()[rows], device=z.device)
        return z, (None if y is None else y[rows])

    # ---- inference ------------------------------------------------------------------
    def sample(self, n, rng, label=None, condition=None, ema=True, reject=False, **options):
        """``g(z)``, ``z ~ N(0, I)``: one forward pass per sample, and no density (a GAN
        is a direct generator; L14, "noise as latent variables"). A conditional model
        needs ``label`` (cond_dim 0) or ``condition`` (cond_dim C: one vector of C
        numbers for all n samples, or n of them, any shape that flattens to C). With an
        EMA, the averaged generator samples unless ``ema=False``. ``reject=True`` filters
        them by discriminator rejection sampling (:meth:`rejection_sample`)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise UserError(f"number of samples must be an integer >= 0, got {n!r}")
        y = self._sample_condition(n, label, condition)
        if reject:
            return self.from_model(self.rejection_sample(n, rng, y, ema))
        return self.from_model(self._generate(n, rng, y, ema))

    def _sample_condition(self, n, label, condition):
        """What g reads for n samples, from sample()'s label or condition."""
        if label is not None and condition is not None:
            raise UserError("give a label or a condition, not both")
        if condition is not None:
            if not self.conditional:
                raise UserError(f"{self.name()} is unconditional; it takes no condition")
            if not self.cond_dim:
                raise UserError(f"{self.name()} conditions on class labels; pass label=, "
                                "not a condition vector")
            cond = np.asarray(condition)
            if cond.size == self.cond_dim:
                cond = np.broadcast_to(cond.reshape(1, -1), (n, self.cond_dim))
            return self._vectors(cond, n)
        if self.cond_dim:
            if label is not None:
                raise UserError(f"{self.name()} conditions on vectors of {self.cond_dim} "
                                f"numbers, not on labels; got label={label!r} (pass "
                                "condition=)")
            raise UserError(f"{self.name()} conditions on vectors of {self.cond_dim} numbers; "
                            "pass condition= (one vector, or one per sample)")
        label = self.check_label(label)
        if self.conditional and label is None:
            raise UserError(f"{self.name()} is conditional; pass a label in "
                            f"0..{self.spec.num_classes - 1}")
        return None if label is None else np.full(n, label, dtype=np.int64)

    def _generate(self, n, rng, y=None, ema=True):
        """n samples of g in its own coordinates (a host array), in chunks of 4096; ``y``:
        what g reads per sample (labels or standardized vectors) or None. Each chunk
        stays on the model's device until its one copy to the host."""
        with autograd.no_grad(), self.averaged(ema):
            out = [self.G(self.noise(min(4096, n - i), rng),
                          None if y is None else y[i:i + 4096]).numpy()
                   for i in range(0, n, 4096)]
        return np.concatenate(out) if out else np.zeros((0,) + self.spec.shape, np.float32)

    def rejection_sample(self, n, rng, y=None, ema=True, max_rounds=100):
        """Discriminator rejection sampling (Azadi et al. 2019), in g's coordinates.

        The slide's optimal discriminator d* = p / (p + q) knows the density ratio:
        ``p(x) / q(x) = d*/(1 - d*) = exp(a(x))`` for its logit a. So keeping a fake x
        with probability ``exp(a(x) - M)``, M the largest logit, turns samples of q into
        samples of p exactly when d is optimal (plain rejection sampling, with q as the
        proposal). A trained d is only near d*, so this is a correction, not a
        guarantee; it removes what d is sure is fake, such as the thin bridges a
        continuous g must leave between separate modes. M is the largest logit seen on
        a first batch of 10,000 proposals, raised whenever a larger one turns up (as
        Azadi et al. do). Needs an unpacked d (``pack=1``), which scores one sample.
        ``y``: one condition for all samples (a label's array or a vector's rows), as
        sample() makes it, or None."""
        if self.config["pack"] != 1:
            raise UserError("rejection sampling needs a discriminator that scores single "
                            f"samples (pack=1); this one reads packs of {self.config['pack']}")

        def y_of(k):
            return None if y is None else np.broadcast_to(y[:1], (k,) + y.shape[1:])

        def proposals(k):
            x = self._generate(k, rng, y_of(k), ema)
            with autograd.no_grad():
                return x, self.D(Tensor(x), y_of(k)).numpy().astype(np.float64)
        kept, count = [], 0
        x, a = proposals(10_000)
        m = float(a.max())
        for _ in range(max_rounds):
            m = max(m, float(a.max()))
            keep = rng.random(len(a)) < np.exp(a - m)
            kept.append(x[keep])
            count += int(keep.sum())
            if count >= n:
                break
            x, a = proposals(max(1000, 2 * (n - count)))
        else:
            raise RuntimeError(f"rejection sampling kept {count} of {n} samples in "
                               f"{max_rounds} rounds; the discriminator rejects almost all")
        return np.concatenate(kept)[:n]

    def averaged(self, use=True):
        """Context: the EMA generator in place of the trained one (a no-op without EMA)."""
        if use and self.ema is not None:
            return self.ema.swapped(self.G)
        return _nothing()

    def discriminate(self, x, y=None):
        """``d(x)`` in (0, 1) for data points ``x`` (the heatmap of the demos).

        A packed d judges m samples at once; a single point is scored as a pack of m
        copies of itself, which is what d would see from a generator collapsed onto it."""
        m = self.config["pack"]
        xm = np.repeat(self.to_model(x), m, axis=0)
        yc = self._labels(y, len(x)) if self.conditional else None
        ym = None if yc is None else np.repeat(yc, m, axis=0)
        with autograd.no_grad():
            a = self.D(Tensor(xm), ym).numpy()
        return _sigmoid(a.astype(np.float64))

    def evaluate(self, test, dataset):
        """d's mean output on held-out data and on g's samples: both 1/2 at the slide's
        global optimum, where d can no longer tell them apart."""
        rng = np.random.default_rng(0)
        m = self.config["pack"]
        n = min(len(test.x), 2048) // m * m
        if n == 0 or self.conditional:
            return {}
        with autograd.no_grad():
            real = self.D(Tensor(self.to_model(test.x[:n]))).numpy()
        fake_x = self.sample(n, rng, ema=False)
        with autograd.no_grad():
            fake = self.D(Tensor(self.to_model(fake_x))).numpy()
        return {"d_real": float(_sigmoid(real).mean()), "d_fake": float(_sigmoid(fake).mean())}

    # ---- checkpoints ------------------------------------------------------------------
    def state_dict(self):
        state = {"G": dict(self.G.state_dict()), "D": dict(self.D.state_dict()),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "shift": np.array(self.shift, dtype=np.float64),
                 "scale": float(self.scale), "steps_done": int(self.steps_done),
                 "cond_shift": np.array(self.cond_shift, dtype=np.float64),
                 "cond_scale": float(self.cond_scale),
                 "d_steps": int(self.d_steps), "last_r1": float(self.last_r1),
                 "n_train": int(self.n_train), "examples_seen": int(self.examples_seen)}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state):
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.shift = np.array(state["shift"], dtype=np.float64)
        self.scale = float(state["scale"])
        if "cond_shift" in state:            # checkpoints from before vector conditions
            self.cond_shift = np.array(state["cond_shift"], dtype=np.float64)
            self.cond_scale = float(state["cond_scale"])
        self.steps_done = int(state["steps_done"])
        self.d_steps = int(state["d_steps"])
        self.last_r1 = float(state["last_r1"])
        self.n_train = int(state.get("n_train", 0))        # absent before top-k
        self.examples_seen = int(state.get("examples_seen", 0))
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])


_RANGES = {"k": "an integer >= 1", "pack": "an integer >= 1", "r1": ">= 0",
           "r1_every": "an integer >= 1", "gp": ">= 0",
           "ema": "0 <= ema < 1 (0 = off)", "lr": "> 0", "lr_d": ">= 0 (0 = lr)",
           "beta1": "in [0, 1)",
           "beta2": "in [0, 1)", "lr_decay": "a fraction in [0, 1]",
           "total_steps": ">= 0 (0 = the default steps)", "latent_dim": ">= 0 (0 = automatic)",
           "hidden": ">= 1", "g_layers": ">= 1", "d_layers": ">= 1", "channels": ">= 1",
           "topk": "a fraction in [0, 1] (0 = off)", "topk_decay": "a factor in (0, 1]"}


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a, dtype=np.float64)))


class _frozen:
    """Context: ``module``'s parameters stop requiring gradients, so backprop through it
    reaches its input (g's samples) without computing weight gradients nobody uses."""

    def __init__(self, module):
        self.params = module.parameters()

    def __enter__(self):
        for p in self.params:
            p.requires_grad = False

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad = True
        return False


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@register("gan", "minimax")
class Minimax(GAN):
    description = "the slide's GAN: min_g max_d E log d(x) + E log(1 - d(g(z))), alternating"
    slide = SLIDE + "; Goodfellow et al. 2014, Algorithm 1"
    default_config = dict(BASE_CONFIG)


@register("gan", "nonsaturating")
class NonSaturating(GAN):
    description = "g descends -E log d(g(z)) instead (Goodfellow et al. 2014, section 3)"
    slide = SLIDE + "; Goodfellow et al. 2014, section 3"
    default_config = dict(BASE_CONFIG, loss="nonsaturating")


@register("gan", "r1")
class R1(GAN):
    """The stabilized GAN of the quality table (benchmarks/gan_quality.py). Each setting
    was chosen on ring8/grid25 against the PacGAN metrics: the non-saturating loss; R1
    with gamma = 0.01 in standardized units (below), computed lazily every 4th d step;
    lr 5e-3 (the off-mode bridges shrink only as fast as g's weights can grow steep
    creases, about lr per step: on grid25, 1e-3 < 3e-3 < 5e-3); He initialization (a
    generator that starts with unit gain instead of shrinking its input 6x per layer);
    and, for precision at the end, a linear learning-rate decay over the second half of
    the steps and an EMA of g (decay 0.9995) to sample from (on grid25 at 12,000 steps,
    lr 3e-3: 88.6% high quality with a 30% tail and EMA 0.999, 92.6% with these).

    Why gamma = 0.01: R1's penalty ``(gamma/2) |grad_x a(x)|^2`` is not scale-free. The
    modes are 0.018 wide in standardized units (grid25: std 0.05 over the data's 2.83;
    ring8: 0.01 / 0.71 = 0.014), so for d's logit to change by 1 across a mode, to tell
    g's mis-shapen blob from the true one, its input gradient there must be about
    1/0.018 = 57, a penalty of about gamma x 1600: 160 nats at gamma = 0.1, against a
    game worth log 4. d stayed flat on the scale of one mode and could not shape g's
    blobs: with gamma = 0.1, 2-8% of grid25's samples sat 3-10 std from their mode
    (latent_dim 8 and 16 runs below), with gamma = 0.01 1.4-2.6% (seeds 0-2; the
    modes are still too thin across, median axes 0.3-0.4 and 0.8-1 true std).
    gamma = 1 flattened d further still (it no longer even pushed g's samples off
    the bridges between modes); gamma = 0.003 let d's slopes grow until the mode
    weights drifted (reverse KL 0.022 on seed 1).

    What is lost (grid25; a perfect sampler scores 98.9%): about 2% of samples lie more
    than 10 std from every mode (3% at gamma 0.1, seed 0), on the thin bridges a
    continuous g must stretch between modes when it folds a connected Gaussian onto 25
    separate ones; the rest sit 3-10 std out, on mis-shapen modes. What was tried, on
    grid25 at 16,000 steps, high quality per seed:

    - gamma = 0.1 (the old default): seeds 0-2 94.32 / 93.68 / 93.72, seeds 3 and 9
      94.76 / 89.28; over seeds 0-9 93.96 +- 0.55%. One seed each on top of it: a
      fourth hidden layer in g (93.3%), both players 256 wide (88.8%), the lr decay
      over the last 80% of the steps (92.9%), discriminator rejection sampling
      (``reject=True``: 94.4%; R1 keeps d flat on the data, so d barely tells a bridge
      from a mode).
    - top-k generator steps (``topk=0.5``, decay 0.99 per epoch; Sinha et al. 2020),
      gamma 0.1: 93.12 / 92.80 / 93.76, below the baseline on two seeds of three.
    - latent_dim 8, gamma 0.1: 94.40 / 96.40 / 95.16, seeds 3 and 9 93.24 / 96.12;
      latent_dim 16: 95.04 / 87.28 / 89.92 (more noise directions for g to squeeze
      into each mode: wider modes).
    - gamma = 0.01: 96.36 / 95.40 / 96.48, seeds 3 and 9 94.08 / 95.32 (ring8 seeds
      0-2: 98.40 / 98.20 / 97.84, against 98.24 / 98.60 / 97.76 at 0.1); with
      latent_dim 8 as well: 93.92 / 96.76 / 95.48; gamma = 0.003: 96.12 / 94.08 /
      96.16.
    - Measured, not adopted: Jacobian truncation (Tanielian et al. 2020, "Learning
      disconnected manifolds: a no GAN's land": drop the samples with the largest
      ``|dg/dz|_F``, where g stretches across a bridge) lifts gamma 0.01's seeds 0-2 to
      98.0 / 97.2 / 98.4% at 2% dropped and 99.7 / 99.4 / 99.9% at 5%, above a perfect
      sampler: it trims the true modes' tails too, so it games the 3-std count more
      than it fits p.

    Over seeds 0-9 with gamma = 0.01 (benchmarks/gan_quality.py): grid25 25/25 modes,
    95.28 +- 0.28% high quality, reverse KL 0.0073 +- 0.0007 (78 CPU s per seed);
    ring8 8/8, 98.10 +- 0.23%, 0.0023 +- 0.0004 (29 CPU s). gamma was chosen on seeds
    0-3 and 9; the five seeds not looked at before (4-8) average 95.03%, and seeds
    10-19 (``--first-seed 10``), run after the choice, give 25/25 modes, 94.33 +- 0.74%,
    reverse KL 0.013 +- 0.004 (seeds 12 and 18 at 90.8% and 89.8%): on fresh seeds the
    95% target is not met."""
    description = ("stabilized: non-saturating + R1 penalty (Mescheder et al. 2018) + EMA "
                   "generator (Yazici et al. 2019) + learning-rate decay")
    slide = SLIDE + "; Mescheder et al. 2018, eq. 9; Yazici et al. 2019"
    default_steps = 6000
    default_config = dict(BASE_CONFIG, loss="nonsaturating", r1=0.01, r1_every=4, ema=0.9995,
                          lr=5e-3, lr_decay=0.5, init="he")


@register("gan", "wgan-gp")
class WGANGP(GAN):
    description = "Wasserstein critic with gradient penalty, 5 critic steps per g step"
    slide = SLIDE + "; Gulrajani et al. 2017, Algorithm 1"
    default_batch_size = 640
    default_config = dict(BASE_CONFIG, loss="wasserstein", gp=10.0, k=5, lr=1e-4,
                          beta1=0.0, beta2=0.9)
