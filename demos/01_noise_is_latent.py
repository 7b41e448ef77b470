"""Isola L14, "Concept #1: noise is latent variables"; He L1, "Probabilistic modeling".

A generator written by hand: the turtle draws a river from coin flips z ~ Bernoulli(0.5)^N,
and a landscape's river turns, grass colour and number of trees are each drawn from a
simple distribution and rendered by a "world model" x = G(z). The direct approach
G: Z -> X is a function we call with a z we choose; changing one latent changes one
factor of the picture.

    python demos/01_noise_is_latent.py [--out DIR] [--tiny]

Writes turtle_one_flip.png, landscape_one_latent_at_a_time.png, landscape_world_model.png.
"""
import os
import time

import numpy as np

from scratch_gen.latent import figures, landscape, turtle


def main():
    from _args import demo_args
    args = demo_args(__doc__.splitlines()[0], "01_noise_is_latent",
                     tiny="fewer pictures, a few seconds")
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    z = turtle.sample_z(1, rng)[0]
    print(f"turtle: z = {''.join(map(str, z))}; G(z) is a {turtle.G(z[None])[0].shape} "
          "binary image; log p(x) = -N ln 2 = "
          f"{-len(z) * np.log(2):.4f} on each of its 2^{len(z)} pictures")
    print(figures.turtle_figure(os.path.join(args.out, "turtle_one_flip.png"), z,
                                flips=(0, 9) if args.tiny else (0, 5, 9)))

    zl = landscape.sample_z(rng)
    print(f"landscape: turns {''.join(map(str, zl['turns']))}, grass rgb "
          f"{np.round(zl['grass'], 3).tolist()}, {zl['n_trees']} trees")
    print(figures.landscape_factors_figure(
        os.path.join(args.out, "landscape_one_latent_at_a_time.png"), rng,
        ncols=3 if args.tiny else 5))
    print(figures.landscape_samples_figure(
        os.path.join(args.out, "landscape_world_model.png"), rng,
        nrows=2 if args.tiny else 3, ncols=6))
    print(f"done in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
