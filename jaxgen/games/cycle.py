"""CycleGAN (Zhu et al. 2017) on unpaired toy point sets: two translators, two critics, cycle consistency.

Players: ``g_ab`` translates points of domain A into B, ``g_ba`` B into A (the family's `generator`, by default
:mod:`jaxgen.models.translator_mlp`); ``d_a`` and ``d_b`` are the critics of each domain (its
`discriminator`). ``g_players = ("g_ab", "g_ba")`` step on `optimizer.g`, ``d_players = ("d_a", "d_b")`` on
`optimizer.d`.

Domains (`synthetic`: the game samples both inside the step from the step's key; no data loader). A is the
toy mixture `data.name` (:mod:`jaxgen.data.toy`); B is the mixture `data.b` (default: A's) scaled by
`data.b_scale` and rotated by `data.b_rotation` degrees about the origin (defaults 1 and 0). The two
samples of a batch are independent: the pairs are unpaired, as in CycleGAN.

Terms. D: ``{"d_a": (D_a(a), D_a(g_ba(b))), "d_b": (D_b(b), D_b(g_ab(a)))}`` under `loss.objective` (CycleGAN
used least squares, `lsgan`); `loss.penalty` applies to each critic. G: ``{"d_a": D_a(g_ba(b)), "d_b":
D_b(g_ab(a))}`` plus the extra terms ``cycle`` = mean |g_ba(g_ab(a)) - a| + mean |g_ab(g_ba(b)) - b| (L1, as
the paper's code) and ``identity`` = mean |g_ab(b) - b| + mean |g_ba(a) - a|, weighted by `loss.weights`
(defaults `WEIGHTS`: the paper's lambda = 10, no identity term).

Samples: `sample(players, key, n, source=None)` translates `source` (points of A), or n fresh points of A
drawn from `key`, into B: ``[n, D]``; the loop writes them as a scatter plot.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import models
from jaxgen.data import toy
from jaxgen.engine import accelerator, sharding
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game

WEIGHTS = {"cycle": 10.0, "identity": 0.0}
TRANSLATORS, CRITICS = ("g_ab", "g_ba"), ("d_a", "d_b")


def default_config(model: str = "translator_mlp") -> ml_collections.ConfigDict:
    """`config.model` for the family `model` (its defaults and its name)."""
    cfg = models.get(model).default_config()
    cfg.name = model
    return cfg


def domain(name: str, scale: float = 1.0, rotation: float = 0.0) -> toy.Mixture:
    """The toy mixture `name`, its means scaled by `scale` and rotated by `rotation` degrees (2-D), std scaled."""
    mixture = toy.get(name)
    if scale == 1.0 and rotation == 0.0:
        return mixture
    if scale <= 0:
        raise ConfigError(f"config key 'data.b_scale' must be positive, got {scale}")
    if rotation and mixture.dim != 2:
        raise ConfigError(f"config key 'data.b_rotation' rotates 2-D points; {name!r} is {mixture.dim}-D")
    means = mixture.means
    if rotation:
        angle = np.deg2rad(rotation)
        means = means @ np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])  # x R^T
    return toy.Mixture(f"{name} x{scale:g} rotated {rotation:g} deg", scale * means, scale * mixture.std)


class Cycle(Game):
    weights = WEIGHTS
    synthetic = True
    options = accelerator.NETWORK_OPTIONS

    def __init__(self, config, info: dict, mesh):
        data = config.data
        self.a = toy.get(data.name)
        self.b = domain(data.get("b", data.name), float(data.get("b_scale", 1.0)), float(data.get("b_rotation", 0.0)))
        if self.a.dim != self.b.dim:
            raise ConfigError(f"the cycle game's domains must have one dimension: data.name={data.name!r} is "
                              f"{self.a.dim}-D, data.b={data.get('b')!r} {self.b.dim}-D")
        shape = (self.a.dim,)
        if tuple(info["image_shape"]) != shape:
            raise ConfigError(f"the cycle game draws {shape}-shaped points of {data.name!r}, but the data are "
                              f"{tuple(info['image_shape'])}")
        if config.model.get("conditioning", "none") != "none":
            raise ConfigError("the cycle game is unconditional: set model.conditioning='none'")
        family = models.get(config.model.name)
        self.modules = {**{name: accelerator.network(family.generator, config, config.model, shape)
                           for name in TRANSLATORS},
                        **{name: accelerator.network(family.discriminator, config, config.model, shape)
                           for name in CRITICS}}
        self.g_players, self.d_players = TRANSLATORS, CRITICS
        self.dim, self.batch = self.a.dim, int(config.batch_size)
        self.batch_sharded = sharding.batch_sharded(mesh)

    def init(self, rng):
        params, model_state = {}, {}
        for name, key in zip(self.modules, jax.random.split(rng, len(self.modules))):
            variables = dict(self.modules[name].init({"params": key, "dropout": key}, jnp.zeros((2, self.dim)),
                                                     train=False))
            params[name], model_state[name] = variables.pop("params"), variables
        return params, model_state

    def _real(self, key):
        """Unpaired samples (a, b) of the two domains, one batch each."""
        ka, kb = jax.random.split(key)
        return (sharding.constrain(self.a.sample(ka, self.batch), self.batch_sharded),
                sharding.constrain(self.b.sample(kb, self.batch), self.batch_sharded))

    def d_inputs(self, players, batch, key):
        del batch  # synthetic: the points come from the key
        k_real, k_g = jax.random.split(key)
        a, b = self._real(k_real)
        return {"a": a, "b": b, "fake_b": players("g_ab", a, rng=k_g), "fake_a": players("g_ba", b, rng=k_g)}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        return {"d_a": (players("d_a", inputs["a"], rng=kr), players("d_a", inputs["fake_a"], rng=kf)),
                "d_b": (players("d_b", inputs["b"], rng=kr), players("d_b", inputs["fake_b"], rng=kf))}, {}

    def critics(self, players, inputs, key):
        def critic(name):
            return lambda x: players(name, x, rng=key, update=False)

        return {"d_a": (critic("d_a"), inputs["a"], inputs["fake_a"]),
                "d_b": (critic("d_b"), inputs["b"], inputs["fake_b"])}

    def g_inputs(self, players, batch, keys):
        del batch
        a, b = self._real(keys[0])
        return {"a": a, "b": b}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys  # the key of every translator pass (dropout, if a family has it), of every critic pass
        a, b = inputs["a"], inputs["b"]
        fake_b, fake_a = players("g_ab", a, rng=kg), players("g_ba", b, rng=kg)
        cycle = (jnp.mean(jnp.abs(players("g_ba", fake_b, rng=kg) - a))
                 + jnp.mean(jnp.abs(players("g_ab", fake_a, rng=kg) - b)))
        identity = (jnp.mean(jnp.abs(players("g_ab", b, rng=kg) - b))
                    + jnp.mean(jnp.abs(players("g_ba", a, rng=kg) - a)))
        outs = {"d_a": players("d_a", fake_a, rng=kd), "d_b": players("d_b", fake_b, rng=kd)}
        return outs, {"cycle": cycle, "identity": identity}

    def sample(self, players, key, n, labels=None, source=None):
        """`source` (points of A, [n, D]) or n fresh points of A drawn from `key`, translated into B."""
        del labels
        source = self.a.sample(key, n) if source is None else source
        return players("g_ab", source, rng=key, train=False)


def build(config, info: dict, mesh) -> Cycle:
    return Cycle(config, info, mesh)
