"""A `jaxgen.edit.generator.Generator` on a tiny StyleGAN with random weights, built without data or training
(8 x 8 RGB, z and w of 8, a 2-layer mapping at lr x 1, noise inputs, at its last stage with the fade-in done), the
same run as a workdir, and a pixel distance with the projector's and PPL's distance interface: what the projection
and PPL tests run on.

Every float of the state is N(0, 1) but the toRGB layers (x 0.1: images mostly within [-1, 1]) and the noise
strengths (x `noise`: 0 makes the noise inputs do nothing). All variants share one network, so they compile the same
programs, which the test session's compilation cache keeps; generators are cached, so test modules share them."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxgen import api
from jaxgen import config as config_lib
from jaxgen.edit.generator import Generator
from jaxgen.engine import checkpoint, sharding
from jaxgen.trainers import gan

SHAPE = (8, 8, 3)
INFO = {"image_key": "image", "image_shape": list(SHAPE), "images": {"image": list(SHAPE)}, "label_key": "label",
        "num_classes": None, "splits": {"train": 100, "test": 10}}
STEP = 10**6  # past every stage start and fade-in


def model(noise: float, seed: int = 0) -> api.Model:
    """The run's `Model` (module docstring) at stage 1, alpha 1."""
    config = config_lib.load("configs/stylegan_emoji.py:tiny", ["model.z_dim=8", "model.mapping_layers=2",
                                                                "model.mapping_lr_mul=1.0", "ema_decay=0"])
    task = gan.create_task(config, INFO, sharding.make_mesh(jax.devices()[:1]))
    rng = np.random.default_rng(seed)

    def draw(path, s):
        if not jnp.issubdtype(s.dtype, jnp.floating):
            return jnp.zeros(s.shape, s.dtype)
        name = jax.tree_util.keystr(path)
        scale = 0.1 if "to_rgb" in name else noise if "strength" in name else 1.0
        return jnp.asarray(scale * rng.normal(size=s.shape), s.dtype)

    state = jax.tree_util.tree_map_with_path(draw, jax.eval_shape(task.init, jax.random.key(0)))
    return api.Model(config, task, {**state, "stage": jnp.int32(1), "step": jnp.int32(STEP)}, STEP)


@functools.cache
def generator(noise: float, seed: int = 0) -> Generator:
    return Generator(model(noise, seed))


def workdir(path: str, noise: float, seed: int = 0) -> str:
    """`path` made a workdir holding `model(noise, seed)`'s state as a checkpoint (what `jaxgen.load` reads)."""
    m = model(noise, seed)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        f.write(config_lib.to_json(m.config))
    with open(os.path.join(path, "run.json"), "w") as f:
        json.dump(INFO, f)
    saver = checkpoint.Checkpointer(os.path.join(path, "checkpoints"))
    saver.save(m.step, m.state)
    saver.wait()
    return path


@struct.dataclass
class PixelDistance:
    """``sum over H, W, C of (a - b)^2`` per image, as ``features`` / ``between`` / ``__call__``."""

    name: str = struct.field(pytree_node=False, default="pixels")

    def features(self, images):
        return images

    def between(self, features, targets):
        return jnp.sum(jnp.square(features - targets), axis=(1, 2, 3))

    def __call__(self, a, b):
        return self.between(a, b)
