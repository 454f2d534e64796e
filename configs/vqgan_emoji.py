"""VQ-GAN (Esser et al. 2021) on Twemoji at 64 x 64: the VQ autoencoder on L1 + VGG-16 perceptual loss, a hinge
PatchGAN from step 1,000 weighted by the adaptive weight, then a decoder-only transformer prior over the 16 x 16
codes with top-k sampling, in one run (jaxgen.games.vq).

    jaxgen train --config vqgan_emoji --workdir runs/vqgan_emoji
    jaxgen train --config vqgan_emoji:tiny --workdir /tmp/vqgan_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.vq_config("twemoji", arg, gan=True)
