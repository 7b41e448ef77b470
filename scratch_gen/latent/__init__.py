"""Hand-written generators: "Concept #1: noise is latent variables" (Isola L14).

Before any learning, the lecture writes generators by hand: the turtle that draws a
river from coin flips, and a landscape whose river turns, grass colour and number of
trees are each drawn from a simple distribution. The random numbers a generator
consumes are not a nuisance: they are the latent variables, and the program is the
"direct approach" ``G: Z -> X`` (L14, "Learning data generators"), a function we can
call with a z we choose. He L1 ("Probabilistic modeling") tells the same story as the
reason probabilities appear at all: latent factors with simple distributions, rendered
by a world model, give observations with complex distributions.

Nothing here is learned, so the five parts (He, MIT 6.S978 lecture 1) are all written
by hand, which is what makes them easy to see:

- Formulation: x is an image, z the program's random choices; x = G(z), no y.
- Representation: the program itself: :mod:`.turtle` (the ``river`` dataset's turtle,
  called, not copied) and :mod:`.landscape` (a matplotlib renderer).
- Objective: none; the distributions of z are chosen, not fitted. (The river's density
  is exact anyway: G is one-to-one, so ``log p(x) = -N ln 2`` on its images.)
- Optimization: none.
- Inference: sampling is ``z ~ p(z)``, then ``x = G(z)``; :mod:`.figures` shows that
  changing one latent changes one factor of the picture.
"""
from . import landscape, turtle  # noqa: F401
