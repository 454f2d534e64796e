"""Figures of a trained vq-game workdir (VQ-VAE / VQ-GAN, jaxgen.games.vq): reconstructions, code usage, samples.

    python tools/vq_figures.py --workdir runs/vqvae_mnist --out docs/images/vqvae_mnist

writes `<out>_reconstructions.png` (`--num` test images spread over the split, top row real, bottom row reconstructed),
`<out>_codes.png` (the code-usage histogram of the test split's first 1,000 images: how often each of the K codes is chosen, sorted by
frequency, with the perplexity) and `<out>_samples.png` (`--num` x 2 samples of the prior decoded, when the run
reached the prior's stage), and prints the evaluation's metrics of the newest checkpoint.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data import pipeline
from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.games import vq
from jaxgen.nn import quantizer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", required=True, help="path prefix of the PNGs")
    parser.add_argument("--num", type=int, default=12, help="images per row")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    config, task, state, step = workdir_lib.restore(args.workdir)
    game = vq.build(config, pipeline.output_info(config.data), None)
    state = jax.device_get(state)
    test = pipeline.read_split(config.data, config.eval.split)
    labels = jnp.asarray(test["label"][:1000]) if game.num_classes else None
    m = jax.device_get(jax.jit(game.measures)(state["params"], state["model_state"],
                                              jnp.asarray(test["image"][:1000]), labels))
    print(f"step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in game.evaluator(config, task)(state, None).items()))

    real = test["image"][:: max(1, len(test["image"]) // args.num)][: args.num]  # spread over the split
    players = vq.players_with_state(game.modules, state["params"], state["model_state"])
    recon = np.clip(np.asarray(game._ae(players, None, jnp.asarray(real))[0]), -1, 1)
    writers.save_grid(f"{args.out}_reconstructions.png", np.concatenate([real, recon]), ncol=args.num, scale=2)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.bincount(m["codes"].ravel(), minlength=game.num_codes)
    used = quantizer.usage(jnp.asarray(m["codes"]), game.num_codes)
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.bar(np.arange(game.num_codes), np.sort(counts)[::-1] / counts.sum(), width=1.0)
    ax.set_xlabel("code (sorted by frequency)")
    ax.set_ylabel("frequency")
    ax.set_title(f"{args.workdir.rstrip('/').split('/')[-1]}: step {step}, perplexity {float(used['perplexity']):.1f}"
                 f" of K = {game.num_codes}, {int((counts > 0).sum())} used", fontsize=9)
    fig.tight_layout()
    fig.savefig(f"{args.out}_codes.png", dpi=100)

    if game.prior_on(int(state.get("stage", 0))):
        images = np.asarray(task.generate(state, jax.random.key(args.seed), 2 * args.num))
        writers.save_grid(f"{args.out}_samples.png", images, ncol=args.num, scale=2)


if __name__ == "__main__":
    main()
