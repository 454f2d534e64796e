"""SinGAN (Rott Shaham et al. 2019) on one bundled photo (coffee; `:chelsea`, `:rocket`, `:hubble_deep_field`, ...
any name of jaxgen.data.single_image), at a CPU budget: the photo's longer side 64 px, 2,000 steps per scale.

The singan game (jaxgen.games.singan) with the official code's networks (jaxgen.models.singan: five 3 x 3 convs,
BatchNorm, LeakyReLU 0.2; 32 channels doubling every 4 scales), scales from 25 px up by about 1 / 0.75, trained
coarse to fine (one stage per scale; the scales below frozen; a scale starts from the one below's weights when
their widths match). WGAN-GP (lambda 0.1, the gradient's norm per position as the official code) + 10 x the
reconstruction loss; Adam 5e-4 (0.5, 0.999) for both; 3 D steps per G step (the paper: 3 and 3). `:paper`: coffee
at the paper's 250 px, 2,000 steps per scale.

    jaxgen train --config singan_photo --workdir runs/singan_coffee    # 3 scales, 6,000 steps, ~16 min on a CPU core
    jaxgen train --config singan_photo:chelsea --workdir runs/singan_chelsea
    jaxgen train --config singan_photo:tiny --workdir /tmp/singan                    # 2 scales of 14-24 px, 3 layers
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan, optimizers, singan

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina", "immunohistochemistry",
          "motorcycle_left", "motorcycle_right", "china", "flower", "brick", "grass", "gravel")  # single_image.names()


def get_config(arg=None):
    if arg not in (None, "paper", "tiny", *PHOTOS):
        raise ValueError(f"unknown variant {arg!r}; known: paper, tiny, or a photo: {', '.join(PHOTOS)}")
    config = gan.default_config("singan", "wgan_gp", game="singan")
    config.loss.penalty = "wgan_gp_pixel"  # the official code's: the gradient's norm per position, over channels
    config.loss.penalty_weight = 0.1  # the official code's lambda_grad
    config.data.name = "single_image"
    config.data.image = arg if arg in PHOTOS else "coffee"
    config.data.max_size = 64
    config.batch_size = 1
    config.n_critic = 3
    config.num_samples = 8
    config.optimizer.g = optimizers.adam(5e-4, 0.5, 0.999)
    config.optimizer.d = optimizers.adam(5e-4, 0.5, 0.999)
    config.model.scale_steps = 2000  # the paper's 2,000 iterations per scale
    config.log_every, config.sample_every, config.checkpoint_every = 50, 2000, 500
    if arg == "paper":
        config.data.max_size = 250
        config.model.scale_steps = 2000
        config.sample_every = config.checkpoint_every = 2000
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size = 1
        config.num_samples = 4
        config.data.max_size = 24
        config.model.min_size = 14
        config.model.width = 4
        config.model.layers = 3
        config.n_critic = 1
        config.model.scale_steps = 2
    config.num_steps = singan.num_steps(config.data.image, config.data.max_size, config.model)
    return config
