"""StyleGAN2 (Karras et al. 2020, config F of its table 1) on colour emoji (Twemoji on white), 32 x 32 (`:64`: 64 px).

The classic game (jaxgen.games.unconditional) with StyleGAN2's networks (jaxgen.models.stylegan2: mapping network of
8 layers (lr x 0.01), learned constant, modulated and demodulated convolutions with noise, skip generator, residual
discriminator), every resolution from the first step (no growing), 128 channels at every level, z and w 128. The
paper's training: non-saturating logistic loss, lazy R1 on the reals every 16 steps (gamma = 0.0002 H W / batch,
stylegan2-ada's heuristic: 0.0128 at 32 px, 0.0512 at 64 px), the path-length regulariser in W every 4 steps
(weight 2, the moving mean's decay 0.01), style mixing 0.9, Adam 2e-3 (beta1 0, beta2 0.99; learning rate and betas
corrected for the lazy intervals), samples from an EMA of G (10k images' half-life: 0.5 ** (batch / 10,000)).
progan_emoji's image budget: 48,000 steps of batch 16 (768k images), mirrored training images.

    jaxgen train --config stylegan2_emoji --workdir runs/stylegan2             # 32 px, 48,000 steps
    jaxgen train --config stylegan2_emoji:64 --workdir runs/stylegan2_64       # 64 px
    jaxgen train --config stylegan2_emoji:tiny --workdir /tmp/stylegan2        # 8 px, width 8, 4 steps; for tests
    jaxgen sample --workdir runs/stylegan2 --num 64 --out stylegan2.png        # psi 1, fresh noise
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan, optimizers

VARIANTS = ("64", "tiny")


def get_config(arg=None):
    if arg not in (None, *VARIANTS):
        raise ValueError(f"unknown variant {arg!r}; known: {', '.join(VARIANTS)}")
    config = gan.default_config("stylegan2", "r1")
    config.data.name = "twemoji"
    config.data.image_size = 64 if arg == "64" else 32
    config.data.flip = True
    config.batch_size = 16
    config.model.z_dim = config.model.width = 128
    config.num_steps = 48_000
    config.log_every, config.sample_every, config.checkpoint_every = 100, 2000, 2000
    for group in ("g", "d"):
        config.optimizer[group] = optimizers.adam(2e-3, 0.0, 0.99)  # optax's eps is the paper's 1e-8
    config.loss.reg_every = 16  # lazy R1
    config.loss.g_reg_every = 4  # lazy path length
    config.loss.weights.path_length = 2.0
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.data.image_size = 8
        config.batch_size = 4  # one minibatch-stddev group
        config.model.z_dim, config.model.width, config.model.mapping_layers = 8, 8, 2
        config.loss.reg_every, config.loss.g_reg_every = 2, 2  # both lazy phases run within a few steps
    config.loss.penalty_weight = 0.0002 * config.data.image_size**2 / config.batch_size  # R1 gamma
    config.ema_decay = 0.5 ** (config.batch_size / 10_000)
    return config
