"""MSG-GAN (Karnewar & Wang 2020) on colour emoji (Twemoji on white), 32 x 32, for comparison with progan_emoji.

The multiscale game (jaxgen.games.multiscale) with MSG-GAN's networks (jaxgen.models.msggan: ProGAN's levels, an
image out of every G level, D taking the images of every resolution by concatenation), 128 channels at every
level, z 128; every resolution trains from the first step (no growing). progan_emoji's budget and loss: 48,000
steps of batch 16 (768k images), WGAN-GP (lambda 10) with the drift term 0.001 E[D(x)^2], n_critic 1, samples
from an EMA of G (0.999), mirrored training images; Adam at the MSG-GAN paper's 0.003 (beta1 0, beta2 0.99).

    jaxgen train --config msggan_emoji --workdir runs/msggan                   # 32 px, 48,000 steps
    jaxgen train --config msggan_emoji:tiny --workdir /tmp/msggan              # 8 px, width 8; seconds
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan, optimizers


def get_config(arg=None):
    config = gan.default_config("msggan", "wgan_gp", game="multiscale")
    config.data.name = "twemoji"
    config.data.image_size = 32
    config.data.flip = True
    config.batch_size = 16
    config.model.z_dim = config.model.width = 128
    config.num_steps = 48_000
    config.ema_decay = 0.999
    config.log_every, config.sample_every, config.checkpoint_every = 100, 2000, 2000
    for group in ("g", "d"):
        config.optimizer[group] = optimizers.adam(3e-3, 0.0, 0.99)  # optax's eps is the paper's 1e-8
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.data.image_size = 8
        config.batch_size = 4  # one minibatch-stddev group
        config.model.z_dim, config.model.width = 8, 8
        config.ema_decay = 0.9
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
