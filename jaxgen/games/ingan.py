"""InGAN (Shocher et al. 2019): one image retargeted to other sizes and aspect ratios by a generator that takes the
target shape, against a multi-scale patch discriminator that knows only the image's patches.

The game holds its image (`synthetic`: no data loader): ``data.name="single_image"``, ``data.image`` a bundled name
or a file (:mod:`jaxgen.data.single_image`), shrunk so its longer side is at most ``data.max_size`` and cut to
sides that are multiples of 4 (G's down-sampling). Networks: :mod:`jaxgen.models.ingan` (``model.name="ingan"``).

Output shapes are static under jit, so training uses a fixed set of target shapes, ``model.train_scales`` ((height,
width) scale factors of the image, sides rounded to 4 px): **every step** G retargets the image ``x [1, H, W, 3]`` to
every one of them, D sees ``x`` (the real) against all of them (the fakes), at each of its scales; the objective
(``loss.objective``, LSGAN in the paper) is applied per scale to the per-patch logits (``{scale_s: (real logits,
fake logits)}``, summed over scales; each scale's fakes concatenated over the target shapes). The extra G term
``reconstruction`` (weight ``loss.weights.reconstruction``) is the paper's cycle: the L1 between ``x`` and
``G(G(x, T), (H, W))``, averaged over the target shapes T. The paper draws a random geometric transform each step
(scales and also non-rigid shifts); here only the fixed axis-aligned scales, no noise.

Samples (grids, `jaxgen sample`): sample ``i`` is ``x`` retargeted to ``model.sample_scales[i % len]``, drawn top-left
on a white canvas of the largest shape (so grids show the sizes). Any other shape: :func:`retarget`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data import pipeline, single_image
from jaxgen.defaults import games as game_defaults
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game
from jaxgen.models import ingan as ingan_model


def load_image(spec: str, max_size: int, key: str = "data.image") -> np.ndarray:
    """float32 [H, W, 3] in [-1, 1]: `spec` with the longer side at most `max_size`, sides cut down to multiples
    of 4 (resized, so the aspect changes by less than 4 px)."""
    image = single_image.read(spec, key)
    h, w = single_image.fit(image.shape[:2], int(max_size))
    size = tuple(max(ingan_model.MULTIPLE, s - s % ingan_model.MULTIPLE) for s in (h, w))
    if min(size) < ingan_model.MIN_SIZE:
        raise ConfigError(f"data.max_size={max_size} makes the image {size[0]}x{size[1]}, below InGAN's "
                          f"{ingan_model.MIN_SIZE} px: raise data.max_size")
    return single_image.resize(image, size).astype(np.float32) / 127.5 - 1.0


def retarget(g_apply, image, shape) -> jax.Array:
    """``image [H, W, 3]`` retargeted to ``shape`` (h, w) by ``g_apply(images, shape)`` (e.g. ``functools.partial(
    jaxgen.load(workdir).apply, "g")``); sides rounded to multiples of 4: ``[h', w', 3]``."""
    image = jnp.asarray(image)
    h, w = ingan_model.target_shape(image.shape, (shape[0] / image.shape[0], shape[1] / image.shape[1]), "shape")
    return g_apply(image[None], (h, w))[0]


class InGAN(Game):
    synthetic = True
    weights = game_defaults.WEIGHTS["ingan"]

    def __init__(self, config, info: dict, mesh):
        del info, mesh
        if config.data.name != pipeline.SINGLE_IMAGE:
            raise ConfigError(f"the ingan game learns one image: set data.name={pipeline.SINGLE_IMAGE!r} and "
                              f"data.image (got data.name={config.data.name!r})")
        if config.loss.penalty != "none":
            raise ConfigError(f"the ingan game has no input-gradient penalty: set loss.penalty='none' "
                              f"(got {config.loss.penalty!r})")
        self.image = load_image(config.data.image, config.data.max_size)
        self.shape = self.image.shape[:2]
        cfg = config.model
        self.train_shapes = [ingan_model.target_shape(self.image.shape, s, "model.train_scales")
                             for s in cfg.train_scales]
        self.sample_shapes = [ingan_model.target_shape(self.image.shape, s, "model.sample_scales")
                              for s in cfg.sample_scales]
        if not self.train_shapes or not self.sample_shapes:
            raise ConfigError("model.train_scales and model.sample_scales need at least one (height, width) pair")
        self.modules = {"g": ingan_model.generator(cfg), "d": ingan_model.discriminator(cfg)}
        self.d_players, self.g_players = ("d",), ("g",)

    def _x(self):
        return jnp.asarray(self.image)[None]

    def init(self, rng):
        kg, kd = jax.random.split(rng)
        g = self.modules["g"].init(kg, self._x(), self.shape, train=False)["params"]
        d = self.modules["d"].init(kd, self._x(), train=False)["params"]
        return {"g": g, "d": d}, {"g": {}, "d": {}}

    def _fakes(self, players, x, key):
        return [players("g", x, shape, rng=key) for shape in self.train_shapes]

    def _outs(self, players, fakes, key):
        """{scale_s: D's logits on every fake at scale s, flattened and concatenated}."""
        maps = [players("d", f, rng=key) for f in fakes]
        return {f"scale{s}": jnp.concatenate([m[s].reshape(-1) for m in maps]) for s in range(len(maps[0]))}

    def d_inputs(self, players, batch, key):
        x = self._x()
        return {"real": x, "fake": [jax.lax.stop_gradient(f) for f in self._fakes(players, x, key)]}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        real = players("d", inputs["real"], rng=kr)
        fake = self._outs(players, inputs["fake"], kf)
        return {name: (real[s].reshape(-1), fake[name]) for s, name in enumerate(fake)}, {}

    def critics(self, players, inputs, key):
        return {}

    def g_inputs(self, players, batch, keys):
        return {"real": self._x()}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        x = inputs["real"]
        fakes = self._fakes(players, x, kg)
        rec = jnp.mean(jnp.stack([jnp.mean(jnp.abs(players("g", f, self.shape, rng=kg) - x)) for f in fakes]))
        return self._outs(players, fakes, kd), {"reconstruction": rec}

    def sample(self, players, key, n, labels=None, source=None):
        del labels, source
        x = self._x()
        outs = {s: players("g", x, s, rng=key, train=False)[0] for s in dict.fromkeys(self.sample_shapes)}
        height, width = (max(s[i] for s in self.sample_shapes) for i in (0, 1))
        images = []
        for i in range(n):
            shape = self.sample_shapes[i % len(self.sample_shapes)]
            canvas = jnp.ones((height, width, x.shape[-1]), jnp.float32)
            images.append(canvas.at[:shape[0], :shape[1]].set(outs[shape]))
        return jnp.stack(images)


def build(config, info: dict, mesh) -> InGAN:
    return InGAN(config, info, mesh)
