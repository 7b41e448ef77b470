"""Diffusion models: generation as a sequence of supervised denoising problems.

Isola L14, "Diffusion models" ("Diffusion: just add noise"), "Gaussian diffusion
models", "Stripped down training algorithm" (Algorithm 1.2) and "Autoregressive models
vs diffusion models" ("Concept #3: a common strategy is to turn generative modeling into
a sequence of supervised learning problems"); Ho, Jain & Abbeel 2020 (DDPM), whom the
slide defers to for the details; Sohl-Dickstein et al. 2015 for the bound; Song, Meng &
Ermon 2021 (DDIM); Nichol & Dhariwal 2021 (cosine schedule); Ho & Salimans 2022
(classifier-free guidance).

The five parts (He, MIT 6.S978 lecture 1):

- Formulation: x_0 is the data; x_1..x_T are latent variables made by a *fixed*
  forward process that adds Gaussian noise, ``x_t = sqrt(1 - beta_t) x_{t-1} +
  sqrt(beta_t) eps_t``, until x_T ~ N(0, I). The dependency graph is a chain; the
  complex p(x_0) is decomposed into T simple Gaussian steps back down the chain,
  ``p_theta(x_{t-1} | x_t) = N(f_theta(x_t, t), sigma_t^2 I)``. Conditional models add y
  (a class label, or any conditioning vector) to every step: p(x_{t-1} | x_t, y).
  (``schedule.py``: the forward process, its closed forms and the noise schedules.)
- Representation: one network for all t, told t by a sinusoidal embedding: an MLP for
  2D points, a small U-Net for images (``denoisers.py``).
- Objective: the lecture's regression of x_{t-1} on (x_t, t) (Algorithm 1.2); DDPM's
  noise prediction ``||eps - eps_theta(x_t, t)||^2`` (Ho et al. eq. 14), a reweighted
  variational bound; both are sums of supervised problems, one per t. The bound itself
  (Ho et al. eq. 5) is the likelihood figure: an upper bound on the NLL, in nats per
  example and bits/dim (``bound.py``).
- Optimization: Adam on minibatches with one random t per example (the sum over t by
  Monte Carlo), gradient clipping, an exponential moving average of the weights for
  sampling; label dropout trains the conditional and unconditional model at once
  (``models.py``).
- Inference: ancestral sampling from x_T ~ N(0, I) down the chain (Ho et al.
  Algorithm 2), or DDIM's deterministic sampler in far fewer steps from the same
  network; classifier-free guidance ``eps_u + w (eps_c - eps_u)`` for p(x | y)
  (``sampling.py``). Density: no exact one, but the variational bound gives an upper
  bound on -log p(x).

Variants: ``diffusion/ddpm`` (default), ``diffusion/lecture``, ``diffusion/ddpm-cond``.
"""
from . import models  # noqa: F401  (importing registers the variants)
