"""SinGAN's applications on a trained workdir (Rott Shaham et al. 2019, section 4): random samples of any size,
super-resolution, paint-to-image and harmonisation. Pure functions of a :class:`Pyramid` (the game and a
checkpoint's networks); `run` is `jaxgen singan sr|paint|harmonize`, `samples` is also `jaxgen sample --size`.

    pyramid = load("runs/singan")                       # the newest checkpoint
    samples(pyramid, 4, seed=0, size=(64, 160))         # [4, 64, 160, 3] in [-1, 1]: G is fully convolutional
    super_resolve(pyramid, image, factor=4)             # [1, 4 h, 4 w, 3]: up-sample by 1/r, then the finest G, k times
    inject(pyramid, image, scale=2, num=4)              # [4, H, W, 3]: image in at scale 2, scales 2..N on top
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.games import singan as game_lib
from jaxgen.games.base import Players

COMMANDS = ("sr", "paint", "harmonize")


@dataclasses.dataclass(frozen=True)
class Pyramid:
    """A trained SinGAN: the game (sizes, reals, modules), the networks' params and model state, the trained stage."""

    game: game_lib.SinGAN
    params: dict
    model_state: dict
    stage: int
    step: int

    def players(self) -> Players:
        return Players(self.game.modules, self.params, self.model_state, self.stage, jnp.int32(self.step))


def load(workdir: str, step: int | None = None) -> Pyramid:
    """The SinGAN of `workdir` at checkpoint `step` (default: the newest); a workdir of another game is an error."""
    from jaxgen.engine import workdir as workdir_lib

    config, _, state, step = workdir_lib.restore(workdir, step)
    return from_state(config, state, step, workdir)


def from_state(config, state, step: int, workdir: str = "the workdir") -> Pyramid:
    """The SinGAN of a restored `config` and `state` (a ConfigError for a workdir of another game)."""
    from jaxgen.data import pipeline

    if config.get("game") != "singan":
        raise ConfigError(f"{workdir} holds a {config.get('game', 'unconditional')!r} model; this needs a SinGAN "
                          f"(jaxgen train --config singan_photo ...)")
    game = game_lib.build(config, pipeline.output_info(config.data), None)
    state = jax.device_get(state)
    return Pyramid(game, state["params"], state["model_state"], int(state.get("stage", 0)), int(step))


@functools.partial(jax.jit, static_argnums=(0, 3, 4, 5))
def _generate(pyramid, params_state, key, n, sizes, start, prev):
    params, model_state = params_state
    players = Players(pyramid.game.modules, params, model_state, pyramid.stage, jnp.int32(pyramid.step))
    return jnp.clip(pyramid.game.generate(players, key, n, sizes=sizes, start=start, prev=prev), -1.0, 1.0)


def _run(pyramid, key, n, sizes, start=0, prev=None):
    return np.asarray(_generate(_Static(pyramid), (pyramid.params, pyramid.model_state), key, n, tuple(sizes), start,
                                prev))


class _Static:
    """A Pyramid as a static jit argument (hashed by identity of its game and stage)."""

    def __init__(self, pyramid):
        self.game, self.stage, self.step = pyramid.game, pyramid.stage, pyramid.step

    def __hash__(self):
        return hash((id(self.game), self.stage, self.step))

    def __eq__(self, other):
        return (self.game, self.stage, self.step) == (other.game, other.stage, other.step)


def samples(pyramid: Pyramid, num: int, seed: int = 0, size: tuple[int, int] | None = None) -> np.ndarray:
    """[num, H, W, 3] random samples at the training size, or at `size` = (H, W) (every scale stretched:
    :func:`jaxgen.games.singan.scaled_sizes`)."""
    sizes = pyramid.game.sizes if size is None else game_lib.scaled_sizes(pyramid.game.sizes, check_size(size))
    return _run(pyramid, jax.random.key(seed), num, sizes)


def check_size(size) -> tuple[int, int]:
    """(H, W) of at least 1 px each, else a one-line error naming --size."""
    if len(size) != 2 or min(size) < 1:
        raise JaxgenError(f"--size must be HEIGHT,WIDTH of at least 1 px each, got {size}")
    return int(size[0]), int(size[1])


def super_resolve(pyramid: Pyramid, image: np.ndarray, factor: float = 4.0, seed: int = 0) -> np.ndarray:
    """[1, round(h factor), round(w factor), 3]: `image` [h, w, 3] up-sampled k = ceil(log factor / log(1 / r))
    times by factor^(1/k) (about 1/r, r the pyramid's scale factor), each time through the finest G with its noise
    amplitude (the official code's SR)."""
    if factor <= 1:
        raise JaxgenError(f"--factor must be > 1, got {factor}")
    game = pyramid.game
    r = (min(game.sizes[0]) / min(game.sizes[-1])) ** (1 / max(1, game.scales - 1))
    steps = max(1, math.ceil(math.log(factor) / -math.log(r) - 1e-9))
    h, w = image.shape[:2]
    sizes = [(round(h * factor ** (k / steps)), round(w * factor ** (k / steps))) for k in range(1, steps + 1)]
    finest = game.scales - 1
    x = jnp.asarray(image)[None]
    for k, size in enumerate(sizes):
        x = _run(pyramid, jax.random.fold_in(jax.random.key(seed), k), 1, [size] * game.scales, start=finest,
                 prev=x)
    return x


def inject(pyramid: Pyramid, image: np.ndarray, scale: int, num: int = 1, seed: int = 0,
           mask: np.ndarray | None = None) -> np.ndarray:
    """[num, H, W, 3]: paint-to-image / harmonisation. `image` [H, W, 3] (the training size) is resized to scale
    `scale` - 1 and fed to scales `scale` .. N with fresh noise (the official code's injection at `gen_start_scale`);
    `mask` [H, W, 1] in [0, 1]: the result is kept where it is 1, the image elsewhere (harmonisation)."""
    game = pyramid.game
    if not 1 <= scale < game.scales:
        raise JaxgenError(f"--scale must be 1 .. {game.scales - 1} (the scale the image enters; 0 is pure noise), "
                          f"got {scale}")
    prev = game_lib.up(jnp.asarray(image)[None], game.sizes[scale - 1])
    out = _run(pyramid, jax.random.key(seed), num, game.sizes, start=scale, prev=prev)
    return out if mask is None else mask * out + (1 - mask) * image[None]


def run(args) -> str:
    """`jaxgen singan sr|paint|harmonize`: writes the grid to `args.out`, returns what it wrote."""
    from jaxgen.data import single_image
    from jaxgen.engine import writers

    pyramid = load(args.workdir, args.step)
    size = pyramid.game.sizes[-1]
    if args.singan_command == "sr":
        image = (pyramid.game.reals[-1][0] if args.image is None else
                 single_image.load(args.image, max_size=max(size), key="--image"))
        out = super_resolve(pyramid, image, args.factor, args.seed)
        bicubic = np.clip(np.asarray(game_lib.up(jnp.asarray(image)[None], out.shape[1:3])), -1, 1)
        writers.save_grid(args.out, np.concatenate([bicubic, out]), 2)
        return f"wrote bicubic and SinGAN x{args.factor:g} ({out.shape[1]} x {out.shape[2]} px) to {args.out}"
    image = single_image.load(args.image, size=size, key="--image")
    mask = None
    if args.mask is not None:
        mask = (single_image.load(args.mask, size=size, key="--mask").mean(-1, keepdims=True) + 1) / 2
    scale = args.scale if args.scale is not None else 1
    out = inject(pyramid, image, scale, args.num, args.seed, mask)
    writers.save_grid(args.out, np.concatenate([image[None], out]), 1 + args.num)
    return f"wrote the input and {args.num} {args.singan_command} result(s) from scale {scale} to {args.out}"
