"""The classic game: G maps noise (and a class label) to images, D tells them from real ones.

Players ``g`` and ``d`` are the model family's `generator` and `discriminator` (`config.model.name`:
gan_mlp, dcgan, began, ...). Conditioning (`model.conditioning`): ``concat`` and ``projection`` give both
players the label; ``acgan`` gives D a class head whose cross-entropy is the extra term ``aux`` (weight
`loss.weights.aux`, Odena et al. 2017) in both players' losses. BEGAN's autoencoder D (a family with
``ENERGY_DISCRIMINATOR``) plays with `loss.objective=began`.

Inputs: D sees a real batch (with its labels) and fakes drawn with the real labels, so penalties on
interpolates see one label per pair; G draws fresh noise and uniform labels.

Lazy G regularisation (`loss.weights.path_length` > 0, every `loss.g_reg_every` steps): StyleGAN2's path
length regulariser (Karras et al. 2020, eq. 4): ``(||J^T y||_2 - a)^2`` for ``y ~ N(0, I) / sqrt(H W)`` over the
images, ``a`` the moving mean of the lengths, taken with one ``jax.vjp``. A style-based G (a family whose G has
``mapping`` and ``styles``: StyleGAN, StyleGAN2) takes J in W, the ws ``[N, layers, w_dim]`` of a training call
(mapping and style mixing) through ``styles``, the length ``sqrt(mean over layers of ||J_{w_l}^T y||^2)`` (the
official code's); any other G takes it in z, ``||J_z^T y||``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from jaxgen import models
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator, sharding
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game, split_d_out


def _class_loss(class_logits, labels):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


PL_DECAY = 0.01  # the moving mean of the path length: pl_mean += PL_DECAY * (mean length - pl_mean) (StyleGAN2)


class Unconditional(Game):
    weights = game_defaults.WEIGHTS["unconditional"]
    options = accelerator.NETWORK_OPTIONS

    def __init__(self, config, info: dict, mesh):
        self.image_shape = tuple(info["image_shape"])
        self.family = models.get(config.model.name)
        self._check(config)
        self.conditional = config.model.get("conditioning", "none") != "none"
        self.num_classes = info.get("num_classes") if self.conditional else None
        self.modules = {role: accelerator.network(build, config, config.model, self.image_shape, self.num_classes)
                        for role, build in (("g", self.family.generator), ("d", self.family.discriminator))}
        self.d_players, self.g_players = ("d",), ("g",)
        self.batch_keys = ("image", "label") if self.conditional else ("image",)
        self.model_cfg, self.batch = config.model, config.batch_size
        self.batch_sharded = sharding.batch_sharded(mesh)

    def _check(self, config) -> None:
        loss = config.loss
        if loss.penalty != "none" and config.model.get("d_norm", "none") == "batch":
            raise ConfigError(
                f"loss.penalty={loss.penalty!r} needs D's gradient per example, but model.d_norm='batch' "
                f"mixes the examples of a batch: set --config.model.d_norm=none (or loss.penalty=none)")
        energy = getattr(self.family, "ENERGY_DISCRIMINATOR", False)
        if isinstance(loss.objective, str) and (loss.objective == "began") != energy:
            raise ConfigError(
                "loss.objective='began' needs the autoencoder discriminator: set model.name='began'" if not energy
                else f"model.name={config.model.name!r} has an autoencoder discriminator; it trains only with "
                     f"loss.objective='began' (got {loss.objective!r})")

    def _cond(self, labels):  # the label arguments of G and D: none for an unconditional model
        return (labels,) if self.conditional else ()

    def net_args(self, players, labels):
        """The arguments of G and D after their input (z, images) in a phase of `players`: the label (conditional
        models); a game whose networks take more (the progressive game's stage and fade-in) overrides this."""
        del players
        return self._cond(labels)

    def _noise(self, rng, n):
        return sharding.constrain(self.family.latent(rng, n, self.model_cfg), self.batch_sharded)

    def init(self, rng):
        kg, kd, kz = jax.random.split(rng, 3)
        y = jnp.zeros((2,), jnp.int32)
        g_vars = dict(self.modules["g"].init({"params": kg, "dropout": kg}, self.family.latent(kz, 2, self.model_cfg),
                                             *self._cond(y), train=False))
        d_vars = dict(self.modules["d"].init({"params": kd, "dropout": kd}, jnp.zeros((2, *self.image_shape)),
                                             *self._cond(y), train=False))
        return {"g": g_vars.pop("params"), "d": d_vars.pop("params")}, {"g": g_vars, "d": d_vars}

    def d_inputs(self, players, batch, key):
        labels = batch.get("label")
        kz, kg = jax.random.split(key)
        fake = players("g", self._noise(kz, self.batch), *self.net_args(players, labels), rng=kg)
        return {"real": batch["image"], "fake": fake, "labels": labels}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        labels = inputs["labels"]
        real, real_cls = split_d_out(players("d", inputs["real"], *self.net_args(players, labels), rng=kr))
        fake, fake_cls = split_d_out(players("d", inputs["fake"], *self.net_args(players, labels), rng=kf))
        extras = {}
        if real_cls is not None:
            extras["aux"] = _class_loss(real_cls, labels) + _class_loss(fake_cls, labels)
        return {"d": (real, fake)}, extras

    def critics(self, players, inputs, key):
        labels = inputs["labels"]

        def critic(x):
            return split_d_out(players("d", x, *self.net_args(players, labels), rng=key, update=False))[0]

        return {"d": (critic, inputs["real"], inputs["fake"])}

    def g_inputs(self, players, batch, keys):
        kz, ky = keys
        labels = jax.random.randint(ky, (self.batch,), 0, self.num_classes) if self.conditional else None
        return {"z": self._noise(kz, self.batch), "labels": labels}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        labels = inputs["labels"]
        fake = players("g", inputs["z"], *self.net_args(players, labels), rng=kg)
        adv, cls = split_d_out(players("d", fake, *self.net_args(players, labels), rng=kd))
        return {"d": adv}, ({"aux": _class_loss(cls, labels)} if cls is not None else {})

    g_reg_terms = ("path_length",)

    def g_reg_init(self):
        return {"pl_mean": jnp.zeros((), jnp.float32)}

    def g_reg(self, players, batch, key, reg_state):
        """StyleGAN2's path-length term on fresh noise (and uniform labels); returns it and the new moving mean.
        A style-based G (with ``mapping`` and ``styles``) takes it in W: ``y``'s pullback through ``styles`` to the
        ws of a training call (mapping, mixing) and ``||J^T y||`` as the official code's
        ``sqrt(mean_layers sum_w g^2)``; any other G in z: ``||J_z^T y||``."""
        kz, kn, kg, ky = jax.random.split(key, 4)
        labels = jax.random.randint(ky, (self.batch,), 0, self.num_classes) if self.conditional else None
        args, z = self.net_args(players, labels), self._noise(kz, self.batch)
        g = self.modules["g"]
        style_based = hasattr(g, "mapping") and hasattr(g, "styles")
        if style_based:
            variables = {"params": players.params["g"], **players.model_state["g"]}
            kw, kg = jax.random.split(kg)
            ws = g.apply(variables, z, *args, train=True, method="latents", rngs={"dropout": kw})
            images, pullback = jax.vjp(
                lambda ws: g.apply(variables, ws, *args, method="styles", rngs={"dropout": kg}), ws)
        else:
            images, pullback = jax.vjp(lambda z: players("g", z, *args, rng=kg, update=False), z)
        pixels = math.prod(images.shape[1:-1])
        (grads,) = pullback(jax.random.normal(kn, images.shape, images.dtype) / math.sqrt(pixels))
        if style_based:  # grads [N, layers, w_dim]
            lengths = jnp.sqrt(jnp.mean(jnp.sum(grads**2, axis=2), axis=1))
        else:
            lengths = jnp.sqrt(jnp.sum(jnp.reshape(grads, (grads.shape[0], -1)) ** 2, axis=1))
        pl_mean = jax.lax.stop_gradient(reg_state["pl_mean"] + PL_DECAY * (jnp.mean(lengths) - reg_state["pl_mean"]))
        return {"path_length": jnp.mean((lengths - pl_mean) ** 2)}, {"pl_mean": pl_mean}

    def sample(self, players, key, n, labels=None, source=None):
        del source
        z = self.family.latent(key, n, self.model_cfg)
        return players("g", z, *self.net_args(players, labels), rng=key, train=False)


def build(config, info: dict, mesh) -> Unconditional:
    return Unconditional(config, info, mesh)
