"""Configs of the adversarial trainer (`jaxgen.trainers.gan`): its keys, the loss-zoo rows on DCGAN-MNIST, and the
super-resolution runs' base."""

from __future__ import annotations

import math

import ml_collections

from jaxgen import config as config_lib
from jaxgen.defaults import games, optimizers
from jaxgen.losses import zoo


def eval_config() -> ml_collections.ConfigDict:
    """`config.eval`: metrics every `every` steps (0 = never) and a best checkpoint by `best_metric`.

    `metrics` as `jaxgen eval --metrics`; `best_metric` a full protocol name such as "fid2k_test_lenet"
    ("" = keep none); see :mod:`jaxgen.metrics.evaluate`. May change when a run is resumed.
    """
    return ml_collections.ConfigDict(dict(every=0, metrics="fid,kid", num_samples=2000, split="test",
                                          features="auto", best_metric=""))


def default_config(model: str, loss: str = "ns", game: str = "unconditional") -> ml_collections.ConfigDict:
    """The keys of an adversarial experiment, with the defaults of the DCGAN paper (Adam 2e-4, beta1 0.5)."""
    config = config_lib.experiment_config("gan", num_steps=5000, batch_size=64, log_every=50, sample_every=500,
                                          checkpoint_every=1000)
    config.num_samples = 64  # images in each sample grid (fixed noise)
    config.game = game
    config.model = games.model_config(game, model)
    config.loss = zoo.loss_config(loss)
    config.loss.weights = ml_collections.ConfigDict(games.weights(game))
    config.update_mode = "alternating"  # or "simultaneous": both players step from gradients at the same point
    config.n_critic = 1  # D updates per G update (k of Algorithm 1)
    config.fuse_phases = True  # run the phases of a step as one jitted program when none repeats or is lazy
    config.ema_decay = 0.0  # 0 = off; e.g. 0.999: sample from an EMA of G's parameters
    config.optimizer = ml_collections.ConfigDict(dict(g=optimizers.adam(), d=optimizers.adam()))
    config.eval = eval_config()
    config.update(config_lib.NETWORK_DEFAULTS)  # dtype, remat, accumulate (jaxgen.engine.accelerator)
    return config


# The loss zoo on DCGAN-MNIST (configs/<loss>_mnist.py): one architecture for every row (Radford et al. 2015,
# batch 64), so rows differ only in what their papers prescribe, as in Lucic et al. 2018 ("Are GANs Created
# Equal?"). Per row: (n_critic, model.d_norm, optimizer of both nets) as the row's paper trains it.
_ADAM_DCGAN = optimizers.adam(2e-4, 0.5, 0.999)  # Radford et al. 2015; also LSGAN, hinge, R1/R2 here
_ADAM_GP = optimizers.adam(1e-4, 0.5, 0.9)  # Gulrajani et al. 2017 (beta1 0 or 0.5); DRAGAN's code
ZOO_SETTINGS = {
    "mm": (1, "batch", _ADAM_DCGAN),
    "ns": (1, "batch", _ADAM_DCGAN),
    "wgan": (5, "batch", optimizers.rmsprop(5e-5)),  # Arjovsky et al. 2017, Algorithm 1
    "wgan_gp": (5, "none", _ADAM_GP),  # no BatchNorm under a gradient penalty
    "lsgan": (1, "batch", _ADAM_DCGAN),
    "dragan": (1, "none", _ADAM_GP),
    "began": (1, "none", optimizers.adam(1e-4, 0.5, 0.999)),  # Berthelot et al. 2017
    "hinge": (1, "batch", _ADAM_DCGAN),
    "r1": (1, "none", _ADAM_DCGAN),
    "r2": (1, "none", _ADAM_DCGAN),
}


def zoo_config(loss: str, arg=None) -> ml_collections.ConfigDict:
    """The config of loss-zoo row `loss` on DCGAN-MNIST, 3,000 steps; `arg="tiny"` shrinks it to seconds for tests."""
    model = "began" if loss == "began" else "dcgan"
    config = default_config(model, loss)
    n_critic, d_norm, opt = ZOO_SETTINGS[loss]
    config.n_critic = n_critic
    config.model.d_norm = d_norm
    config.optimizer.g = opt.copy_and_resolve_references()
    config.optimizer.d = opt.copy_and_resolve_references()
    config.num_steps = 3000
    config.batch_size = 64
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.width = 8
        config.model.z_dim = 8
        if model == "began":
            config.model.code_dim = 8
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config


def superres_config(arg=None, srgan_from: int = -1) -> ml_collections.ConfigDict:
    """The base of configs/srresnet_photos.py (`srgan_from` -1) and configs/srgan_photos.py: x4 on 96x96 crops of
    the photos, batch 16, Adam 1e-4 (beta1 0.9), PSNR/SSIM every `eval.every` steps; `arg="tiny"` for tests."""
    config = default_config("srgan", "ns", game="superres")
    config.model.srgan_from = srgan_from
    config.data.name = "photos"
    config.data.crop = 96  # HR crops (LR 24x24)
    config.data.flip = True
    config.batch_size = 16
    config.num_samples = 9  # three held-out crops as rows: bicubic, SR, HR
    config.log_every, config.sample_every, config.checkpoint_every = 100, 2000, 2000
    for group in ("g", "d"):  # the paper's Adam; D does not train before SRGAN starts
        config.optimizer[group] = optimizers.adam(1e-4, 0.9, 0.999)
    config.eval.every = 2000
    config.eval.metrics = "psnr_y,ssim_y"  # what the game's evaluator reports (see games.superres.evaluator)
    config.eval.crop = games.SUPERRES_EVAL_CROP
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size, config.num_samples, config.data.crop = 4, 9, 32
        config.model.blocks, config.model.width, config.model.d_width, config.model.d_dense = 1, 8, 4, 16
        config.model.vgg_layer = "relu2_2"  # the paper's VGG22: small and fast
        config.eval.every, config.eval.crop = 0, 64
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config


def progressive_config(model: str, size: int = 32, tiny: bool = False) -> ml_collections.ConfigDict:
    """The base of configs/progan_emoji.py and configs/stylegan_emoji.py: family `model` in the progressive game on
    Twemoji growing 4 -> `size` px, 192k images a stage, batch 16, WGAN-GP + drift, Adam 1e-3 (0, 0.99), EMA 0.999;
    `tiny`: 4 -> 8 px, width 8, 4 steps a stage, for tests."""
    config = default_config(model, "wgan_gp", game="progressive")
    config.data.name = "twemoji"
    config.data.image_size = size
    config.data.flip = True
    config.batch_size = 16
    config.model.z_dim = config.model.width = 128
    config.model.stage_images = 192_000
    config.ema_decay = 0.999
    config.log_every, config.sample_every, config.checkpoint_every = 100, 2000, 2000
    for group in ("g", "d"):
        config.optimizer[group] = optimizers.adam(1e-3, 0.0, 0.99)  # optax's eps is the paper's 1e-8
    if tiny:
        config_lib.shrink_for_tests(config)
        config.data.image_size = 8
        config.batch_size = 4  # one minibatch-stddev group
        config.model.z_dim, config.model.width = 8, 8
        config.model.stage_images = 16  # 4 steps a stage: alpha 0, 0.5, 1, 1 in the second
        config.ema_decay = 0.9
    stages = int(math.log2(config.data.image_size)) - 1  # 4, 8, ..., image_size
    config.num_steps = stages * -(-config.model.stage_images // config.batch_size)
    return config


def vq_config(dataset: str, arg=None, gan: bool = False) -> ml_collections.ConfigDict:
    """The base of configs/vqvae_mnist.py, vqvae_emoji.py (`gan` False) and vqgan_emoji.py (`gan` True): the vq
    game (jaxgen.games.vq) on `dataset`, the autoencoder for 2,000 steps, then the prior for 1,000; Adam
    (the autoencoder and prior 1e-3 / 2e-4 (0.5, 0.9) with a critic); `arg="tiny"`: seconds, for tests."""
    config = default_config("vqvae", "hinge", game="vq")
    config.data.name = dataset
    config.num_steps = 3000
    config.batch_size = 32
    config.num_samples = 36
    config.model.prior_from = 2000
    config.log_every, config.sample_every, config.checkpoint_every = 100, 1000, 1000
    config.optimizer.g = optimizers.adam(1e-3, 0.9, 0.999)
    config.eval.every = 1000
    config.eval.metrics = "rec_mse,rec_psnr,code_perplexity,code_usage,bpd_bound,rfid,rkid"  # the game's evaluator's
    if dataset != "mnist5k":
        config.model.num_codes = 256
        config.model.code_dim = 32
    if gan:  # Esser et al.: L1 + perceptual, a hinge PatchGAN after disc_start, Adam (0.5, 0.9)
        config.model.rec_loss = "l1"
        config.model.prior = "transformer"
        config.model.top_k = 64
        config.model.disc_start = 1000
        config.loss.weights.perceptual = 1.0
        config.optimizer.g = optimizers.adam(2e-4, 0.5, 0.9)
        config.optimizer.d = optimizers.adam(2e-4, 0.5, 0.9)
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size, config.num_samples = 8, 4  # 8: divisible by the tests' 8 fake devices
        config.model.prior_from = 2
        config.model.width, config.model.res_width, config.model.res_blocks = 8, 4, 1
        config.model.num_codes, config.model.code_dim, config.model.restart_after = 8, 4, 1
        config.model.prior_width, config.model.prior_layers = 8, 2
        config.eval.every = 0
        if dataset != "mnist5k":
            config.data.image_size = 16
        if gan:
            config.model.disc_start, config.model.prior_from, config.num_steps = 1, 3, 5
            config.model.d_width = 4
            config.model.vgg_layers = ("relu1_2",)
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
