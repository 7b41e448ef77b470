"""Autoregressive models: the chain rule in code, from n-gram counts to a tiny Transformer.

Isola L14, "Autoregressive probability model": ``p(X) = prod_i p(x_i | x_1..x_{i-1})``,
and "How to model p(time | Once, upon, a)? Just treat it as a next word classifier!";
then pixels one at a time, and WaveNet. He L1, "Case study: Autoregressive model": "this
dependency graph is designed (not learned)"; "the mapping function is learned (e.g.,
Transformer)". ``chain.py`` holds the chain rule once; every model plugs into it by
saying how it computes p(x_i | x_<i).

The five parts (He, MIT 6.S978 lecture 1):

- Formulation: x is a sequence x_1..x_D and p(x) = prod_i p(x_i | x_<i), with no
  latent variables and no y. Text is characters followed by an end token that counts
  (a model must say when to stop); images are pixels in raster order; 2D points are
  x_1 then x_2. The dependency graph (each x_i depends on all x_<i, in a chosen order;
  MADE also tries other orders) is designed, not learned.
- Representation: the learned mapping from x_<i to the distribution of x_i: a table of
  counts (``ngram``), an MLP over a fixed window (``mlp``, Bengio et al. 2003), dilated
  causal convolutions (``wavenet``, van den Oord et al. 2016), a masked MLP (``made``,
  Germain et al. 2015), masked 2D convolutions (``pixelcnn``, van den Oord et al. 2016,
  with a summary of the rows above),
  causal self-attention (``transformer``, Vaswani et al. 2017 / Radford et al. 2019), and
  for continuous x a mixture of Gaussians per conditional (``mdn``, Bishop 1994). Each
  is causal by construction (masks, left padding, a causal attention mask), so all
  conditionals of a training example come out of one forward pass.
- Objective: maximum likelihood, ``-1/T sum_n sum_i log p(x_i^(n) | x_<i^(n))``, i.e.
  the next-token classifier's cross-entropy (L14's "elementwise scores x_n (.) log
  x^_n"), per token; it estimates KL(p_data || p_model) + H(p_data) per token.
- Optimization: counts in closed form for the n-gram (``setup``); Adam with gradient
  clipping (optionally a cosine schedule) for the networks, on the workbench's loop
  (scratch_gen/train.py).
- Inference: an exact density by the same chain rule (``log_prob``, nats per example;
  -inf outside the support), and ancestral sampling, one x_i at a time with
  temperature and top-k (``sample``). WaveNet keeps per-layer queues and the
  Transformer a key/value cache, so a step costs one position, not the whole prefix;
  PixelCNN runs on the window a pixel can see.
"""
from . import ngram, mlp, wavenet, made, pixelcnn, transformer, mdn  # noqa: F401  (registers)
