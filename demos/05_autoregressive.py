"""Autoregressive models, next to Isola L14 "Autoregressive models" and He L1's case study.

    python demos/05_autoregressive.py [--out DIR] [--tiny]

Three pictures, each the slide it illustrates:

1. ``next_word.png`` -- "How to model p(time | Once, upon, a)? Just treat it as a next
   word classifier!" A character model of the stories grammar, asked for the next word
   after "once upon a" and after "once upon a time there was a": the chain rule over the
   characters of each candidate word (and the space or period that ends it), next to
   the grammar's true probabilities.
2. ``pixels.png`` -- "Autoregressive model of pixels: sampling". One river image sampled
   by a PixelCNN pixel by pixel, shown as a strip of snapshots. The PixelCNN scans
   column by column (the turtle draws left to right, so each column is nearly fixed by
   the ones before it plus one coin flip; pixelcnn.py explains the choice).
3. ``ladder.png`` -- the designed dependency graph, wider and wider (He L1): samples of
   names from each rung of the ladder n-gram -> MLP -> WaveNet -> Transformer, with each
   rung's test NLL per character next to the truth.

``--tiny`` trains everything for a few steps (a smoke test, under ~20 s); the default
trains for a few minutes on a laptop CPU.
"""
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scratch_gen import plots  # noqa: E402
from scratch_gen.autoregressive.chain import continuation_log_prob  # noqa: E402
from scratch_gen.autoregressive.tour import load_split, train_and_score  # noqa: E402


def next_word_probabilities(model, prefix, words):
    """p(next word = w | prefix) for each w: the characters " w" followed by a space or a
    period, by the chain rule over characters."""
    out = []
    for w in words:
        lp = continuation_log_prob(model, prefix, [" " + w + " ", " " + w + "."])
        out.append(float(np.exp(lp).sum()))
    return np.array(out)


def true_next_words(sentences, prefix):
    """The grammar's p(next word | prefix), counted over sentences drawn from it (a
    Monte Carlo estimate; each frequency has standard error <= 0.5/sqrt(matches))."""
    counts, total = {}, 0
    for s in sentences:
        if s.startswith(prefix + " "):
            w = s[len(prefix) + 1:].split(" ")[0].rstrip(".")
            counts[w] = counts.get(w, 0) + 1
            total += 1
    return {w: c / total for w, c in counts.items()}, total


def figure_next_word(path, model, ds, sentences, label):
    plt = plots._plt()
    prefixes = ["once upon a", "once upon a time there was a"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 3]})
    words = ds.words()
    for ax, prefix in zip(axes, prefixes):
        truth, matches = true_next_words(sentences, prefix)
        p = next_word_probabilities(model, prefix, words)
        keep = np.argsort(-p)[:12] if prefix == prefixes[1] else np.argsort(-p)[:4]
        xs = np.arange(len(keep))
        ax.bar(xs - 0.2, p[keep], 0.4, color=plots.RED, label=f"model ({label})")
        ax.bar(xs + 0.2, [truth.get(words[i], 0.0) for i in keep], 0.4, color=plots.GREEN,
               label=f"grammar ({matches} sentences)")
        ax.set_xticks(xs)
        ax.set_xticklabels([words[i] for i in keep], rotation=45, ha="right")
        ax.set_title(f"p(next word | \"{prefix}\")", fontsize=10)
        ax.set_ylim(0, 1.05 if prefix == prefixes[0] else max(0.2, 1.2 * p[keep].max()))
    axes[1].legend(fontsize=8)
    fig.suptitle("Isola L14: 'just treat it as a next word classifier' (characters, chained)",
                 fontsize=11)
    fig.tight_layout()
    return plots._save(fig, path)


def figure_pixels(path, model, rng, frames=8):
    """Sample one image pixel by pixel, in the model's scan order, and keep snapshots:
    the strip on the slide."""
    H, W = model.seq.shape
    D = H * W
    step = model.stepper(1, cached=True)
    x = np.zeros((1, D), dtype=np.int64)
    marks = set(int(round(D * k / frames)) for k in range(1, frames + 1))
    shots = []
    from autograd import no_grad
    from scratch_gen.autoregressive.chain import draw
    order = model.order
    with no_grad():
        for t, i in enumerate(order):
            x[:, i] = draw(step(x, i), rng)
            if t + 1 in marks:
                img = x.reshape(H, W).astype(float).copy()
                img.reshape(-1)[order[t + 1:]] = 0.35   # not drawn yet: grey
                shots.append((t + 1, img))
    plt = plots._plt()
    fig, axes = plt.subplots(1, len(shots), figsize=(1.6 * len(shots), 2.5))
    for ax, (k, img) in zip(axes, shots):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{k}/{D} pixels", fontsize=8)
        ax.axis("off")
    scan = "column by column" if getattr(model, "columns", False) else "in raster order"
    fig.suptitle("Isola L14, 'Autoregressive model of pixels': PixelCNN samples x_i ~ "
                 f"p(x_i | x_<i) {scan}\n(grey: not yet drawn; the river's 10 coin flips "
                 "are taken left to right, so the scan follows the turtle)", fontsize=9)
    fig.tight_layout()
    return plots._save(fig, path)


def figure_ladder(path, results, samples, ds, h_token):
    """Each rung's samples; a sample the grammar can produce is marked with '+' (its
    tail agrees with its first letter, its vowels harmonize, its length is allowed)."""
    plt = plots._plt()
    fig, axes = plt.subplots(1, len(results), figsize=(3.3 * len(results), 3.4))
    for ax, res, texts in zip(axes, results, samples):
        ax.axis("off")
        valid = np.isfinite(ds.log_prob(texts))
        lines = [("+ " if ok else "  ") + (repr(t) if not t else t if len(t) <= 26
                                           else t[:25] + "~") for t, ok in zip(texts, valid)]
        ax.text(0.0, 1.0, "\n".join(lines), family="monospace", fontsize=8, va="top",
                transform=ax.transAxes)
        ax.set_title(f"{res['model']} ({res['steps']} steps)\n{res['nll_per_dim']:.3f} "
                     f"nats/char; {valid.sum()}/{len(texts)} valid (+)", fontsize=9)
    fig.suptitle("The ladder on names: each rung reads further back (n-1 chars, a window, a "
                 f"receptive field, everything); truth {h_token:.3f} nats/char", fontsize=10,
                 y=1.04)
    return plots._save(fig, path)


def main(argv=None):
    from _args import demo_args
    args = demo_args(__doc__.split("\n")[0], "05_autoregressive", argv,
                     tiny="a few steps of everything (~20 s)")
    os.makedirs(args.out, exist_ok=True)
    tiny = args.tiny
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()

    # 1. next-word probabilities: a 12-gram of characters is exact enough here and
    #    trains in a second (tiny: a 6-gram on fewer sentences)
    train_x, test_x, ds = load_split("stories", 1000 if tiny else 20000, 500)
    model, res = train_and_score("ngram", "stories", train_x, test_x, ds,
                                 {"n": 6 if tiny else 12, "k": 0.001, "max_len": 128})
    figure_next_word(os.path.join(args.out, "next_word.png"), model, ds, train_x + test_x,
                     f"{model.config['n']}-gram of characters")
    print(f"next_word.png: {res['model']} test NLL {res['test_nll']:.3f} nats/sentence, "
          f"entropy {res['entropy']:.3f}")

    # 2. a river sampled pixel by pixel
    train_x, test_x, ds = load_split("river", 50 if tiny else 5000, 50 if tiny else 500)
    # column by column, the turtle's order (see scratch_gen/autoregressive/pixelcnn.py)
    config = ({"channels": 8, "dilations": [1], "scan": "columns"} if tiny else
              {"channels": 24, "dilations": [1, 2, 1, 2], "scan": "columns", "lr": 6e-3})
    model, res = train_and_score("pixelcnn", "river", train_x, test_x, ds, config,
                                 steps=3 if tiny else 600, batch_size=16)
    figure_pixels(os.path.join(args.out, "pixels.png"), model, rng)
    print(f"pixels.png: PixelCNN test NLL {res['test_nll']:.2f} nats/image, truth "
          f"{res['entropy']:.2f} ({res['steps']} steps)")

    # 3. the ladder on names
    train_x, test_x, ds = load_split("names", 500 if tiny else 10000, 200 if tiny else 1000)
    # the truth's own NLL per character on this test set (not H / mean length: the same
    # estimator the models get, so the comparison is like for like)
    h_token = -ds.log_prob(test_x).sum() / sum(len(s) + 1 for s in test_x)
    # (variant, config, steps, batch): WaveNet gets the benchmark's width and batch 64;
    # at batch 32 it tied with the MLP, and the picture would not show the rung
    rungs = [("ngram", {}, 0, 32), ("mlp", {}, 20 if tiny else 800, 32),
             ("wavenet", {"channels": 48, "skip": 64}, 10 if tiny else 2000, 64),
             ("transformer", {"d_model": 32, "heads": 4}, 10 if tiny else 800, 32)]
    results, samples = [], []
    for variant, config, steps, batch in rungs:
        model, res = train_and_score(variant, "names", train_x, test_x, ds, config, steps,
                                     batch_size=batch)
        results.append(res)
        samples.append(model.sample(16, rng))
        print(f"ladder: {variant:12s} {res['nll_per_dim']:.4f} nats/char "
              f"(truth {h_token:.4f}) after {res['steps']} steps, {res['seconds']:.1f}s")
    figure_ladder(os.path.join(args.out, "ladder.png"), results, samples, ds, h_token)
    print(f"wrote {args.out}/next_word.png, pixels.png, ladder.png in "
          f"{time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
