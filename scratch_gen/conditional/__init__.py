"""Conditional models, starting where He's lecture 1 starts: Bayes' rule both ways.

He L1, "Discriminative vs. generative models": a discriminative model maps a sample to
a label (``x => y``, one desired output), a generative one a label to samples (``y =>
x``, many possible outputs), and Bayes' rule connects them:
``p(y|x) = p(x|y) p(y) / p(x)`` (generative models can be discriminative) and
``p(x|y) = p(y|x) p(x) / p(y)`` (discriminative models can be generative, but "still
need to model prior"). "The challenge is about representing and predicting
distributions."

The five parts (He, MIT 6.S978 lecture 1, "Deep generative models may involve"):

- Formulation: pairs (x, y), y a class label. The generative classifier factors the
  joint as ``p(y) p(x|y)``; softmax regression models only ``p(y|x)``.
- Representation: ``bayes-classifier``: a prior vector and one density per class (a
  Gaussian, a KDE, a mixture or a histogram from the density family, built through the
  registry). :class:`~.softmax.SoftmaxRegression`: one linear layer and a softmax, a
  network whose output is a categorical distribution (Isola L14, "Math background").
- Objective: maximum likelihood either way: of the joint ``log p(y) + log p(x|y)`` for
  the generative classifier, of the labels ``log f(x)[y]`` (the cross-entropy) for the
  discriminative one.
- Optimization: closed form per class (frequencies, the Gaussian's 1/N fit, the KDE's
  held-out bandwidth) for the generative classifier; Adam on minibatches for softmax
  regression.
- Inference: classification by the largest posterior (Bayes' decision rule); the
  generative classifier also samples, ``y ~ p(y)`` then ``x ~ p(x|y)``, and gives the
  density ``p(x) = sum_y p(x|y) p(y)``. On the 3-class toy (:mod:`.toy`) the true
  posterior, the Bayes error and H(Y|X) are computable, so each classifier is measured
  against the best possible.
"""
from . import bayes  # noqa: F401  (importing registers the variants)
from . import ar, regression  # noqa: F401  (registers the chapter's own models)
