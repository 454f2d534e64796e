"""Low-dimensional points: G maps noise to samples of a toy mixture, D tells them from the mixture's samples.

The game of PacGAN's mode-coverage benchmark (Lin et al. 2018; `jaxgen toy`): the mixture of
`config.data.name` (:mod:`jaxgen.data.toy`: ring8, grid25, mixture1d) is sampled inside the step from the
step's key (`synthetic`: no data loader), the players are the MLPs of :mod:`jaxgen.models.toy_mlp`, and D
sees packs of `model.pack` samples concatenated (PacGAN-m; 1 = the plain GAN). BEGAN plays with
`model.d_kind="autoencoder"`.

Both protocols: alternating (the trainer's D-main / G-main) and simultaneous (`update_mode="simultaneous"`,
PacGAN's and ALI's: one forward pass, both players' gradients at the same point), the benchmark's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen.config import Choice
from jaxgen.data import toy as toy_data
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError
from jaxgen.games.base import OneCritic
from jaxgen.models import toy_mlp


class Points(OneCritic):
    synthetic = True
    weights = game_defaults.WEIGHTS["points"]
    options = accelerator.NETWORK_OPTIONS

    def __init__(self, config, info: dict, mesh):
        del info, mesh
        self.mixture = toy_data.get(config.data.name)
        self.cfg, self.pack, self.batch = config.model, int(config.model.pack), int(config.batch_size)
        objectives = config.loss.objective.options if isinstance(config.loss.objective, Choice) else \
            (config.loss.objective,)
        if any((o == "began") != (self.cfg.d_kind == "autoencoder") for o in objectives):
            raise ConfigError("loss.objective='began' plays with model.d_kind='autoencoder' and every other "
                              f"objective with 'maxout'; got {objectives} with {self.cfg.d_kind!r}")
        if self.pack < 1:
            raise ConfigError(f"config key 'model.pack' must be >= 1, got {self.pack}")
        self.modules = {"g": accelerator.network(toy_mlp.generator, config, self.cfg, (self.mixture.dim,)),
                        "d": accelerator.network(toy_mlp.discriminator, config, self.cfg)}
        self.d_players, self.g_players = ("d",), ("g",)

    def init(self, rng):
        kg, kd = jax.random.split(rng)
        g_vars = dict(self.modules["g"].init(kg, jnp.zeros((2, int(self.cfg.z_dim))), train=False))
        d_params = self.modules["d"].init(kd, jnp.zeros((2, self.pack * self.mixture.dim)))["params"]
        return {"g": g_vars.pop("params"), "d": d_params}, {"g": g_vars, "d": {}}

    def _real(self, key):
        return toy_mlp.pack(self.mixture.sample(key, self.batch * self.pack), self.pack)

    def _noise(self, key):
        return toy_mlp.latent(key, self.batch * self.pack, self.cfg)

    def d_inputs(self, players, batch, key):
        k_real, k_z = jax.random.split(key)
        fake = players("g", self._noise(k_z), rng=k_z)
        return {"real": self._real(k_real), "fake": toy_mlp.pack(fake, self.pack)}

    def g_inputs(self, players, batch, keys):
        return {"z": self._noise(keys[0])}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        fake = toy_mlp.pack(players("g", inputs["z"], rng=kg), self.pack)
        return {"d": players("d", fake, rng=kd)}, {}

    def joint_inputs(self, players, batch, keys):
        k_real, k_z = keys
        return {"real": self._real(k_real), "z": self._noise(k_z)}

    def joint_terms(self, players, inputs, key):
        """One G pass: D's loss on the fakes (G held fixed), G's loss through D (D held fixed)."""
        fake = toy_mlp.pack(players("g", inputs["z"], rng=key), self.pack)
        fake_d = jax.lax.stop_gradient(fake)  # D's loss does not move G ...

        def critic(x):
            return players("d", x, rng=key, update=False)

        d_outs = {"d": (critic(inputs["real"]), critic(fake_d))}
        g_outs = {"d": players.frozen("d")("d", fake, rng=key)}  # ... and G's loss does not move D
        return d_outs, {"d": (critic, inputs["real"], fake_d)}, g_outs

    def sample(self, players, key, n, labels=None, source=None):
        del labels, source
        return players("g", toy_mlp.latent(key, n, self.cfg), rng=key, train=False)


def build(config, info: dict, mesh) -> Points:
    return Points(config, info, mesh)
