"""Configs of the image-optimisation trainer (`jaxgen.trainers.texture`): texture synthesis (Gatys et al. 2015) and
style transfer (Gatys et al. 2016). JAX-free.

Keys beyond the shared ones (`batch_size` = how many images are optimised together, each from its own noise):
  data:  style (a bundled image name or a file: the texture / the style), content (None for a texture; a name or
         file for style transfer), image_size (the longer side in px; the content's aspect is kept, a texture is
         square), crop (None, or (top, left, height, width) in the original image's pixels, cut before resizing),
         init ("noise" or "content").
  model: the feature network: name "vgg" (depth 16 or 19, weights "hed" | "torchvision" | a file: see
         `jaxgen.nn.vgg.load_vgg`) or "multiscale" (`jaxgen.nn.multiscale`: sizes, maps; its random weights come
         from the run's init key).
  loss:  style_layers {layer: weight} (Gram terms; weight 0 leaves a layer out), content_layers {layer: weight},
         style_weight, content_weight, tv_weight, normalize (each Gram term divided by its target's mean squared
         entry: what a random network needs).
  optimizer: name "lbfgs" (optax.lbfgs with its zoom line search; memory_size; the other keys unused) or any
         optimizer of `jaxgen.engine.optimizers` ("adam": learning_rate, b1, b2, clip_norm, schedule).
"""

from __future__ import annotations

import ml_collections

from jaxgen import config as config_lib
from jaxgen.defaults import optimizers

# Gatys et al. 2015 (texture): conv1_1, pool1, pool2, pool3, pool4, equal weights; here the ReLU outputs of the
# first convolution of blocks 1-4 and pool4 (the lectures' "High -> Low" figure adds them in this order).
TEXTURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "pool4")
# Gatys et al. 2016 (style transfer): style on conv1_1 ... conv5_1 (weights 1/5), content on conv4_2.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
MULTISCALE_SIZES = (3, 5, 7, 11, 15, 23, 37, 55)
NETWORKS = ("vgg", "multiscale")


def _model(network: str) -> ml_collections.ConfigDict:
    if network not in NETWORKS:
        raise ValueError(f"unknown feature network {network!r}; known: {', '.join(NETWORKS)}")
    if network == "vgg":
        return ml_collections.ConfigDict(dict(name="vgg", depth=16, weights="hed"))
    return ml_collections.ConfigDict(dict(name="multiscale", sizes=MULTISCALE_SIZES, maps=128))


def layers_for(network: str, sizes=MULTISCALE_SIZES) -> tuple[str, ...]:
    """The default style layers of a feature network."""
    return TEXTURE_LAYERS if network == "vgg" else tuple(f"k{s}" for s in sizes)


def texture_config(style: str, arg=None, network: str = "vgg", crop=None, image_size: int = 64,
                   num_steps: int = 300) -> ml_collections.ConfigDict:
    """Texture synthesis of `style` (an image name or file) from noise: Gram loss on `network`'s default layers
    (equal weights; normalised per layer for the random network), L-BFGS for `num_steps` iterations.

    Variants: see :func:`variant`."""
    config = config_lib.experiment_config("texture", num_steps=num_steps, batch_size=1, log_every=10,
                                          sample_every=max(1, num_steps // 3), checkpoint_every=100)
    config.num_samples = 1
    config.data = ml_collections.ConfigDict(dict(style=style, content=ml_collections.FieldReference(None, str),
                                                 image_size=image_size, crop=crop, init="noise"))
    config.model = _model(network)
    config.loss = ml_collections.ConfigDict(dict(
        style_layers={name: 1.0 for name in layers_for(network)}, content_layers={}, style_weight=1.0,
        content_weight=0.0, tv_weight=0.0, normalize=network == "multiscale"))
    config.optimizer = optimizers.adam(learning_rate=0.05, b1=0.9, b2=0.999)
    config.optimizer.name = "lbfgs"
    config.optimizer.memory_size = 10
    return variant(config, arg)


def style_config(content: str, style: str, arg=None, image_size: int = 128,
                 num_steps: int = 300) -> ml_collections.ConfigDict:
    """Gatys et al. 2016's style transfer of `style` onto `content` in hed's VGG-16 (style relu1_1 ... relu5_1
    at 1/5 each, content relu4_2), L-BFGS from the content image."""
    config = texture_config(style, None, "vgg", image_size=image_size, num_steps=num_steps)
    config.data.content = content
    config.data.init = "content"
    config.loss.style_layers = {name: 0.2 for name in STYLE_LAYERS}
    config.loss.content_layers = {CONTENT_LAYER: 1.0}
    config.loss.content_weight = 1e-3  # Gatys et al.'s alpha / beta = 1e-3 (their fig. 3 spans 1e-1 ... 1e-4)
    return variant(config, arg)


def variant(config: ml_collections.ConfigDict, arg) -> ml_collections.ConfigDict:
    """`arg` None: as is; "tiny": 16 px, 4 steps of two images, the random network with sizes 3 and 5 and 8 maps
    (no weight file: tests); "adam": Adam (lr 0.05) instead of L-BFGS; "multiscale": the random multi-scale network
    (every size, per-layer normalised Gram terms) instead of VGG."""
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size, config.num_samples = 2, 2
        config.data.image_size = 16
        config.data.crop = None
        config.model = ml_collections.ConfigDict(dict(name="multiscale", sizes=(3, 5), maps=8))
        content = config.loss.content_layers
        config.loss.style_layers = {"k3": 1.0, "k5": 1.0}
        config.loss.content_layers = {"k5": 1.0} if content else {}
        config.loss.normalize = True
    elif arg == "adam":
        config.optimizer.name = "adam"
    elif arg == "multiscale":
        config.model = _model("multiscale")
        config.loss.style_layers = {name: 1.0 for name in layers_for("multiscale")}
        config.loss.normalize = True
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny, adam, multiscale")
    return config
