"""Configs of the likelihood trainer (`jaxgen.trainers.likelihood`): (V)AEs and the autoregressive families."""

from __future__ import annotations

import ml_collections

from jaxgen import config as config_lib
from jaxgen.defaults import models, optimizers


def default_config(model: str, dataset: str = "mnist5k", arg=None) -> ml_collections.ConfigDict:
    """Adam 1e-3 (betas 0.9, 0.999), batch 64, 5,000 steps of `model` on `dataset`'s train split."""
    config = config_lib.experiment_config("likelihood", num_steps=5000, batch_size=64, log_every=100,
                                          sample_every=1000, checkpoint_every=1000, dataset=dataset)
    config.num_samples = 64  # images in each sample grid (fixed noise)
    config.model = models.config(model)
    config.optimizer = optimizers.adam(1e-3, 0.9, 0.999)
    config.eval = ml_collections.ConfigDict(dict(
        every=1000, split="test", batch_size=100,
        iwae_samples=(),  # VAEs: K of the importance-weighted bounds, e.g. (1, 50, 5000)
        best_metric=""))  # e.g. "test_nll_nats" keeps checkpoints_best/
    config.ema_decay = 0.0  # 0 = off; e.g. 0.9999: evaluate and sample with an EMA of the parameters
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.eval.every = 2
        config.eval.split = "test[:200]"
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    config.update(config_lib.NETWORK_DEFAULTS)  # dtype, remat, accumulate (jaxgen.engine.accelerator)
    return config


VAE_VARIANTS = ("conv", "2d", "8bit", "gaussian", "ae", "tiny")


def vae_config(arg=None) -> ml_collections.ConfigDict:
    """configs/vae_mnist.py: an MLP VAE on mnist5k, 10,000 steps; `arg`: comma-separated `VAE_VARIANTS` (`conv`
    encoder/decoder, `2d` latent, `8bit` or `gaussian` data, `ae` without the KL term, `tiny` for tests)."""
    tokens = [] if arg is None else arg.split(",")
    unknown = sorted(set(tokens) - set(VAE_VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(VAE_VARIANTS)} (comma-separated)")
    config = default_config("vae", "mnist5k", "tiny" if "tiny" in tokens else None)
    m = config.model
    if "tiny" not in tokens:
        config.num_steps = 10000
        config.eval.every = 2500
        config.eval.iwae_samples = (1, 50)
    if "conv" in tokens:
        m.encoder, m.hidden = "conv", (256,)
    if "2d" in tokens:
        m.latent_dim = 2
    if "8bit" in tokens:
        m.data = "8bit"
    if "gaussian" in tokens:
        m.data, m.decoder_scale = "continuous", "diagonal"
    if "ae" in tokens:
        m.kind = "ae"
        config.eval.iwae_samples = ()
    if "tiny" in tokens:
        m.hidden, m.widths, m.latent_dim = (16,), (4, 8), 2
        config.eval.iwae_samples = () if m.kind == "ae" else (1, 3)
    return config


def autoregressive_config(model: str, arg, *, num_steps: int, **sizes) -> ml_collections.ConfigDict:
    """A config of autoregressive family `model` (`model.<key>` = `sizes`) on mnist5k: `num_steps` steps, the
    test split scored every `num_steps // 3` steps, one sample grid at the end. `arg`: comma-separated
    variants `8bit` (256-way softmax on the levels), `cond` (class-conditional), `tiny` (for tests)."""
    tokens = [] if arg is None else arg.split(",")
    unknown = sorted(set(tokens) - {"8bit", "cond", "tiny"})
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: 8bit, cond, tiny (comma-separated)")
    config = default_config(model, "mnist5k", "tiny" if "tiny" in tokens else None)
    config.model.update(sizes)
    if "tiny" in tokens:
        config.model.features = 4 if "8bit" not in tokens else 6  # 8bit: a multiple of 2 x 3 colours is safe
        config.model.head_features = 8
        for key, value in (("blocks", 1), ("layers", 1)):
            if key in config.model:
                config.model[key] = value
        config.num_samples = 4
    else:
        config.num_steps, config.eval.every, config.sample_every = num_steps, num_steps // 3, num_steps
    if "8bit" in tokens:
        config.model.data = "8bit"
    if "cond" in tokens:
        config.model.conditional = True
    return config


DIFFUSION_VARIANTS = ("cond", "cosine", "tiny")


def diffusion_config(dataset: str, arg, *, num_steps: int, tiny_data: dict | None = None,
                     **model) -> ml_collections.ConfigDict:
    """A DDPM config (`jaxgen.models.diffusion`) on `dataset`: `model` keys over the family's defaults, Adam 2e-4
    (Ho et al.), batch 64, EMA 0.9995, `num_steps` steps, the test split's sampled bound every `num_steps // 4`
    steps, one sample grid at the end. `arg`: comma-separated `DIFFUSION_VARIANTS` (`cond` class-conditional,
    `cosine` betas, `tiny`: T = 10, a 2-level U-Net of width 8, for tests; `tiny_data` are its data keys)."""
    tokens = [] if arg is None else arg.split(",")
    unknown = sorted(set(tokens) - set(DIFFUSION_VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(DIFFUSION_VARIANTS)} (comma-separated)")
    tiny = "tiny" in tokens
    config = default_config("diffusion", dataset, "tiny" if tiny else None)
    config.model.update(model)
    config.optimizer = optimizers.adam(2e-4, 0.9, 0.999)
    config.ema_decay = 0.9995
    config.num_samples = 36
    if tiny:
        config.model.update(width=8, channel_mult=(1, 2), num_res_blocks=1, attention_below=8, dropout=0.0,
                            num_timesteps=10, sampler="ddpm", sample_steps=0)
        config.ema_decay = 0.9
        config.num_samples = 4
        config.data.update(tiny_data or {})
    else:
        config.num_steps, config.eval.every, config.sample_every = num_steps, num_steps // 4, num_steps
        config.checkpoint_every = 500
    if "cond" in tokens:
        config.model.conditional = True
    if "cosine" in tokens:
        config.model.schedule = "cosine"
    return config
