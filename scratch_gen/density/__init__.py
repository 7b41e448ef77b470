"""Explicit densities: models that write down p_theta(x) and fit it by max likelihood.

Isola L14, "Density models": p_theta: X -> [0, inf), and learning is
``argmin KL(p_data, p_theta) = argmax E_data[log p_theta(x)] ~ argmax 1/N sum_i log
p_theta(x_i)``. The two variants here are the two ends of that picture: the smallest
honest parametric fit, and the memorizer the lecture warns about.

The five parts (He, MIT 6.S978 lecture 1):

- Formulation: x is a data point, no y; p(x) directly, no latent variables.
- Representation: ``gaussian``: a mean and a covariance. ``filing-cabinet``: the
  training set itself, a sum of delta functions (He L1: "to the extreme, using delta
  functions is like sampling from training data").
- Objective: the average log-likelihood of the training data, which estimates
  -KL(p_data, p_theta) - H(p_data).
- Optimization: none needed: both maximize it in closed form in ``setup`` (the
  Gaussian's sample mean and 1/N covariance; the cabinet's "train appends", whose
  training likelihood is +inf, the maximum).
- Inference: exact sampling (a Gaussian draw; a random drawer) and exact density,
  which for the cabinet makes the point of the slide "What's the goal of generative
  modeling?": the test NLL of unseen points is +inf.
"""
from . import filing_cabinet, gaussian  # noqa: F401  (importing registers the variants)
