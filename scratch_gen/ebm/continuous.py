"""An MLP energy on 2D points, trained by the lecture's two-term gradient.

Isola L14, "Energy-based models -- learning model parameters": each step pushes the
energy down on a batch of data (green) and up on samples from the model (red). How the
red points are made is the ``method``:

- ``grid``: no sampling at all. In 2D the model term ``E_{p_theta}[grad E]`` is an
  integral we can do by the midpoint rule on a ``grid x grid`` mesh of the box around
  the data (:func:`scratch_gen.ebm.exact.grid_model_term`): exact maximum likelihood up
  to quadrature error, the continuous twin of the discrete models' enumeration.
- ``cd``: contrastive divergence (Hinton 2002): k Langevin (or MALA) steps from the data
  batch. Cheap, but the chains never travel, so mass far from the data goes unseen.
- ``pcd``: persistent chains in a replay buffer (Tieleman 2008; Du & Mordatch 2019):
  95% of each step's chains continue from the buffer, 5% restart from uniform noise.
  ``alpha`` adds Du & Mordatch's L2 penalty on energies.

The density is ``exp(-E)/Z`` with log Z by quadrature (scratch_gen.metrics.normalize_2d,
with its error), so ``eval`` reports a real NLL and KL to the truth. ``sample`` runs the
chosen sampler (``sampler``: langevin | mala) from uniform noise on the box.
"""
import math

import numpy as np

from autograd import optim

from ..common.errors import UserError
from ..metrics import normalize_2d
from ..registry import Model, register
from . import exact, mcmc
from .energies import MLPEnergy, energy_array
from .objective import (apply_gradient, data_term, energy_penalty, model_term,
                        nll_gradient, norm)

METHODS = ("grid", "cd", "pcd")
SAMPLERS = ("langevin", "mala")


@register("ebm", "mlp")
class MLPEBM(Model):
    description = "MLP energy on 2D points: exact-by-grid, CD-k or PCD with a replay buffer"
    slide = "Isola L14, 'Energy-based models -- learning model parameters'"
    data_kinds = ("continuous",)
    default_steps = 1500
    default_batch_size = 256
    default_config = {
        "method": "pcd",        # grid | cd | pcd
        "hidden": 64,
        "depth": 2,
        "leash": 1.0,           # s / (box half-width) of the quadratic leash; 0: none
        "gain": 4.0,            # network inputs span +-gain across the box
        "lr": 2e-3,             # Adam
        "sampler": "langevin",  # langevin | mala, for training chains and sample()
        "k": 20,                # MCMC steps per training step (cd, pcd)
        "eps": 0.005,           # Langevin step size (variance of the noise per step)
        "buffer": 8192,         # pcd: chains in the replay buffer
        "reinit": 0.05,         # pcd: fraction restarted from noise each step
        "alpha": 0.0,           # L2 penalty on energies (Du & Mordatch 2019)
        "grid": 64,             # grid: training mesh per side
        "margin": 0.15,         # box = data range widened by this fraction per side
        "max_norm": 0.0,        # gradient clipping (0: none)
        "anneal": 0,            # cosine learning-rate decay to 0 over this many steps (0: off)
        "sample_steps": 400,    # sample(): MCMC steps from uniform noise
        "eval_grid": 256,       # log Z quadrature mesh per side
    }

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if spec.shape != (2,):
            raise UserError(f"{self.name()} models 2D points; got shape {spec.shape}")
        if c["method"] not in METHODS:
            raise UserError(f"method={c['method']!r}: expected one of {', '.join(METHODS)}")
        if c["sampler"] not in SAMPLERS:
            raise UserError(f"sampler={c['sampler']!r}: expected one of {', '.join(SAMPLERS)}")
        for key in ("hidden", "depth", "k", "buffer", "grid", "sample_steps"):
            if c[key] < 1:
                raise UserError(f"{key}={c[key]}: expected an integer >= 1")
        if not (c["eps"] > 0 and 0 <= c["reinit"] <= 1 and c["eval_grid"] >= 8):
            raise UserError(f"eps={c['eps']}, reinit={c['reinit']}, eval_grid={c['eval_grid']}: "
                            "expected eps > 0, 0 <= reinit <= 1, eval_grid >= 8")
        self.energy = MLPEnergy(2, c["hidden"], c["depth"], c["leash"], c["gain"],
                                rng=self.rng)
        self.opt = optim.Adam(self.energy.parameters(), lr=c["lr"])
        self._set_box([-4.0, -4.0], [4.0, 4.0])     # until setup() sees the data
        self.buffer = None
        self.last_model_samples = None              # the red points of the last step
        self._quad = None

    # ---- the box --------------------------------------------------------------------
    def _set_box(self, lo, hi):
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.energy.set_box(self.lo, self.hi)
        self.grid_points, self.log_cell = exact.grid_points(self.lo, self.hi, self.config["grid"])

    def _points(self, x, what="data"):
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != 2:
            raise UserError(f"{what} of shape {a.shape}; expected (n, 2) points")
        if not np.isfinite(a).all():
            raise UserError(f"{what} holds nan or inf; expected finite numbers")
        return a.astype(np.float32)

    def setup(self, train_x, train_y, rng):
        x = self._points(train_x, "training data")
        lo, hi = x.min(axis=0), x.max(axis=0)
        span = np.maximum(hi - lo, 1e-3)
        m = self.config["margin"] * span.max()
        # A square box: the leash and the input scaling are then isotropic.
        centre, half = (lo + hi) / 2, span.max() / 2 + m
        self._set_box(centre - half, centre + half)
        if self.config["method"] == "pcd":
            self.buffer = mcmc.ReplayBuffer(self.config["buffer"], self.lo, self.hi, rng)
        self._quad = None

    # ---- training -------------------------------------------------------------------
    def train_step(self, batch_x, batch_y, rng):
        c = self.config
        x = self._points(batch_x)
        metrics = {}
        if c["anneal"] > 0:       # step count from the optimiser, so a resume continues it
            self.opt.lr = optim.cosine_warmup_lr(self.opt.steps[0], c["lr"], 0, c["anneal"])
        # Green: the data term, E_data[grad_theta E], from the batch.
        g_data = data_term(self.energy, x)
        # Red: the model term, E_model[grad_theta E], from wherever the method gets it.
        if c["method"] == "grid":
            g_model, _, log_z = exact.grid_model_term(self.energy, self.grid_points,
                                                      self.log_cell)
            x_model = None
        else:
            if c["method"] == "cd":
                start, idx = x.copy(), None                 # CD-k: start at the data
            else:
                if self.buffer is None:
                    raise UserError("pcd needs setup() to fill its replay buffer; train with fit()")
                start, idx = self.buffer.draw(len(x), rng, c["reinit"])
            out = mcmc.run_sampler(c["sampler"], self.energy, start, c["k"], c["eps"], rng)
            x_model = out[0]
            if out[1] is not None:
                metrics["accept"] = out[1]
            if idx is not None:
                self.buffer.put(idx, x_model)
            g_model = model_term(self.energy, x_model)
        grads = nll_gradient(g_data, g_model)               # green minus red
        self.last_model_samples = x_model                   # (for pictures of red)
        metrics.update(norm_data=norm(g_data), norm_model=norm(g_model), update=norm(grads))
        e_data = energy_array(self.energy, x).astype(np.float64)
        if c["method"] == "grid":
            metrics["loss"] = float(e_data.mean() + log_z)  # NLL, Z by the training grid
        else:
            e_model = energy_array(self.energy, x_model).astype(np.float64)
            # The contrastive surrogate's value; only its gradient means anything.
            metrics["loss"] = float(e_data.mean() - e_model.mean())
            metrics["e_model"] = float(e_model.mean())
            if c["alpha"] > 0:
                g_pen, metrics["penalty"] = energy_penalty(self.energy, x, x_model, c["alpha"])
                grads = {k: grads[k] + g_pen[k] for k in grads}
        metrics["e_data"] = float(e_data.mean())
        metrics["grad_norm"] = apply_gradient(self.energy, grads, self.opt,
                                              c["max_norm"] if c["max_norm"] > 0 else None)
        self._quad = None
        return metrics

    # ---- density --------------------------------------------------------------------
    def quadrature(self):
        """log Z of exp(-E) on the box by the midpoint rule (with its error estimate and
        the mass in the outermost cells), cached until the parameters change."""
        if self._quad is None:
            self._quad = normalize_2d(lambda p: -energy_array(self.energy, p).astype(np.float64),
                                      self.lo, self.hi, self.config["eval_grid"])
        return self._quad

    def log_prob(self, x, y=None):
        """``-E(x) - log Z``, Z by quadrature on the box (see :meth:`quadrature`)."""
        return -energy_array(self.energy, self._points(x)).astype(np.float64) \
            - self.quadrature().log_z

    # ---- sampling -------------------------------------------------------------------
    def sample(self, n, rng, label=None, sampler=None, steps=None, eps=None, keep_path=False,
               **options):
        """Chains from uniform noise on the box, ``sample_steps`` steps of the sampler."""
        self.check_label(label)
        c = self.config
        start = rng.uniform(self.lo, self.hi, size=(n, 2))
        out = mcmc.run_sampler(sampler or c["sampler"], self.energy, start,
                               steps or c["sample_steps"], eps or c["eps"], rng, keep_path)
        self.last_accept = out[1]
        x = np.asarray(out[0], dtype=np.float64)
        return (x, out[2]) if keep_path else x

    def evaluate(self, test, dataset):
        """log Z and its quadrature error; with the dataset's exact log_prob, the paired
        estimate ``KL = mean(log p_data - log p_model)`` on the test points and its
        standard error (lower variance than NLL - entropy, same expectation)."""
        q = self.quadrature()
        out = {"log_z": q.log_z, "log_z_error": q.error, "boundary_mass": q.boundary_mass,
               "method": self.config["method"], "sampler": self.config["sampler"]}
        if dataset is not None and getattr(dataset, "has_log_prob", False):
            d = np.asarray(dataset.log_prob(test.x), float) - self.log_prob(test.x)
            out["kl_paired"] = float(d.mean())
            out["kl_paired_se"] = float(d.std(ddof=1) / math.sqrt(len(d)))
        return out

    # ---- checkpoints ----------------------------------------------------------------
    def state_dict(self):
        out = {"energy": dict(self.energy.state_dict()), "opt": self.opt.state_dict(),
               "lo": self.lo.copy(), "hi": self.hi.copy()}
        if self.buffer is not None:
            out["buffer"] = self.buffer.x.copy()
        return out

    def load_state_dict(self, state):
        self.energy.load_state_dict(state["energy"])
        self.opt.load_state_dict(state["opt"])
        self._set_box(state["lo"], state["hi"])
        if "buffer" in state:
            self.buffer = mcmc.ReplayBuffer(0, self.lo, self.hi, np.random.default_rng(0))
            self.buffer.x = np.array(state["buffer"], dtype=np.float32)
        self._quad = None
