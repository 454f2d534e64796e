"""SinGAN (Rott Shaham et al. 2019): a pyramid of patch GANs learnt from one image, trained coarse to fine.

Players ``g0 .. gN`` (group "g") and ``d0 .. dN`` (group "d") of :mod:`jaxgen.models.singan`, coarsest first; the
scales' sizes are :func:`jaxgen.defaults.singan.sizes` of the image ``data.image`` (shrunk to ``data.max_size``),
which the game holds itself with its pyramid of reals (each scale the image resized by an antialiased bicubic
filter; `synthetic = True`: the loader gives empty batches). Every scale's parameters exist from init.

Generation: ``x_0 = G_0(z_0, 0)``, ``x_n = G_n(z_n, up(x_{n-1}))`` with ``G_n(z, prev) = prev + g(sigma_n z + prev)``
(the model adds the residual; ``up`` a bicubic resize to the next scale's size); ``sigma_0 = 1``, ``z_0`` one
channel broadcast to three, the others three channels, all N(0, 1).

Stages: one per scale, ``model.scale_steps`` steps each (the last until `num_steps`). In stage n only ``g_n`` and
``d_n`` learn: the scales below run in inference mode (BatchNorm's running statistics, as the official code's
``eval()``) under ``stop_gradient``, the others are not called; ``begin_stage`` zeroes both optimizer groups'
states (a zero gradient from a zero Adam state moves nothing: the scales below stay bit for bit), initialises
``g_n`` and ``d_n`` from ``g_{n-1}`` and ``d_{n-1}`` (parameters and BatchNorm statistics) when their widths match
(the paper's), and measures ``sigma_n = model.noise_amp x RMSE(real_n, up(rec_{n-1}))``, kept in ``g_n``'s
``singan`` collection (`model_state`, so checkpointed).

Terms (``loss.objective="wgan"``, ``loss.penalty="wgan_gp_pixel"``, lambda 0.1 as the official code): D_n's score
is the mean of its patch map; the penalty's critic is the map's sum (the official gradient of the map against ones),
its norm taken over the channels at each position and averaged (the official ``gradients.norm(2, dim=1)``).
G's extra term ``rec`` (weight alpha, 10): ``mean((G_n(z*_n, up(rec_{n-1})) - real_n)^2)`` with ``z*_0`` the fixed
noise drawn at init (``g0``'s ``singan`` collection) and ``z*_n = 0`` above: ``rec_n`` is the reconstruction.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data import single_image
from jaxgen.defaults import games as game_defaults
from jaxgen.defaults import singan as pyramid
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game
from jaxgen.models import singan as nets


def up(x, size):
    """x [N, h, w, C] resized to `size` = (H, W) by a bicubic filter (antialiased when shrinking)."""
    return jax.image.resize(x, (x.shape[0], *size, x.shape[-1]), "bicubic")


def scaled_sizes(sizes, shape):
    """The pyramid `sizes` of a generation at another finest size `shape` = (H, W): every scale stretched by
    H / h_N and W / w_N (rounded up), the last exactly `shape` (SinGAN's samples of other sizes and aspects)."""
    (h, w), (height, width) = sizes[-1], shape
    return [(max(1, int(np.ceil(a * height / h - 1e-9))), max(1, int(np.ceil(b * width / w - 1e-9))))
            for a, b in sizes[:-1]] + [(int(height), int(width))]


class SinGAN(Game):
    weights = game_defaults.WEIGHTS["singan"]
    options = ("dtype",)
    synthetic = True
    batch_keys = ()

    def __init__(self, config, info: dict, mesh):
        del mesh
        cfg = self.model_cfg = config.model
        if int(cfg.scale_steps) < 1:
            raise ConfigError(f"config key 'model.scale_steps' (steps per scale) must be >= 1, got {cfg.scale_steps}")
        if cfg.width < 1:
            raise ConfigError(f"config key 'model.width' must be >= 1, got {cfg.width}")
        image = single_image.load(config.data.image, max_size=config.data.max_size)
        self.sizes = pyramid.sizes(image.shape[:2], cfg.min_size, cfg.scale_factor)
        if cfg.layers < 2:
            raise ConfigError(f"config key 'model.layers' (convolutions per network) must be >= 2, got {cfg.layers}")
        if min(self.sizes[0]) <= 2 * cfg.layers:
            raise ConfigError(f"config key 'model.min_size' is {cfg.min_size}: D's patches are {2 * cfg.layers + 1} "
                              f"px, so the coarsest scale needs more than {2 * cfg.layers} px")
        self.scales = len(self.sizes)
        self.image_shape = tuple(info["image_shape"])
        self.reals = [np.asarray(up(jnp.asarray(image)[None], size)) if size != image.shape[:2] else image[None]
                      for size in self.sizes]  # [1, h_n, w_n, 3] each; antialiased (jax.image.resize shrinking)
        self.stage_starts = tuple(n * int(cfg.scale_steps) for n in range(self.scales))
        if config.num_steps < self.scales * int(cfg.scale_steps):
            raise ConfigError(f"config key 'num_steps' is {config.num_steps}, but the pyramid of data.image="
                              f"{config.data.image!r} has {self.scales} scales x model.scale_steps={cfg.scale_steps}: "
                              f"set --config.num_steps={self.scales * int(cfg.scale_steps)} (or more: the finest "
                              f"scale trains until num_steps)")
        self.g_players = tuple(f"g{n}" for n in range(self.scales))
        self.d_players = tuple(f"d{n}" for n in range(self.scales))
        gs, ds = (accelerator.network(build, config, cfg, self.sizes)
                  for build in (nets.generators, nets.discriminators))
        self.modules = {**dict(zip(self.g_players, gs)), **dict(zip(self.d_players, ds))}
        self.widths = [pyramid.width(n, cfg) for n in range(self.scales)]
        self.batch = config.batch_size
        self.noise_amp = float(cfg.noise_amp)

    def init(self, rng):
        params, model_state = {}, {}
        keys = jax.random.split(rng, 2 * self.scales)
        for n, (h, w) in enumerate(self.sizes):
            x = jnp.zeros((1, h, w, 3))
            for name, args, key in ((self.g_players[n], (x, x), keys[2 * n]), (self.d_players[n], (x,), keys[2 * n + 1])):
                variables = dict(self.modules[name].init({"params": key}, *args, train=False))
                params[name], model_state[name] = variables.pop("params"), variables
        return params, model_state

    # -- generation ---------------------------------------------------------------------------------------------
    def noise(self, key, n, size, scale):
        """z_scale [n, h, w, 1 (scale 0) or 3] ~ N(0, 1)."""
        return jax.random.normal(key, (n, *size, 1 if scale == 0 else 3))

    def generate(self, players, key, n, sizes=None, start=0, prev=None, stop=None, train_last=False):
        """x_stop [n, h, w, 3]: scales `start` .. `stop` (default the last) with fresh noise from
        ``jax.random.split(key, scales)[scale]``, from ``prev`` (the image below `start`, resized to its size; zeros
        at start 0); `sizes` the scales' sizes (default the training pyramid's). Scales above `players.stage` only
        up-sample. Every scale below `stop` runs in inference mode; `train_last`: `stop` in training mode."""
        sizes = self.sizes if sizes is None else sizes
        stop = self.scales - 1 if stop is None else stop
        keys = jax.random.split(key, self.scales)
        x = jnp.zeros((n, *sizes[0], 3)) if prev is None else jnp.broadcast_to(prev, (n, *prev.shape[1:]))
        for scale in range(start, stop + 1):
            x = up(x, sizes[scale]) if scale > 0 or prev is not None else x
            if scale > players.stage:
                continue
            train = train_last and scale == stop
            x = players(self.g_players[scale], self.noise(keys[scale], n, sizes[scale], scale), x, rng=keys[scale],
                        train=train)
            if not train:
                x = jax.lax.stop_gradient(x)
        return x

    def reconstruct(self, players, stop: int, train_last=False):
        """rec_stop [1, h, w, 3]: the scales up to `stop` on the fixed noise (z*_0, zeros above)."""
        x = jnp.zeros((1, *self.sizes[0], 3))
        for scale in range(stop + 1):
            name = self.g_players[scale]
            z = (players.model_state["g0"]["singan"]["z_rec"] if scale == 0 else jnp.zeros((1, *self.sizes[scale], 3)))
            prev = x if scale == 0 else up(x, self.sizes[scale])
            train = train_last and scale == stop
            x = players(name, z, prev, rng=jax.random.key(0), train=train)
            if not train:
                x = jax.lax.stop_gradient(x)
        return x

    def sample(self, players, key, n, labels=None, source=None):
        del labels, source
        return self.generate(players, key, n)

    # -- the terms of stage n -----------------------------------------------------------------------------------
    def _real(self, n):
        return jnp.broadcast_to(jnp.asarray(self.reals[n]), (self.batch, *self.reals[n].shape[1:]))

    def d_inputs(self, players, batch, key):
        n = players.stage
        fake = self.generate(players, key, self.batch, stop=n, train_last=True)
        return {"real": self._real(n), "fake": fake}

    def _critic(self, players, x, key, update=True):
        return players(self.d_players[players.stage], x, rng=key, update=update)  # [N, h', w']

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        return {"d": (self._critic(players, inputs["real"], kr).mean((1, 2)),
                      self._critic(players, inputs["fake"], kf).mean((1, 2)))}, {}

    def critics(self, players, inputs, key):
        return {"d": (lambda x: self._critic(players, x, key, update=False).sum((1, 2)), inputs["real"],
                      inputs["fake"])}

    def g_inputs(self, players, batch, keys):
        return {"key": keys[0]}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        n = players.stage
        fake = self.generate(players, jax.random.fold_in(inputs["key"], 0), self.batch, stop=n, train_last=True)
        rec = self.reconstruct(players, n, train_last=True)
        del kg
        return {"d": self._critic(players, fake, kd).mean((1, 2))}, {
            "rec": jnp.mean((rec - jnp.asarray(self.reals[n])) ** 2)}

    def begin_stage(self, state, stage: int):
        """Zeroes the optimizer states, copies scale stage - 1's networks into `stage` when their widths match, and
        sets sigma_stage from the reconstruction below."""
        from jaxgen.games.base import Players

        params, model_state = dict(state["params"]), {k: dict(v) for k, v in state["model_state"].items()}
        g, d, g_prev, d_prev = (self.g_players[stage], self.d_players[stage], self.g_players[stage - 1],
                                self.d_players[stage - 1])
        if self.widths[stage] == self.widths[stage - 1]:
            params[g], params[d] = params[g_prev], params[d_prev]
            model_state[g]["batch_stats"] = model_state[g_prev]["batch_stats"]
            model_state[d] = model_state[d_prev]
        players = Players(self.modules, params, model_state, stage - 1, state["step"])
        low = up(self.reconstruct(players, stage - 1), self.sizes[stage])
        rmse = jnp.sqrt(jnp.mean((jnp.asarray(self.reals[stage]) - low) ** 2))
        model_state[g]["singan"] = {**model_state[g]["singan"], "amp": self.noise_amp * rmse}
        return {**state, "params": params, "model_state": model_state,
                "opt": jax.tree.map(jnp.zeros_like, state["opt"])}


def build(config, info: dict, mesh) -> SinGAN:
    return SinGAN(config, info, mesh)
