"""A tiny two-stage game on 2-D toy points for the trainer's stage tests (`config.game = "tests.games.two_stage_game"`).

Stage 0 trains a coarse generator path ``z -> coarse``. Stage 1 (from step ``model.stage_starts[1]``) adds a fine
residual block ``coarse + alpha * fine(coarse + noise_amp * noise)`` whose fade-in ``alpha`` grows from
``1 / fade_steps`` to 1 over the first ``fade_steps`` steps of the stage (ProGAN's fade-in, read from
``players.step``). ``begin_stage`` measures ``noise_amp = noise_scale * RMS`` of the coarse output on fixed
noise at the transition (SinGAN's per-scale noise amplitude) and stores it in G's ``"stage"`` collection of the
model state, which is checkpointed with the rest of the state. The fine block's parameters exist from the start
(the state's structure is fixed) and get zero gradients in stage 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
from flax import linen as nn

from jaxgen.data import toy
from jaxgen.errors import ConfigError
from jaxgen.games.base import OneCritic

WEIGHTS: dict = {}


def default_config(model: str = "two_stage") -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        {"name": model, "hidden": 8, "stage_starts": (0, 3), "fade_steps": 4, "noise_scale": 0.1})


class Generator(nn.Module):
    """``(z, noise, alpha, stage) -> points [N, 2]``; the noise amplitude is the ``"stage"`` collection's."""

    hidden: int

    @nn.compact
    def __call__(self, z, noise, alpha, stage: int, *, train: bool):
        del train
        amp = self.variable("stage", "noise_amp", lambda: jnp.zeros((), jnp.float32))
        coarse = nn.Dense(2, name="coarse_out")(nn.relu(nn.Dense(self.hidden, name="coarse_h")(z)))
        if stage == 0:
            return coarse
        fine = nn.Dense(2, name="fine_out")(nn.relu(nn.Dense(self.hidden, name="fine_h")(coarse + amp.value * noise)))
        return coarse + alpha * fine


class Critic(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x, *, train: bool):
        del train
        return nn.Dense(1, name="out")(nn.leaky_relu(nn.Dense(self.hidden, name="h")(x), 0.2))[:, 0]


def fixed_noise(stage: int):
    """The noise on which `begin_stage(state, stage)` measures the coarse output."""
    return jax.random.normal(jax.random.fold_in(jax.random.key(0), stage), (256, 2))


class TwoStage(OneCritic):
    synthetic = True
    weights = WEIGHTS

    def __init__(self, config, info: dict, mesh):
        del info, mesh
        cfg = config.model
        self.mixture = toy.get(config.data.name)
        self.stage_starts = tuple(int(s) for s in cfg.stage_starts)
        if len(self.stage_starts) != 2 or self.stage_starts[0] != 0 or self.stage_starts[1] < 1:
            raise ConfigError(f"model.stage_starts must be (0, s1) with s1 >= 1, got {cfg.stage_starts}")
        self.fade, self.noise_scale, self.batch = int(cfg.fade_steps), float(cfg.noise_scale), int(config.batch_size)
        self.modules = {"g": Generator(int(cfg.hidden)), "d": Critic(int(cfg.hidden))}
        self.g_players, self.d_players = ("g",), ("d",)

    def init(self, rng):
        kg, kd = jax.random.split(rng)
        z = jnp.zeros((2, 2))
        g_vars = dict(self.modules["g"].init(kg, z, z, 1.0, 1, train=False))  # stage 1: every parameter
        d_params = self.modules["d"].init(kd, z, train=False)["params"]
        return {"g": g_vars.pop("params"), "d": d_params}, {"g": g_vars, "d": {}}

    def alpha(self, stage: int, step):
        """The fine block's weight at `step` (steps done before this one) of `stage`: 1/fade, 2/fade, ..., 1."""
        if stage == 0:
            return jnp.zeros((), jnp.float32)
        return jnp.clip((step - self.stage_starts[1] + 1) / self.fade, 0.0, 1.0).astype(jnp.float32)

    def _noise(self, key, n):
        kz, kn = jax.random.split(key)
        return {"z": jax.random.normal(kz, (n, 2)), "noise": jax.random.normal(kn, (n, 2))}

    def _fake(self, players, inputs, key, train=True):
        return players("g", inputs["z"], inputs["noise"], self.alpha(players.stage, players.step), players.stage,
                       rng=key, train=train)

    def d_inputs(self, players, batch, key):
        k_real, k_noise, k_g = jax.random.split(key, 3)
        return {"real": self.mixture.sample(k_real, self.batch),
                "fake": self._fake(players, self._noise(k_noise, self.batch), k_g)}

    def g_inputs(self, players, batch, keys):
        return self._noise(keys[0], self.batch)

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        return {"d": players("d", self._fake(players, inputs, kg), rng=kd)}, {}

    def sample(self, players, key, n, labels=None, source=None):
        del labels, source
        return self._fake(players, self._noise(key, n), key, train=False)

    def noise_amp(self, params_g, model_state_g, stage: int):
        """What `begin_stage(state, stage)` stores: noise_scale x RMS of stage `stage - 1`'s output on fixed noise."""
        z = fixed_noise(stage)
        out = self.modules["g"].apply({"params": params_g, **model_state_g}, z, jnp.zeros_like(z),
                                      jnp.zeros((), jnp.float32), stage - 1, train=False)
        return (self.noise_scale * jnp.sqrt(jnp.mean(out ** 2))).astype(jnp.float32)

    def begin_stage(self, state, stage: int):
        g_state = state["model_state"]["g"]
        amp = self.noise_amp(state["params"]["g"], g_state, stage)
        model_state = {**state["model_state"], "g": {**g_state, "stage": {**g_state["stage"], "noise_amp": amp}}}
        return {**state, "model_state": model_state}


def build(config, info: dict, mesh) -> TwoStage:
    return TwoStage(config, info, mesh)
