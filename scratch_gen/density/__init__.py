"""Explicit densities: models that write down p_theta(x) and fit it by max likelihood.

Isola L14, "Density models": p_theta: X -> [0, inf), and learning is
``argmin KL(p_data, p_theta) = argmax E_data[log p_theta(x)] ~ argmax 1/N sum_i log
p_theta(x_i)``. The variants run from the smallest honest parametric fit to the
memorizer the lecture warns about, and the modules around them check the lecture's
claims about them:

- :mod:`.categorical`: max likelihood = min KL, exactly, on a categorical;
- :mod:`.generalization`: the KDE bandwidth sweep, train vs test NLL (L14, "likelihood
  of the test data under the model"; He L1, "overfitting vs. underfitting");
- :mod:`.memorization`: copy rate and coverage (He L1, "delta functions = sampling the
  training data").

The five parts (He, MIT 6.S978 lecture 1, "Deep generative models may involve"):

- Formulation: x is a data point, no y; p(x) directly. Only the mixture has a latent
  variable (the component k), summed out exactly.
- Representation: ``gaussian``: a mean and a covariance. ``mixture``: K weighted
  Gaussians. ``histogram``: counts in the cells of a grid. ``kde``: a Gaussian bump of
  width h on every training point (Parzen 1962). ``filing-cabinet``: the training set
  itself, a sum of delta functions (He L1: "to the extreme, using delta functions is
  like sampling from training data").
- Objective: the average log-likelihood of the training data, which estimates
  ``-KL(p_data, p_theta) - H(p_data)``; for the kde and histogram the smoothing (h,
  bins) is chosen by the likelihood of *held-out* data instead, since on the training
  data the sharpest model always wins.
- Optimization: closed form for the Gaussian (sample mean, 1/N covariance), the
  histogram (counts) and the cabinet ("train appends"); EM (Dempster et al. 1977) or
  gradient ascent through autograd for the mixture; a grid search for the bandwidth.
  All of it runs in ``setup``: the workbench sees closed-form models (``--steps 0``).
- Inference: exact sampling (a Gaussian draw; component then Gaussian; cell then
  uniform point; a random drawer plus a bump; a random drawer) and exact density,
  which for the cabinet makes the point of the slide "What's the goal of generative
  modeling?": the test NLL of unseen points is +inf.
"""
from . import filing_cabinet, gaussian, histogram, kde, mixture  # noqa: F401  (registers)
