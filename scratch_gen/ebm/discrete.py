"""Energy-based models on n <= 20 binary units, where log Z is a sum we can do.

Isola L14, "Energy-based models" and "learning model parameters": here the model term
of the gradient, E_{p_theta}[grad E], can be taken exactly over all 2^n states, so
maximum likelihood is exact, and the approximations everyone uses at scale -- CD-k
(Hinton 2002) and persistent CD (Tieleman 2008) -- can be run side by side and scored
by the exact KL to the data distribution.

Two variants:
- ``ebm/boltzmann``: the quadratic energy of a Boltzmann machine (:class:`QuadraticEnergy`).
- ``ebm/discrete-mlp``: a linear term plus an MLP (:class:`DiscreteMLPEnergy`).

``method`` chooses where the model term comes from: ``exact`` (all 2^n states; the data
term over the whole training set, kept by ``setup`` as its empirical distribution, so
each step is a full-batch step of exact maximum likelihood), ``cd`` (k Gibbs sweeps from
the data batch) or ``pcd`` (k Gibbs sweeps of persistent chains). Whatever the method,
the reported ``loss`` is the exact NLL of the batch, ``E(x) + log Z``: on 2^n states we
can afford to say how well training is really going (``track_nll=False`` makes CD/PCD
report their surrogate instead and skip that pass over all states).
"""

import numpy as np

from autograd import optim

from ..common.errors import UserError
from ..registry import Model, register
from . import exact, mcmc
from .energies import DiscreteMLPEnergy, QuadraticEnergy, energy_array
from .objective import apply_gradient, data_term, model_term, nll_gradient, norm

METHODS = ("exact", "cd", "pcd")
SAMPLERS = ("gibbs", "exact")


class DiscreteEBM(Model):
    """Shared machinery; subclasses say which energy (:meth:`build_energy`)."""

    data_kinds = ("discrete", "image")
    default_steps = 300
    default_batch_size = 256
    default_config = {
        "method": "exact",      # exact | cd | pcd: where the model term comes from
        "lr": 0.05,             # Adam
        "k": 1,                 # Gibbs sweeps per step (CD-k, PCD-k)
        "chains": 256,          # persistent chains (pcd)
        "sampler": "gibbs",     # sample(): gibbs | exact (a draw from the enumerated p)
        "sample_sweeps": 200,   # sample(): Gibbs sweeps from random bits
        "compare_exact": False, # cd/pcd: also log the cosine to the exact gradient
        "anneal": 0,            # cosine learning-rate decay to 0 over this many steps (0: off)
        "track_nll": True,      # cd/pcd: loss = exact NLL (one pass over all states per step)
    }

    def __init__(self, spec, config=None, rng=None):
        super().__init__(spec, config, rng)
        c = self.config
        if c["method"] not in METHODS:
            raise UserError(f"method={c['method']!r}: expected one of {', '.join(METHODS)}")
        if c["sampler"] not in SAMPLERS:
            raise UserError(f"sampler={c['sampler']!r}: expected one of {', '.join(SAMPLERS)}")
        for key in ("k", "chains", "sample_sweeps"):
            if c[key] < 1:
                raise UserError(f"{key}={c[key]}: expected an integer >= 1")
        if spec.levels not in (None, 2):
            raise UserError(f"{self.name()} models binary units (levels=2); got levels={spec.levels}")
        self.n = exact.check_bits(spec.n_dims)
        self.energy = self.build_energy(self.n, self.rng)
        self.opt = optim.Adam(self.energy.parameters(), lr=c["lr"])
        self.states = exact.all_states(self.n, np.float32)
        self.data_states = self.data_weights = None    # exact: the empirical distribution
        self.chains = None                              # pcd: persistent chains
        self._log_z = None                              # cache, reset by every update

    def build_energy(self, n, rng):
        raise NotImplementedError

    # ---- data ---------------------------------------------------------------------
    def _flat(self, x, what="data"):
        a = np.asarray(x)
        if a.shape[1:] != self.spec.shape and a.shape[1:] != (self.n,):
            raise UserError(f"{what} of shape {a.shape[1:]} per example; this model has "
                            f"{self.n} binary units (shape {self.spec.shape})")
        a = a.reshape(len(a), self.n)
        if not np.all((a == 0) | (a == 1)):
            raise UserError(f"{what} holds values other than 0 and 1; expected binary units")
        return a.astype(np.float32)

    def setup(self, train_x, train_y, rng):
        x = self._flat(train_x, "training data")
        # Biases at the data's log-odds: the best independent-units model, from which
        # the couplings only have to learn the dependencies (Hinton 2010, "A practical
        # guide to training RBMs", section 8.1).
        m = np.clip(x.mean(axis=0), 1e-3, 1 - 1e-3)
        self.energy.b.data[:] = np.log(m / (1 - m))
        if self.config["method"] == "exact":
            keys, counts = np.unique(exact.state_index(x), return_counts=True)
            self.data_states = self.states[keys].copy()
            self.data_weights = counts / counts.sum()
        if self.config["method"] == "pcd":
            self.chains = (rng.random((self.config["chains"], self.n)) < m).astype(np.float32)
        self._log_z = None

    # ---- exact quantities -----------------------------------------------------------
    def log_z(self):
        """log Z over all 2^n states (cached until the parameters change)."""
        if self._log_z is None:
            if isinstance(self.energy, QuadraticEnergy):
                self._log_z = exact.log_partition_quadratic(self.energy)
            else:
                self._log_z = exact.log_partition(self.energy, self.states)
        return self._log_z

    def log_prob(self, x, y=None):
        """``log p(x) = -E(x) - log Z``, exact, nats per example."""
        return -energy_array(self.energy, self._flat(x)).astype(np.float64) - self.log_z()

    def probabilities(self):
        """p_theta of every state, in enumeration order."""
        return exact.state_probabilities(self.energy, self.states)

    # ---- training -------------------------------------------------------------------
    def _exact_model_term(self):
        """E_{p_theta}[grad E] over all 2^n states; log Z comes free with it."""
        g, _, self._log_z = exact.model_term_exact(self.energy, self.states)
        return g

    def train_step(self, batch_x, batch_y, rng):
        c = self.config
        x = self._flat(batch_x)
        if c["anneal"] > 0:       # step count from the optimiser, so a resume continues it
            self.opt.lr = optim.cosine_warmup_lr(self.opt.steps[0], c["lr"], 0, c["anneal"])
        if c["method"] == "exact":
            # Full batch: the data term over the training set's empirical distribution.
            g_data = model_term(self.energy, self.data_states, weights=self.data_weights)
            g_model = self._exact_model_term()       # also caches log Z for the loss
        else:
            g_data = data_term(self.energy, x)
            if c["method"] == "cd":
                x_model = x.copy()                 # CD-k: chains start at the data
            else:
                if self.chains is None:
                    raise UserError("pcd needs setup() to create its chains; train with fit()")
                x_model = self.chains              # PCD: chains persist across steps
            for _ in range(c["k"]):
                mcmc.gibbs_sweep(self.energy, x_model, rng)
            g_model = model_term(self.energy, x_model)
        grads = nll_gradient(g_data, g_model)      # E_data[grad E] - E_model[grad E]
        if c["method"] == "exact" or c["track_nll"]:
            loss = float(-self.log_prob(x).mean())          # the exact NLL of the batch
        else:                                               # the surrogate's value
            loss = float(energy_array(self.energy, x).mean()
                         - energy_array(self.energy, x_model).mean())
        metrics = {"loss": loss, "norm_data": norm(g_data), "norm_model": norm(g_model),
                   "update": norm(grads)}
        if c["compare_exact"] and c["method"] != "exact":
            metrics["cos_exact"] = _cosine(grads, nll_gradient(g_data, self._exact_model_term()))
        metrics["grad_norm"] = apply_gradient(self.energy, grads, self.opt)
        self._log_z = None
        return metrics

    # ---- sampling -------------------------------------------------------------------
    def sample(self, n, rng, label=None, sampler=None, sweeps=None, **options):
        """Gibbs chains from random bits (``sample_sweeps`` sweeps), or with
        ``sampler='exact'`` a draw from the enumerated p_theta (inverse CDF)."""
        self.check_label(label)
        sampler = sampler or self.config["sampler"]
        if sampler == "exact":
            cdf = np.cumsum(self.probabilities())
            idx = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"),
                             len(cdf) - 1)
            x = self.states[idx]
        elif sampler == "gibbs":
            x = mcmc.gibbs_sample(self.energy, n, sweeps or self.config["sample_sweeps"], rng)
        else:
            raise UserError(f"sampler={sampler!r}: expected one of {', '.join(SAMPLERS)}")
        return x.astype(np.int64).reshape((n,) + self.spec.shape)

    def evaluate(self, test, dataset):
        """log Z, and when the dataset lists its support, the exact KL(data || model):
        a sum over the support, with no test-sample noise at all."""
        out = {"log_z": self.log_z(), "method": self.config["method"]}
        if dataset is not None and hasattr(dataset, "support"):
            states, probs = dataset.support()
            out["kl_exact"] = exact.kl_discrete(probs, self.log_prob(states))
        return out

    # ---- checkpoints ----------------------------------------------------------------
    def state_dict(self):
        out = {"energy": dict(self.energy.state_dict()), "opt": self.opt.state_dict()}
        if self.data_states is not None:
            out["data_states"] = self.data_states.astype(np.uint8)
            out["data_weights"] = np.asarray(self.data_weights, dtype=np.float64)
        if self.chains is not None:
            out["chains"] = self.chains.astype(np.uint8)
        return out

    def load_state_dict(self, state):
        self.energy.load_state_dict(state["energy"])
        self.opt.load_state_dict(state["opt"])
        if "data_states" in state:
            self.data_states = np.asarray(state["data_states"], dtype=np.float32)
            self.data_weights = np.asarray(state["data_weights"], dtype=np.float64)
        if "chains" in state:
            self.chains = np.asarray(state["chains"], dtype=np.float32)
        self._log_z = None


def _cosine(a, b):
    va = np.concatenate([np.ravel(a[k]) for k in a])
    vb = np.concatenate([np.ravel(b[k]) for k in a])
    return float(va @ vb / max(np.linalg.norm(va) * np.linalg.norm(vb), 1e-300))


@register("ebm", "boltzmann")
class BoltzmannMachine(DiscreteEBM):
    description = "Boltzmann machine E = -x^T W x/2 - b^T x on <= 20 bits; exact log Z, CD, PCD"
    slide = "Isola L14, 'Energy-based models -- learning model parameters'"

    def build_energy(self, n, rng):
        return QuadraticEnergy(n, rng=rng)


@register("ebm", "discrete-mlp")
class DiscreteMLP(DiscreteEBM):
    description = "MLP energy -b^T x - v^T softplus(Ux + c) on <= 20 bits; exact log Z, CD, PCD"
    slide = "Isola L14, 'Energy-based models -- learning model parameters'"
    default_config = dict(DiscreteEBM.default_config, hidden=32, lr=0.03)

    def build_energy(self, n, rng):
        if self.config["hidden"] < 1:
            raise UserError(f"hidden={self.config['hidden']}: expected an integer >= 1")
        return DiscreteMLPEnergy(n, hidden=self.config["hidden"], rng=rng)
