"""DCGAN (Radford et al. 2015) on colour emoji (Twemoji on white), 32 x 32: the family-comparison table's GAN baseline.

    jaxgen train --config dcgan_emoji --workdir runs/dcgan_emoji          # 5,000 steps of batch 64
    jaxgen train --config dcgan_emoji:tiny --workdir /tmp/dcgan_tiny      # seconds; for tests

The paper's network at 32 px (4x4 base, three up-sampling blocks, channels 4w -> 2w -> w, BatchNorm in both nets),
non-saturating loss, Adam 2e-4 (beta1 0.5), z 100, mirrored training images.
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.zoo_config("ns", arg)
    config.data.name = "twemoji"
    config.data.image_size = 8 if arg == "tiny" else 32
    config.data.flip = True
    if arg != "tiny":
        config.num_steps = 5000
    return config
