"""LapGAN (Denton et al. 2015) on colour emoji (Twemoji on white), a Laplacian pyramid 8 -> 16 -> 32 px (`:digits`:
the 5,000 MNIST digits, 7 -> 14 -> 28 px).

The laplacian game (jaxgen.games.laplacian) with LapGAN's networks (jaxgen.models.lapgan: an MLP GAN on the 8 x 8
low-pass image, 1200 / 600 units; conditional convnet GANs of 128 channels on the band-pass residuals, the noise a
4th plane beside the up-sampled coarser image). One stage per level, coarsest first, 5,000 steps each, batch 64;
only the stage's level learns, its optimizer states fresh. The standard GAN loss (ns) with Adam 2e-4 (beta1 0.5),
the jaxgen zoo's DCGAN setting, in place of the paper's SGD (lr 0.02 decaying, momentum 0.5 -> 0.8). Samples run
the whole pyramid (levels not yet trained only up-sample).

    jaxgen train --config lapgan_emoji --workdir runs/lapgan                   # 8 -> 16 -> 32 px, 15,000 steps
    jaxgen train --config lapgan_emoji:digits --workdir runs/lapgan_digits     # 7 -> 14 -> 28 px, 15,000 steps
    jaxgen train --config lapgan_emoji:tiny --workdir /tmp/lapgan              # 4 -> 8 px, width 4; seconds
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


def get_config(arg=None):
    if arg not in (None, "digits", "tiny"):
        raise ValueError(f"unknown variant {arg!r}; known: digits, tiny")
    config = gan.default_config("lapgan", "ns", game="laplacian")
    config.data.name = "twemoji"
    config.data.image_size = 32
    config.data.flip = True
    config.batch_size = 64
    config.log_every, config.sample_every, config.checkpoint_every = 100, 1000, 1000
    if arg == "digits":
        config.data.name = "mnist5k"
        config.data.image_size = 28
        config.data.flip = False
        config.model.base_size = 7
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.data.image_size = 8
        config.batch_size = 4
        config.model.base_size = 4
        config.model.z_dim, config.model.mlp_width, config.model.width = 8, 16, 4
        config.model.level_steps = 2
    levels = (config.data.image_size // config.model.base_size).bit_length()  # base, 2 base, ..., image_size
    config.num_steps = levels * config.model.level_steps
    return config
