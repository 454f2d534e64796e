"""ProGAN (Karras et al. 2018) on colour emoji (Twemoji on white), growing 4 -> 32 px (`:64`: 4 -> 64 px).

The progressive game (jaxgen.games.progressive) with ProGAN's networks (jaxgen.models.progan: equalized learning
rate, pixel norm, minibatch stddev, nearest up-sampling / average pooling, toRGB / fromRGB per resolution), 128
channels at every level, z 128. One stage per resolution of 192k images: 96k of fade-in, 96k stable (the paper
shows 600k + 600k per resolution), batch 16, so 12,000 steps a stage. WGAN-GP (lambda 10) with the drift term
0.001 E[D(x)^2], n_critic 1, Adam 1e-3 (beta1 0, beta2 0.99, eps 1e-8) for both, optimizer states reset when a
resolution starts, samples from an EMA of G (0.999), mirrored training images. A run stopped anywhere (mid-fade
included) resumes exactly: the stage and the step fix the resolution and alpha.

    jaxgen train --config progan_emoji --workdir runs/progan                   # 4 -> 32 px, 48,000 steps
    jaxgen train --config progan_emoji:64 --workdir runs/progan64              # 4 -> 64 px, 60,000 steps
    jaxgen train --config progan_emoji:tiny --workdir /tmp/progan              # 4 -> 8 px, width 8; seconds
"""

import math

from jaxgen import config as config_lib
from jaxgen.defaults import gan, optimizers


def get_config(arg=None):
    config = gan.default_config("progan", "wgan_gp", game="progressive")
    config.data.name = "twemoji"
    config.data.image_size = 32
    config.data.flip = True
    config.batch_size = 16
    config.model.z_dim = config.model.width = 128
    config.model.stage_images = 192_000
    config.ema_decay = 0.999
    config.log_every, config.sample_every, config.checkpoint_every = 100, 2000, 2000
    for group in ("g", "d"):
        config.optimizer[group] = optimizers.adam(1e-3, 0.0, 0.99)  # optax's eps is the paper's 1e-8
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.data.image_size = 8
        config.batch_size = 4  # one minibatch-stddev group
        config.model.z_dim, config.model.width = 8, 8
        config.model.stage_images = 16  # 4 steps a stage: alpha 0, 0.5, 1, 1 in the second
        config.ema_decay = 0.9
    elif arg == "64":
        config.data.image_size = 64
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny, 64")
    stages = int(math.log2(config.data.image_size)) - 1  # 4, 8, ..., image_size
    config.num_steps = stages * -(-config.model.stage_images // config.batch_size)
    return config
