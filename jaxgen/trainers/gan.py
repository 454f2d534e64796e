"""Adversarial training: Algorithm 1 of Goodfellow et al. 2014.

Each training step makes `d_steps` (k) discriminator updates, each on a fresh data batch and fresh
noise, then one generator update on fresh noise. The phases are pure functions
`(state, batch, rng) -> (state, metrics)` jitted once each, donating the state; with k = 1 both
phases run in one jitted program unless `fuse_phases` is False (same arithmetic, one dispatch).

State pytree:
    {"step": int32[], "params": {"g", "d"}, "model_state": {"g", "d"} (e.g. BatchNorm statistics),
     "opt": {"g", "d"}}
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgen import data as data_lib
from jaxgen import models
from jaxgen import nn as jaxgen_nn
from jaxgen.engine import loop, optimizers, sharding
from jaxgen.errors import ConfigError
from jaxgen.losses import gan as gan_losses


def default_config(model: str) -> ml_collections.ConfigDict:
    """The keys of a GAN experiment, with the defaults of the DCGAN paper (Adam 2e-4, beta1 0.5)."""
    config = ml_collections.ConfigDict()
    config.trainer = "gan"
    config.seed = 0
    config.num_steps = 5000
    config.batch_size = 64
    config.log_every = 50
    config.sample_every = 500
    config.checkpoint_every = 1000
    config.keep_checkpoints = 3
    config.num_samples = 64  # images in each sample grid (fixed noise)
    config.data = ml_collections.ConfigDict(dict(
        name="mnist5k", split="train", data_dir=ml_collections.FieldReference(None, field_type=str),
        image_size=ml_collections.FieldReference(None, field_type=int), pad=0, num_workers=0))
    config.model = models.get(model).default_config()
    config.model.name = model
    config.loss = ml_collections.ConfigDict(dict(generator="non_saturating"))
    config.d_steps = 1  # k of Algorithm 1: discriminator updates per generator update
    config.fuse_phases = True  # with k = 1, run the D and G phases in one jitted program
    config.optimizer = ml_collections.ConfigDict(dict(g=optimizers.adam_config(), d=optimizers.adam_config()))
    return config


def _apply(module, params, model_state, x, rng, train: bool):
    """module(x) -> (output, new model_state); `model_state` holds the non-param collections."""
    variables = {"params": params, **model_state}
    if train and model_state:
        out, new_state = module.apply(variables, x, train=True, mutable=list(model_state), rngs={"dropout": rng})
        return out, dict(new_state)
    return module.apply(variables, x, train=train, rngs={"dropout": rng}), model_state


def create_task(config, info: dict, mesh) -> loop.Task:
    """The GAN regime of `config` for images of `info["image_shape"]`, data-parallel over `mesh`."""
    image_shape = tuple(info["image_shape"])
    family = models.get(config.model.name)
    gen = family.generator(config.model, image_shape, info.get("num_classes"))
    disc = family.discriminator(config.model, image_shape, info.get("num_classes"))
    g_loss_fn = gan_losses.generator_loss(config.loss.generator)
    tx = {"g": optimizers.make(config.optimizer.g, "optimizer.g"),
          "d": optimizers.make(config.optimizer.d, "optimizer.d")}
    if config.d_steps < 1:
        raise ConfigError(f"config key 'd_steps' (k of Algorithm 1) must be >= 1, got {config.d_steps}")
    batch = config.batch_size
    replicated, batch_sharded = sharding.replicated(mesh), sharding.batch_sharded(mesh)

    def noise(rng, n):
        return jax.lax.with_sharding_constraint(family.latent(rng, n, config.model), batch_sharded)

    def init(rng):
        kg, kd, kz = jax.random.split(rng, 3)
        g_vars = dict(gen.init({"params": kg, "dropout": kg}, family.latent(kz, 2, config.model), train=False))
        d_vars = dict(disc.init({"params": kd, "dropout": kd}, jnp.zeros((2, *image_shape)), train=False))
        params = {"g": g_vars.pop("params"), "d": d_vars.pop("params")}
        return {"step": jnp.zeros((), jnp.int32), "params": params, "model_state": {"g": g_vars, "d": d_vars},
                "opt": {name: tx[name].init(params[name]) for name in ("g", "d")}}

    def d_phase(state, images, rng):
        """One discriminator update: descend -E[log D(x)] - E[log(1 - D(G(z)))]."""
        kz, kg, kr, kf = jax.random.split(rng, 4)
        fake, g_state = _apply(gen, state["params"]["g"], state["model_state"]["g"], noise(kz, batch), kg, True)
        fake = jax.lax.stop_gradient(fake)

        def loss_fn(d_params):
            real_logits, d_state = _apply(disc, d_params, state["model_state"]["d"], images, kr, True)
            fake_logits, d_state = _apply(disc, d_params, d_state, fake, kf, True)
            return gan_losses.discriminator_loss(real_logits, fake_logits), (d_state, real_logits, fake_logits)

        (loss, (d_state, real_logits, fake_logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state["params"]["d"])
        updates, opt_d = tx["d"].update(grads, state["opt"]["d"], state["params"]["d"])
        state = {**state, "params": {**state["params"], "d": optax.apply_updates(state["params"]["d"], updates)},
                 "model_state": {"g": g_state, "d": d_state}, "opt": {**state["opt"], "d": opt_d}}
        metrics = {"d_loss": loss, "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
                   "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits))}
        return state, metrics

    def g_phase(state, rng):
        """One generator update on fresh noise, through the current discriminator."""
        kz, kg, kd = jax.random.split(rng, 3)
        z = noise(kz, batch)

        def loss_fn(g_params):
            fake, g_state = _apply(gen, g_params, state["model_state"]["g"], z, kg, True)
            logits, d_state = _apply(disc, state["params"]["d"], state["model_state"]["d"], fake, kd, True)
            return g_loss_fn(logits), (g_state, d_state)

        (loss, (g_state, d_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"]["g"])
        updates, opt_g = tx["g"].update(grads, state["opt"]["g"], state["params"]["g"])
        state = {"step": state["step"] + 1,
                 "params": {**state["params"], "g": optax.apply_updates(state["params"]["g"], updates)},
                 "model_state": {"g": g_state, "d": d_state}, "opt": {**state["opt"], "g": opt_g}}
        return state, {"g_loss": loss}

    def d_key(rng, i):  # the key of the i-th discriminator update of a step
        return jax.random.fold_in(jax.random.fold_in(rng, 0), i)

    def g_key(rng):
        return jax.random.fold_in(rng, 1)

    def fused(state, images, rng):
        state, d_metrics = d_phase(state, images, d_key(rng, 0))
        state, g_metrics = g_phase(state, g_key(rng))
        return state, {**d_metrics, **g_metrics}

    # Each phase compiles once; on XLA:CPU, convolutions stay on Eigen kernels (see cpu_compiler_options).
    phase_jit = functools.partial(jax.jit, donate_argnums=0, out_shardings=(replicated, replicated),
                                  compiler_options=jaxgen_nn.cpu_compiler_options())
    jit_d, jit_g, jit_fused = phase_jit(d_phase), phase_jit(g_phase), phase_jit(fused)

    def step(state, next_batch, rng):
        if config.d_steps == 1 and config.fuse_phases:
            return jit_fused(state, next_batch()["image"], rng)
        d_metrics = []
        for i in range(config.d_steps):
            state, m = jit_d(state, next_batch()["image"], d_key(rng, i))
            d_metrics.append(m)
        state, g_metrics = jit_g(state, g_key(rng))
        return state, {**jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *d_metrics), **g_metrics}

    @functools.partial(jax.jit, static_argnums=2, out_shardings=replicated,
                       compiler_options=jaxgen_nn.cpu_compiler_options())
    def generate(state, rng, n):
        images, _ = _apply(gen, state["params"]["g"], state["model_state"]["g"],
                           family.latent(rng, n, config.model), rng, False)
        return images

    return loop.Task(init=jax.jit(init, out_shardings=replicated), step=step, generate=generate)


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the GAN of `config` in `workdir` (resuming if it holds checkpoints); returns the state.

    `mesh` defaults to a ("data",) mesh over every device of every process.
    """
    mesh = sharding.make_mesh() if mesh is None else mesh
    sharding.check_batch_size(config.batch_size, mesh)
    info = data_lib.output_info(config.data)
    loader = data_lib.make_loader(config.data, global_batch_size=config.batch_size,
                                  seed=config.seed)
    task = create_task(config, info, mesh)
    return loop.train(config, workdir, task, loader, mesh, info, allow_config_change)
