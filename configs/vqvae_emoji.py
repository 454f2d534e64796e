"""VQ-VAE (van den Oord et al. 2017) on Twemoji at 64 x 64: a 16 x 16 grid of 256 codes (EMA codebook, dead-code
restarts), then a Gated PixelCNN prior over the codes, in one run (jaxgen.games.vq).

    jaxgen train --config vqvae_emoji --workdir runs/vqvae_emoji
    jaxgen train --config vqvae_emoji:tiny --workdir /tmp/vqvae_emoji_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.vq_config("twemoji", arg)
