"""What each game of the adversarial trainer adds to a config: its `config.model` (the family's keys and the
game's) and its extra loss terms' default weights (`config.loss.weights`). A game of your own (`config.game` a
dotted module path) gives both itself: `default_config(model)` and `WEIGHTS` (see `jaxgen.games`)."""

from __future__ import annotations

import importlib

import ml_collections

from jaxgen.defaults import models
from jaxgen.errors import ConfigError

# game -> {extra term: default weight}; `adversarial` scales G's objective (0: G on its extra terms alone).
WEIGHTS = {
    "unconditional": {"aux": 1.0,  # AC-GAN: the class cross-entropy of D's class head
                      "path_length": 0.0},  # StyleGAN2's path-length regulariser of G (lazy G-reg); 2.0 in the paper
    "paired": {"adversarial": 1.0, "l1": 100.0},  # pix2pix: cGAN + 100 L1
    "cycle": {"adversarial": 1.0, "cycle": 10.0, "identity": 0.0},  # CycleGAN: lambda_cycle 10, identity 0.5 lambda
    "superres": {"mse": 1.0, "perceptual": 1.0, "adversarial": 1e-3},  # SRGAN: 1e-3 adversarial
    "points": {},  # no extra terms
}
WEIGHTS["progressive"] = {**WEIGHTS["unconditional"], "drift": 0.001}  # ProGAN's eps_drift (its section A.1)
WEIGHTS["multiscale"] = {"drift": 0.001}
WEIGHTS["singan"] = {"rec": 10.0}  # SinGAN: alpha of the reconstruction loss
WEIGHTS["laplacian"] = {}  # LapGAN: each level's conditional GAN alone  # MSG-GAN with WGAN-GP: ProGAN's drift (no AC-GAN head, no path length)
WEIGHTS["ingan"] = {"reconstruction": 0.1}  # InGAN: L1 of G(G(x, T), shape of x) to x (the cycle)
# VQ-VAE / VQ-GAN: reconstruction, the commitment (beta) and codebook losses (the codebook term is 0 under the EMA
# update), the decoder likelihood's scale fitted on the side, the prior's NLL (stage 1); VQ-GAN's perceptual term
# and G's objective `gan` (Esser et al.'s disc_weight; times the adaptive weight); perplexity, usage and the
# adaptive weight are reported with weight 0.
WEIGHTS["vq"] = {"rec": 1.0, "commitment": 0.25, "codebook": 1.0, "scale": 1.0, "prior": 1.0, "perceptual": 0.0,
                 "gan": 1.0, "perplexity": 0.0, "usage": 0.0, "adaptive_weight": 0.0}
SUPERRES_EVAL_CROP = 256  # config.eval.crop's default: centre crops of the held-out photos


def _superres(model: str) -> ml_collections.ConfigDict:
    cfg = models.config(model)
    cfg.srgan_from = -1  # the step at which SRGAN starts: -1 never (SRResNet on MSE alone), 0 from the start
    cfg.vgg_weights = "hed"  # "hed", "torchvision" or a weights file (see jaxgen.nn.vgg.load_vgg)
    cfg.vgg_depth = 16  # 19 for the paper's VGG-19 (torchvision weights)
    cfg.vgg_layer = "relu5_3"  # the paper's VGG54 is relu5_4 of VGG-19; relu2_2 is its VGG22
    cfg.vgg_scale = 1 / 12.75  # the features' rescaling (the paper's)
    return cfg


def _vq(model: str) -> ml_collections.ConfigDict:
    if model != "vqvae":
        raise ConfigError(f"the vq game plays with model.name='vqvae', got {model!r}")
    cfg = models.vqvae()
    cfg.prior_from = 1000  # the step at which the autoencoder freezes and the prior trains on its codes
    cfg.disc_start = -1  # VQ-GAN: the step at which the PatchGAN critic switches on (-1: never, VQ-VAE)
    cfg.d_width = 64  # the PatchGAN's first channels
    cfg.d_layers = 0  # its stride-2 layers (0: sized to the image, jaxgen.nn.patchgan.layers_for)
    cfg.vgg_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")  # the perceptual term's (LPIPS's)
    return cfg


def _points(model: str) -> ml_collections.ConfigDict:
    if model != "toy_mlp":
        raise ConfigError(f"the points game plays with model.name='toy_mlp', got {model!r}")
    cfg = models.toy_mlp()
    cfg.pack = 1  # m of PacGAN-m: D sees m samples at once
    return cfg


def _progressive(model: str) -> ml_collections.ConfigDict:
    cfg = models.config(model)
    cfg.stage_images = 1_200_000  # images shown per resolution: the first half fades in (the paper: 600k + 600k)
    cfg.fresh_optimizers = True  # zero both optimizer states when a stage starts (the official code)
    return cfg


def _laplacian(model: str) -> ml_collections.ConfigDict:
    cfg = models.config(model)
    cfg.level_steps = 5000  # steps each pyramid level trains, coarsest first (the last level until num_steps)
    return cfg


_MODEL_CONFIGS = {"unconditional": models.config, "paired": models.config, "cycle": models.config,
                  "superres": _superres, "points": _points, "progressive": _progressive,
                  "multiscale": models.config, "laplacian": _laplacian, "singan": models.config,
                  "ingan": models.config, "vq": _vq}


def _custom(game: str):
    """A game of your own: the module at dotted path `game`."""
    try:
        return importlib.import_module(game)
    except ImportError as e:
        raise ConfigError(f"config key 'game' is {game!r}, which cannot be imported ({e})") from e


def model_config(game: str, model: str) -> ml_collections.ConfigDict:
    """`config.model` of family `model` in `game`."""
    if "." in game:
        return _custom(game).default_config(model)
    if game not in _MODEL_CONFIGS:
        raise ConfigError(f"config key 'game' must be one of {sorted(_MODEL_CONFIGS)} (or a dotted module path), "
                          f"got {game!r}")
    return _MODEL_CONFIGS[game](model)


def weights(game: str) -> dict:
    """The default `config.loss.weights` of `game`."""
    return dict(_custom(game).WEIGHTS if "." in game else WEIGHTS[game])
