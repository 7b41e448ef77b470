"""Generative adversarial networks: the minimax game in code.

Isola L14, "Generative Adversarial Networks (GANs)": g tries to synthesize fake data
that fools d; d tries to identify the fakes; g tries to fool the *best* d:

    min_theta max_phi  E_{x~p_data}[log d_phi(x)] + E_{z~p_z}[log(1 - d_phi(g_theta(z)))]

and "GANs -- Training": iterate between training d and g with backprop; the global
optimum is reached when g reproduces the data distribution.

The five parts (He, MIT 6.S978 lecture 1, "Deep generative models may involve"):

- Formulation: x is a data point (a 2D point, a 16x16 glyph); the dependency graph is
  z -> x with z ~ N(0, I) and x = g(z) deterministic (L14, "noise as latent
  variables"). Conditional models add y (a class label or a vector) to both players:
  p(x|y) (He L1, "generative models are about p(x|y)"); see nets.py.
- Representation: two networks, a generator g_theta (an MLP for points, upsampling
  convolutions for images) and a discriminator d_phi ending in one logit (nets.py).
- Objective: the slide's value function V(g, d); for a fixed g the best d is
  d* = p_data / (p_data + p_g), and then V = -log 4 + 2 JSD(p_data || p_g), so
  minimizing over g minimizes a Jensen-Shannon divergence (Goodfellow et al. 2014;
  theory.py checks both on finite spaces). Variants: the non-saturating generator loss,
  the Wasserstein critic; penalties R1 and WGAN-GP (losses.py).
- Optimization: alternating stochastic gradient steps, k for d then one for g (model.py),
  with Adam; stabilizers as switches: R1 (Mescheder et al. 2018), WGAN-GP (Gulrajani
  et al. 2017), PacGAN packing (Lin et al. 2018), spectral normalization (Miyato et al.
  2018), an EMA of g's weights (Yazici et al. 2019) and a final learning-rate decay.
- Inference: sampling is one forward pass, x = g(z). There is no density: a GAN has
  no test log-likelihood, so it is judged by samples (the PacGAN mode metrics on ring8
  and grid25, MMD elsewhere; scratch_gen.metrics).

Variants (``scratch-gen train gan --model ...``): ``minimax`` (the slide, nothing
added), ``nonsaturating``, ``r1`` (the stabilized GAN), ``wgan-gp``.
"""
from . import model  # noqa: F401  (importing registers the variants)
