"""VQ-VAE (van den Oord et al. 2017) on the bundled MNIST digits: 28 x 28 -> a 7 x 7 grid of 64 codes (EMA codebook,
dead-code restarts), then a Gated PixelCNN prior over the codes, in one run (jaxgen.games.vq).

    jaxgen train --config vqvae_mnist --workdir runs/vqvae_mnist
    jaxgen train --config vqvae_mnist:tiny --workdir /tmp/vqvae_tiny    # seconds; for tests

Steps 0..1,999 train the autoencoder (MSE + 0.25 commitment), steps 2,000..2,999 the prior on its codes; see
docs/discrete_latents.md.
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.vq_config("mnist5k", arg)
