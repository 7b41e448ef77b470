"""Energy-based models: p_theta(x) = exp(-E_theta(x)) / Z(theta).

Isola L14, "Energy-based models": an unnormalized probability model, where "relative
probabilities are often all you need (e.g., for sampling)"; and "learning model
parameters": the gradient of the log-likelihood is ``-E_data[grad E] + E_model[grad E]``,
green minus red, which cancels out when data and model samples agree.

The five parts (He, MIT 6.S978 lecture 1):

- Formulation: x is a data point (n <= 20 binary units, or a 2D point), no y, no latent
  variables; one scalar function E(x) defines p(x) up to the constant Z.
- Representation: the energy (:mod:`.energies`): a Boltzmann machine's quadratic form,
  a linear term plus an MLP on binary units, or an MLP on R^2 with a quadratic leash.
- Objective: maximum likelihood, i.e. min KL(p_data || p_theta); its gradient is the
  lecture's two terms (:mod:`.objective`), and the surrogate loss whose gradient it is
  is checked to have exactly that gradient. log Z itself is computed exactly where the
  space can be enumerated (:mod:`.exact`), and grad log Z three ways: autograd through
  logsumexp, the identity ``-E_p[grad E]`` taken exactly, and Monte Carlo.
- Optimization: Adam on the written-out gradient; the model term exactly (all 2^n
  states, or a quadrature grid in 2D), by CD-k (Hinton 2002), or by persistent chains
  (Tieleman 2008) kept in a replay buffer with an optional L2 penalty on energies (Du &
  Mordatch 2019).
- Inference: MCMC (:mod:`.mcmc`): Gibbs sweeps on bits; unadjusted Langevin and MALA
  (Roberts & Tweedie 1996) in 2D. The density is exact on bits (exact Z) and
  quadrature-normalized in 2D, so test NLL and KL to the truth are real numbers.

Variants: ``ebm/mlp`` (2D, the default), ``ebm/boltzmann``, ``ebm/discrete-mlp``.
"""
from . import continuous, discrete  # noqa: F401  (importing registers the variants)
