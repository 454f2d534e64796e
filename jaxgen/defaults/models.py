"""`config.model` of every network family by `model.name`: the keys its module (`jaxgen.models.<name>`) reads,
with their defaults (the classical fits, `gmm` and `pca`, take theirs from `defaults.classical`)."""

from __future__ import annotations

import math

import ml_collections

from jaxgen.errors import ConfigError


def dcgan() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="dcgan",
        z_dim=100,
        width=64,  # channels of G's last hidden layer and D's first layer
        d_norm="batch",  # "batch" | "none" ("none" for gradient penalties: D's output per example)
        base_size=0,  # spatial size of G's first feature map; 0 = from the image size (see models.dcgan.layout)
        bn_momentum=0.9,  # flax convention (PyTorch momentum=0.1)
        conditioning="none",  # "none" | "concat" | "projection" | "acgan" (class-conditional; labelled data)
        spectral_norm=False,  # spectral normalisation of every conv/dense layer of D (Miyato et al. 2018)
    ))


def began() -> ml_collections.ConfigDict:
    """DCGAN's keys (``d_norm`` is unused: the autoencoder has no normalisation) plus ``code_dim``."""
    cfg = dcgan()
    cfg.name = "began"
    cfg.d_norm = "none"
    cfg.code_dim = 64  # the autoencoder's bottleneck (the paper's h)
    return cfg


def gan_mlp() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="gan_mlp",
        z_dim=100,
        noise="gaussian",  # "gaussian" | "uniform" (U(-1,1)) | "uniform_unit" (U(-sqrt3, sqrt3))
        g_hidden=(1200, 1200),  # ReLU layers
        d_units=(240, 240),  # maxout layers
        d_pieces=5,
        dropout=True,  # D's dropout (keep 0.8 on the input, 0.5 on hidden layers)
        d_input_keep=0.8,
        d_hidden_keep=0.5,
        g_init_range=0.05,
        d_init_range=0.005,
        conditioning="none",  # "none" | "concat" | "projection" | "acgan" (class-conditional; labelled data)
        spectral_norm=False,  # spectral normalisation of D's dense layers (Miyato et al. 2018)
    ))


def pix2pix() -> ml_collections.ConfigDict:
    """The paper's defaults."""
    return ml_collections.ConfigDict(dict(
        name="pix2pix",
        g_width=64,  # channels of the U-Net's first block (C64)
        d_width=64,  # channels of the PatchGAN's first block
        norm="batch",  # "batch" | "instance", both networks
        dropout=0.5,  # the U-Net's decoder dropout (train and test): its only noise
        dropout_blocks=3,  # decoder blocks with dropout, from the innermost
        d_layers=0,  # PatchGAN stride-2 layers; 0: sized to the image (3 = 70x70 at 256 px)
    ))


def cyclegan() -> ml_collections.ConfigDict:
    """The paper's defaults."""
    return ml_collections.ConfigDict(dict(
        name="cyclegan",
        g_width=64,  # channels of the generator's first layer (c7s1-64)
        g_blocks=0,  # residual blocks; 0: 6 below 256 px, 9 from 256 (the paper)
        d_width=64,  # channels of the PatchGAN's first layer
        d_layers=3,  # PatchGAN stride-2 layers: 3 = the paper's 70x70 patches; 0: sized to the image
        norm="instance",  # "instance" (the paper) | "batch", both networks
    ))


def srgan() -> ml_collections.ConfigDict:
    """The paper's values."""
    return ml_collections.ConfigDict(dict(
        name="srgan",
        scale=4,  # up-sampling factor (a power of 2): log2(scale) PixelShuffle x2 blocks
        blocks=16,  # residual blocks of SRResNet
        width=64,  # SRResNet's channels
        d_width=64,  # D's first convolution's channels (doubling to 8 x d_width)
        d_dense=1024,  # D's hidden dense layer
        bn_momentum=0.9,  # flax convention (PyTorch momentum=0.1)
    ))


def toy_mlp() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="toy_mlp",
        arch="small",  # a key of models.toy_mlp.ARCHS: pacgan | small | tiny
        z_dim=2,  # G's Gaussian noise
        d_kind="maxout",  # "maxout" (a logit / critic value) or "autoencoder" (BEGAN's energy)
        code_dim=8,  # autoencoder bottleneck
        init_std=0.02,
    ))


def translator_mlp() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="translator_mlp",
        g_hidden=(64, 64),  # the translators' hidden widths
        d_units=(64, 64),  # the critics' hidden widths
        residual=False,  # True: translator = identity + MLP (see models.translator_mlp)
        init_std=0.02,
    ))


def vae() -> ml_collections.ConfigDict:
    """An MLP VAE on binarised data."""
    return ml_collections.ConfigDict(dict(
        name="vae", kind="vae", data="binary", encoder="mlp", latent_dim=32,
        hidden=(512, 256),  # MLP widths (the decoder mirrors them)
        widths=(32, 64),  # conv channels, each a 4x4 stride-2 conv (the decoder mirrors them)
        decoder_scale="fixed", fixed_log_scale=math.log(0.1),  # Gaussian decoder ("continuous" data)
        train_samples=1))


def pixelcnn() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="pixelcnn",
        data="binary",  # "binary" | "8bit" (jaxgen.losses.likelihood data spaces)
        features=64,  # residual stream (2h in the paper); a multiple of the colour channels
        blocks=5,  # residual blocks of masked 3x3 convs
        head_features=64,  # hidden units of the 1x1 output layers
    ))


def gated_pixelcnn() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="gated_pixelcnn",
        data="binary",  # "binary" | "8bit" (jaxgen.losses.likelihood data spaces)
        features=32,  # channels of each stack; a multiple of the colour channels
        layers=6,  # gated layers
        kernel_size=3,  # n (odd): vertical (n//2+1) x n, horizontal 1 x n
        head_features=64,  # hidden units of the 1x1 output layers
        conditional=False,  # class-conditional (needs labelled data)
    ))


def pixelrnn() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="pixelrnn",
        data="binary",  # "binary" | "8bit" (jaxgen.losses.likelihood data spaces)
        cell="row_lstm",  # "row_lstm" | "diagonal_bilstm"
        features=32,  # LSTM hidden units = residual stream; a multiple of the colour channels
        layers=2,  # LSTM layers
        head_features=64,  # hidden units of the 1x1 output layers
    ))


def diffusion() -> ml_collections.ConfigDict:
    """Ho et al. 2020's CIFAR-10 DDPM at T = 1000 (linear betas, sigma_t^2 = beta_t), ancestral sampling."""
    return ml_collections.ConfigDict(dict(
        name="diffusion",
        data="8bit",  # the bound's discretised Gaussian decoder is on the 256 levels
        width=128,  # channels of the first U-Net level
        channel_mult=(1, 2, 2, 2),  # width multiplier per level; each level after the first halves the side
        num_res_blocks=2,  # residual blocks per level
        attention_below=16,  # self-attention at every level whose side is <= this (16: 16x16 and below)
        dropout=0.1,
        conditional=False,  # a class embedding added to the time embedding (needs labelled data)
        num_timesteps=1000,  # T
        schedule="linear",  # "linear" (1e-4..0.02 at T = 1000) | "cosine" (Nichol & Dhariwal 2021)
        variance="beta",  # reverse sigma_t^2: "beta" (beta_t) | "beta_tilde" (the posterior variance)
        sampler="ddpm",  # "ddpm" (ancestral, every step) | "ddim" (Song et al. 2021)
        sample_steps=0,  # DDIM's evenly strided steps; 0 = all T
        eta=0.0,  # DDIM's noise: 0 deterministic, 1 = ancestral with sigma_t^2 = beta_tilde
        eval_bound="sampled",  # "sampled": L_T + L_0 + (T-1) L_t at one t per image | "full": all T terms
    ))


def progan() -> ml_collections.ConfigDict:
    """The paper's 1024 x 1024 networks' widths."""
    return ml_collections.ConfigDict(dict(
        name="progan",
        z_dim=512,
        width=512,  # the most channels of any level (official fmap_max)
        width_base=16384,  # level at resolution r has min(width, width_base / r) channels (2 x official fmap_base)
        mbstd_group=4,  # the minibatch-stddev group size G (the batch must be a multiple of min(G, batch))
    ))


def stylegan() -> ml_collections.ConfigDict:
    """ProGAN's keys (its discriminator; widths as the official fmap_base 8192, fmap_max 512) and the style-based
    generator's switches, all on: the paper's configuration F."""
    cfg = progan()
    cfg.name = "stylegan"
    cfg.update(dict(
        mapping_layers=8,  # the mapping network z -> w (0: none, w = pixel_norm(z))
        mapping_lr_mul=0.01,  # its learning-rate multiplier (equalized lr scaled by it)
        styles=True,  # AdaIN with a w per layer (False: ProGAN's pixel norm)
        const_input=True,  # a learned 4 x 4 constant input (False: ProGAN's dense of w; needs styles)
        noise=True,  # per-pixel noise after every convolution, a learned strength per channel
        blur=True,  # the [1, 2, 1] blur after each up-sampling convolution (the paper's bilinear up-sampling)
        mixing_prob=0.9,  # style mixing regularisation: the probability of a second latent per batch
        w_avg_decay=0.995,  # the tracked average w (truncation): w_avg <- mean(w) + decay (w_avg - mean(w))
    ))
    return cfg


def stylegan2() -> ml_collections.ConfigDict:
    """ProGAN's width keys (widths as the official channel_base 16384 x 2, channel_max 512) and StyleGAN's mapping,
    mixing and average-w keys; no switches: the paper's configuration F (no growing, skip G, residual D)."""
    cfg = progan()
    cfg.name = "stylegan2"
    cfg.update({key: stylegan()[key] for key in ("mapping_layers", "mapping_lr_mul", "mixing_prob", "w_avg_decay")})
    return cfg


def msggan() -> ml_collections.ConfigDict:
    """ProGAN's keys (MSG-GAN's networks are ProGAN's levels, every one at once)."""
    cfg = progan()
    cfg.name = "msggan"
    return cfg


def lapgan() -> ml_collections.ConfigDict:
    """The paper's CIFAR-10 sizes (section 4): an 8 x 8 coarsest level, its MLPs of 1200 / 600 units; 128 channels."""
    return ml_collections.ConfigDict(dict(
        name="lapgan",
        base_size=8,  # the coarsest level's resolution; the image is base_size * 2**n pixels (n + 1 levels)
        z_dim=100,  # the coarsest G's noise, uniform in [-1, 1]
        mlp_width=1200,  # the coarsest G's hidden units (its D has half: the paper's 1200 / 600)
        width=128,  # channels of the conditional levels' convolutions
        d_dropout=0.5,  # dropout in every D
    ))


def singan() -> ml_collections.ConfigDict:
    """The official SinGAN code's settings (Rott Shaham et al. 2019): 32 channels doubling every 4 scales up to 128,
    a coarsest scale of 25 px, a scale factor of about 0.75, 2,000 iterations per scale."""
    return ml_collections.ConfigDict(dict(
        name="singan",
        width=32,  # channels of the coarsest scale's networks
        width_every=4,  # the width doubles every this many scales ...
        max_width=128,  # ... up to this
        layers=5,  # 3 x 3 convolutions per G and D (D's patches: 2 layers + 1 px)
        min_size=25,  # the coarsest scale's shorter side, px
        scale_factor=0.75,  # about the ratio of consecutive scales (adjusted: jaxgen.defaults.singan.factor)
        scale_steps=2000,  # training steps per scale, coarsest first
        noise_amp=0.1,  # sigma_n = noise_amp x RMSE(real_n, up(reconstruction_{n-1}))
    ))


def ingan() -> ml_collections.ConfigDict:
    """InGAN's retargeting generator and multi-scale patch discriminator (jaxgen.models.ingan)."""
    return ml_collections.ConfigDict(dict(
        name="ingan",
        width=32,  # G's first layer's channels (doubled by each of its 2 down-samplings)
        blocks=2,  # residual blocks before and after the resize in G's middle
        d_width=32,  # channels of each scale's patch discriminator
        d_scales=3,  # D's scales: the image and its 1/2, 1/4 down-samplings
        d_layers=3,  # 3x3 convs of each scale's D (the 2nd stride 2): receptive field 3 + 2 + 4 ... px
        # target shapes trained every step, as (height, width) scale factors of the image (each side rounded to 4 px)
        train_scales=((0.5, 1.0), (1.0, 0.5), (1.5, 1.0), (1.0, 1.5), (0.75, 1.25), (1.25, 0.75)),
        # the shapes of sample grids and `jaxgen sample` (row by row)
        sample_scales=((0.5, 0.5), (0.5, 1.0), (0.5, 1.5), (1.0, 0.5), (1.0, 1.0), (1.0, 1.5),
                       (1.5, 0.5), (1.5, 1.0), (1.5, 1.5)),
    ))


def vqvae() -> ml_collections.ConfigDict:
    """The VQ autoencoder (jaxgen.models.vqvae) and the prior over its codes (games.vq); sized for a 2-core CPU."""
    return ml_collections.ConfigDict(dict(
        name="vqvae",
        width=64,  # the encoder's / decoder's channels (the first down-sampling has width / 2)
        res_blocks=2,  # residual blocks on each side
        res_width=32,  # their hidden channels
        num_codes=64,  # K, the codebook's size
        code_dim=16,  # D, each code's dimension
        ema=True,  # EMA codebook updates (decay, Laplace smoothing) instead of the codebook loss
        decay=0.99,  # the EMA's decay
        restart_after=100,  # a code unused for this many steps restarts at a random encoder output (0 = never)
        rec_loss="mse",  # "mse" | "l1": the reconstruction term
        prior="gated_pixelcnn",  # "gated_pixelcnn" | "transformer": the prior over the code grid
        prior_width=64,  # the Gated PixelCNN's features / the transformer's model width
        prior_layers=6,  # gated layers / transformer blocks
        prior_kernel=3,  # the Gated PixelCNN's kernel size (odd)
        prior_heads=4,  # the transformer's attention heads
        top_k=0,  # sample each code from the k most likely only (0: all; the transformer's top-k sampling)
        conditional=False,  # class-conditional prior (needs labelled data)
    ))


FAMILIES = {f.__name__: f for f in (dcgan, began, gan_mlp, lapgan, singan, progan, msggan, stylegan, stylegan2, pix2pix,
                                    cyclegan, srgan, toy_mlp, translator_mlp, vae, pixelcnn, gated_pixelcnn, pixelrnn,
                                    ingan, diffusion, vqvae)}


def config(name: str) -> ml_collections.ConfigDict:
    """`config.model` of family `name` with its defaults; an unknown name is a ConfigError naming `model.name`."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ConfigError(f"model.name={name!r} is not a model; available: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]()
