"""Adversarial training: every row of the loss zoo on one engine, as separately jitted phases.

A training step is ``n_critic`` D-main phases (each on a fresh data batch and fresh noise), a D-reg
phase when lazy regularisation is due, then one G-main phase on fresh noise (Goodfellow et al. 2014,
Algorithm 1 with k = ``n_critic``; phases as in NVIDIA's StyleGAN2 ``loss.py``). Each phase is a pure
function ``(state, batch, rng) -> (state, metrics)`` jitted once, donating the state; with
``n_critic = 1`` D-main and G-main run as one program unless ``fuse_phases`` is False.

- Objective and penalty: ``config.loss`` (see :mod:`jaxgen.losses.zoo`); the penalty is a nested
  ``jax.grad`` inside D's ``value_and_grad``, in D-main, or in its own D-reg phase every
  ``loss.reg_every`` steps scaled by that interval (Adam's lr and betas corrected as StyleGAN2).
- WGAN weight clipping: ``loss.clip`` > 0 clips D's parameters after every D update (optimizer side).
- BEGAN: ``k_t`` lives in ``state["loss_state"]``; ``M_global`` is logged every step.
- TTUR: ``optimizer.g`` and ``optimizer.d`` have their own learning rates and betas.
- EMA: ``ema_decay`` > 0 keeps ``state["ema"]``, an exponential moving average of G's parameters
  used for samples (grids, ``jaxgen sample``).
- Conditional (``model.conditioning`` != "none"): fakes in D-main take the real batch's labels, G-main
  draws labels uniformly; with an AC-GAN discriminator both phases add ``loss.aux_weight`` times the
  cross-entropy of D's class head (Odena et al. 2017).

- Evaluation: ``eval.every`` > 0 computes ``eval.metrics`` (FID, KID, … of ``eval.num_samples`` samples,
  :mod:`jaxgen.metrics.evaluate`) every that many steps, and ``eval.best_metric`` keeps the best checkpoint.

State pytree: ``{"step": int32[], "params": {"g", "d"}, "model_state": {"g", "d"}, "opt": {"g", "d"}}``
plus ``"ema"`` (G's params) and ``"loss_state"`` (``{"k"}``, BEGAN) when used.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgen import config as config_lib
from jaxgen import models
from jaxgen import nn as jaxgen_nn
from jaxgen.engine import loop, optimizers, sharding
from jaxgen.errors import ConfigError
from jaxgen.losses import gan as gan_losses
from jaxgen.losses import penalties, zoo


def default_config(model: str, loss: str = "ns") -> ml_collections.ConfigDict:
    """The keys of a GAN experiment, with the defaults of the DCGAN paper (Adam 2e-4, beta1 0.5)."""
    config = config_lib.experiment_config("gan", num_steps=5000, batch_size=64, log_every=50, sample_every=500,
                                          checkpoint_every=1000)
    config.num_samples = 64  # images in each sample grid (fixed noise)
    config.model = models.get(model).default_config()
    config.model.name = model
    config.loss = zoo.loss_config(loss)
    config.n_critic = 1  # D updates per G update (k of Algorithm 1)
    config.fuse_phases = True  # with n_critic = 1, run D-main and G-main as one jitted program
    config.ema_decay = 0.0  # 0 = off; e.g. 0.999: sample from an EMA of G's parameters
    config.optimizer = ml_collections.ConfigDict(dict(g=optimizers.adam_config(), d=optimizers.adam_config()))
    config.eval = eval_config()
    return config


def eval_config() -> ml_collections.ConfigDict:
    """`config.eval`: metrics every `every` steps (0 = never) and a best checkpoint by `best_metric`.

    `metrics` as `jaxgen eval --metrics`; `best_metric` a full protocol name such as "fid2k_test_lenet"
    ("" = keep none); see :mod:`jaxgen.metrics.evaluate`. May change when a run is resumed.
    """
    return ml_collections.ConfigDict(dict(every=0, metrics="fid,kid", num_samples=2000, split="test",
                                          features="auto", best_metric=""))


def _check(config, family) -> None:
    """Refuses combinations that would train silently wrong, naming the keys to change."""
    zoo.validate(config.loss)
    if config.n_critic < 1:
        raise ConfigError(f"config key 'n_critic' (D updates per G update) must be >= 1, got {config.n_critic}")
    if not 0.0 <= config.ema_decay < 1.0:
        raise ConfigError(f"config key 'ema_decay' must be in [0, 1) (0 = off), got {config.ema_decay}")
    if config.loss.penalty != "none" and config.model.get("d_norm", "none") == "batch":
        raise ConfigError(
            f"loss.penalty={config.loss.penalty!r} needs D's gradient per example, but model.d_norm='batch' "
            f"mixes the examples of a batch: set --config.model.d_norm=none (or loss.penalty=none)")
    energy = getattr(family, "ENERGY_DISCRIMINATOR", False)
    if (config.loss.objective == "began") != energy:
        raise ConfigError(
            "loss.objective='began' needs the autoencoder discriminator: set model.name='began'" if not energy else
            f"model.name={config.model.name!r} has an autoencoder discriminator; it trains only with "
            f"loss.objective='began' (got {config.loss.objective!r})")


def _apply(module, params, model_state, args, rng, train: bool):
    """module(*args) -> (output, new model_state); `model_state` holds the non-param collections."""
    variables = {"params": params, **model_state}
    if train and model_state:
        out, new_state = module.apply(variables, *args, train=True, mutable=list(model_state), rngs={"dropout": rng})
        return out, dict(new_state)
    return module.apply(variables, *args, train=train, rngs={"dropout": rng}), model_state


def _split(d_out):
    """D's output -> (adversarial output [N], class logits [N, K] or None); AC-GAN Ds return a pair."""
    return d_out if isinstance(d_out, tuple) else (d_out, None)


def _class_loss(class_logits, labels):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def create_task(config, info: dict, mesh) -> loop.Task:
    """The GAN regime of `config` for images of `info["image_shape"]`, data-parallel over `mesh`."""
    image_shape = tuple(info["image_shape"])
    family = models.get(config.model.name)
    _check(config, family)
    conditional = config.model.get("conditioning", "none") != "none"
    num_classes = info.get("num_classes") if conditional else None
    gen = family.generator(config.model, image_shape, num_classes)
    disc = family.discriminator(config.model, image_shape, num_classes)
    lc = config.loss
    objective = gan_losses.objective(lc.objective)
    began = lc.objective == "began"
    lazy = lc.penalty != "none" and lc.reg_every > 1
    tx = {"g": optimizers.make(config.optimizer.g, "optimizer.g"),
          "d": optimizers.make(config.optimizer.d, "optimizer.d", clip=lc.clip,
                               lazy_interval=lc.reg_every if lazy else 1)}
    batch = config.batch_size
    replicated, batch_sharded = sharding.replicated(mesh), sharding.batch_sharded(mesh)

    def noise(rng, n):
        return sharding.constrain(family.latent(rng, n, config.model), batch_sharded)

    def cond(labels):  # the label arguments of G and D: none for an unconditional model
        return (labels,) if conditional else ()

    def init(rng):
        kg, kd, kz = jax.random.split(rng, 3)
        y = jnp.zeros((2,), jnp.int32)
        g_vars = dict(gen.init({"params": kg, "dropout": kg}, family.latent(kz, 2, config.model), *cond(y),
                               train=False))
        d_vars = dict(disc.init({"params": kd, "dropout": kd}, jnp.zeros((2, *image_shape)), *cond(y), train=False))
        params = {"g": g_vars.pop("params"), "d": d_vars.pop("params")}
        state = {"step": jnp.zeros((), jnp.int32), "params": params, "model_state": {"g": g_vars, "d": d_vars},
                 "opt": {name: tx[name].init(params[name]) for name in ("g", "d")}}
        if config.ema_decay > 0:
            state["ema"] = params["g"]
        if began:
            state["loss_state"] = {"k": jnp.zeros((), jnp.float32)}
        return state

    def d_fn(d_params, d_state, labels, rng):
        """x -> D's adversarial output [N] (state updates dropped), for the input-gradient penalties."""
        return lambda x: _split(_apply(disc, d_params, d_state, (x, *cond(labels)), rng, True)[0])[0]

    def fakes_for_d(state, labels, rng):
        kz, kg = jax.random.split(rng)
        fake, g_state = _apply(gen, state["params"]["g"], state["model_state"]["g"],
                               (noise(kz, batch), *cond(labels)), kg, True)
        return jax.lax.stop_gradient(fake), g_state

    def update_d(state, grads):
        updates, opt_d = tx["d"].update(grads, state["opt"]["d"], state["params"]["d"])
        return {**state, "params": {**state["params"], "d": optax.apply_updates(state["params"]["d"], updates)},
                "opt": {**state["opt"], "d": opt_d}}

    def d_objective(d_params, state, images, labels, fake, keys, with_penalty):
        """D's loss on real `images` and `fake` (+ AC-GAN class loss, + the penalty if `with_penalty`), with
        `keys` (real pass, fake pass, penalty); returns (loss, (D model state, D(real), D(fake), {term: value}))."""
        kr, kf, kp = keys
        real_out, d_state = _apply(disc, d_params, state["model_state"]["d"], (images, *cond(labels)), kr, True)
        fake_out, d_state = _apply(disc, d_params, d_state, (fake, *cond(labels)), kf, True)
        (real, real_cls), (fake_out, fake_cls) = _split(real_out), _split(fake_out)
        if began:
            loss = gan_losses.began_d_loss(real, fake_out, state["loss_state"]["k"])
        else:
            loss = objective.d_loss(real, fake_out)
        terms = {"d_loss": loss}
        if real_cls is not None:
            terms["d_aux"] = _class_loss(real_cls, labels) + _class_loss(fake_cls, labels)
            loss = loss + lc.aux_weight * terms["d_aux"]
        if with_penalty and lc.penalty != "none":
            terms["penalty"] = penalties.penalty(lc.penalty, d_fn(d_params, d_state, labels, kp), images, fake, kp,
                                                 lc.dragan_c)
            loss = loss + lc.penalty_weight * terms["penalty"]
        return loss, (d_state, real, fake_out, terms)

    def g_objective(g_params, state, d_params, z, labels, keys):
        """G's loss for noise `z` through D(`d_params`), with `keys` (G pass, D pass); returns
        (loss, (G state, D state, {term: value}))."""
        kg, kd = keys
        fake, g_state = _apply(gen, g_params, state["model_state"]["g"], (z, *cond(labels)), kg, True)
        out, d_state = _apply(disc, d_params, state["model_state"]["d"], (fake, *cond(labels)), kd, True)
        adv, cls = _split(out)
        terms = {"g_loss": objective.g_loss(adv)}
        loss = terms["g_loss"]
        if cls is not None:
            terms["g_aux"] = _class_loss(cls, labels)
            loss = loss + lc.aux_weight * terms["g_aux"]
        return loss, (g_state, d_state, terms)

    def d_main(state, batch_in, rng):
        """One D update on the objective (+ AC-GAN class loss, + the penalty unless it is lazy)."""
        images, labels = batch_in["image"], batch_in.get("label")
        k_fake, kr, kf, kp = jax.random.split(rng, 4)
        fake, g_state = fakes_for_d(state, labels, k_fake)
        (_, (d_state, real, fake_out, terms)), grads = jax.value_and_grad(d_objective, has_aux=True)(
            state["params"]["d"], state, images, labels, fake, (kr, kf, kp), not lazy)
        state = update_d({**state, "model_state": {"g": g_state, "d": d_state}}, grads)
        probs = lc.objective in ("mm", "ns")  # report D(x) as a probability where D is a classifier
        metrics = {**terms, "d_real": jnp.mean(jax.nn.sigmoid(real) if probs else real),
                   "d_fake": jnp.mean(jax.nn.sigmoid(fake_out) if probs else fake_out)}
        if began:
            k, m_global = gan_losses.began_update(state["loss_state"]["k"], real, fake_out, lc.began_gamma,
                                                  lc.began_lambda_k)
            state = {**state, "loss_state": {"k": k}}
            metrics.update(k=k, m_global=m_global)
        return state, metrics

    def d_reg(state, batch_in, rng):
        """Lazy regularisation: one D update on ``reg_every * weight * penalty`` alone (StyleGAN2's D-reg)."""
        images, labels = batch_in["image"], batch_in.get("label")
        k_fake, kp = jax.random.split(rng)
        fake, _ = fakes_for_d(state, labels, k_fake)

        def loss_fn(d_params):
            value = penalties.penalty(lc.penalty, d_fn(d_params, state["model_state"]["d"], labels, kp), images, fake,
                                      kp, lc.dragan_c)
            return lc.reg_every * lc.penalty_weight * value, value

        (_, value), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"]["d"])
        return update_d(state, grads), {"penalty": value}

    def g_main(state, rng):
        """One G update on fresh noise (and uniformly drawn labels), through the current D."""
        kz, kg, kd, ky = jax.random.split(rng, 4)
        z = noise(kz, batch)
        labels = jax.random.randint(ky, (batch,), 0, num_classes) if conditional else None
        (_, (g_state, d_state, terms)), grads = jax.value_and_grad(g_objective, has_aux=True)(
            state["params"]["g"], state, state["params"]["d"], z, labels, (kg, kd))
        updates, opt_g = tx["g"].update(grads, state["opt"]["g"], state["params"]["g"])
        g_params = optax.apply_updates(state["params"]["g"], updates)
        new = {**state, "step": state["step"] + 1, "params": {**state["params"], "g": g_params},
               "model_state": {"g": g_state, "d": d_state}, "opt": {**state["opt"], "g": opt_g}}
        if config.ema_decay > 0:
            new["ema"] = optax.incremental_update(g_params, state["ema"], 1.0 - config.ema_decay)
        return new, terms

    def d_key(rng, i):  # the key of the i-th D-main phase of a step
        return jax.random.fold_in(jax.random.fold_in(rng, 0), i)

    def g_key(rng):
        return jax.random.fold_in(rng, 1)

    def reg_key(rng):
        return jax.random.fold_in(rng, 2)

    def fused(state, batch_in, rng):
        state, d_metrics = d_main(state, batch_in, d_key(rng, 0))
        state, g_metrics = g_main(state, g_key(rng))
        return state, {**d_metrics, **g_metrics}

    def pure_step(state, batches, rng):
        """A whole step as one pure function: `batches` holds the step's `n_critic` batches stacked on a leading
        axis. What a sweep vmaps over its runs (lazy regularisation, scheduled by the host, has none)."""
        d_metrics = []
        for i in range(config.n_critic):
            state, m = d_main(state, jax.tree.map(lambda x: x[i], batches), d_key(rng, i))
            d_metrics.append(m)
        metrics = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *d_metrics)
        state, g_metrics = g_main(state, g_key(rng))
        return state, {**metrics, **g_metrics}

    def losses(params, state, batch_in, rng):
        """Both players' losses at `params` {"g", "d"} on one batch: {"g_loss", "d_loss"} (D's with its class
        loss and penalty, unscaled by any lazy interval). D's fakes stay differentiable in G's parameters, so
        derivatives across the players (the game Jacobian) exist; model state (BatchNorm) is read, not updated."""
        images, labels = batch_in["image"], batch_in.get("label")
        k_fake, kr, kf, kp = jax.random.split(d_key(rng, 0), 4)
        kz, kg = jax.random.split(k_fake)
        fake, _ = _apply(gen, params["g"], state["model_state"]["g"], (noise(kz, batch), *cond(labels)), kg, True)
        d_loss, _ = d_objective(params["d"], state, images, labels, fake, (kr, kf, kp), True)
        kz, kg, kd, ky = jax.random.split(g_key(rng), 4)
        g_labels = jax.random.randint(ky, (batch,), 0, num_classes) if conditional else None
        g_loss, _ = g_objective(params["g"], state, params["d"], noise(kz, batch), g_labels, (kg, kd))
        return {"g_loss": g_loss, "d_loss": d_loss}

    # Each phase compiles once; on XLA:CPU, convolutions stay on Eigen kernels (see cpu_compiler_options).
    phase_jit = functools.partial(jax.jit, donate_argnums=0, out_shardings=(replicated, replicated),
                                  compiler_options=jaxgen_nn.cpu_compiler_options())
    jit_d, jit_reg, jit_g, jit_fused = phase_jit(d_main), phase_jit(d_reg), phase_jit(g_main), phase_jit(fused)

    def next_input(next_batch):
        b = next_batch()
        return {"image": b["image"], "label": b["label"]} if conditional else {"image": b["image"]}

    def step(state, next_batch, rng, step_index):
        reg_due = lazy and step_index % lc.reg_every == 0
        if config.n_critic == 1 and config.fuse_phases and not reg_due:
            return jit_fused(state, next_input(next_batch), rng)
        d_metrics = []
        for i in range(config.n_critic):
            batch_in = next_input(next_batch)
            state, m = jit_d(state, batch_in, d_key(rng, i))
            d_metrics.append(m)
        metrics = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *d_metrics)
        if reg_due:
            state, reg_metrics = jit_reg(state, batch_in, reg_key(rng))
            metrics.update(reg_metrics)
        state, g_metrics = jit_g(state, g_key(rng))
        return state, {**metrics, **g_metrics}

    # The jitted phases, (state, batch, rng) -> (state, metrics) (G-main: (state, rng)), for tests and benchmarks.
    step.phases = {"d_main": jit_d, "d_reg": jit_reg, "g_main": jit_g, "fused": jit_fused}

    @functools.partial(jax.jit, static_argnums=2, out_shardings=replicated,
                       compiler_options=jaxgen_nn.cpu_compiler_options())
    def _generate(state, rng, n, labels):
        params = state["ema"] if config.ema_decay > 0 else state["params"]["g"]
        images, _ = _apply(gen, params, state["model_state"]["g"],
                           (family.latent(rng, n, config.model), *cond(labels)), rng, False)
        return images

    def generate(state, rng, n, labels=None):
        if conditional and labels is None:  # one class per example, cycling 0, 1, ..., K-1
            labels = jnp.arange(n, dtype=jnp.int32) % num_classes
        return _generate(state, rng, n, labels if conditional else None)

    task = loop.Task(init=jax.jit(init, out_shardings=replicated), step=step, generate=generate,
                     num_classes=num_classes, pure_step=None if lazy else pure_step,
                     batches_per_step=config.n_critic, losses=losses)
    if config.get("eval") is not None and config.eval.every > 0:  # workdirs saved before config.eval existed have none
        task.evaluate = _evaluator(config, task)
    return task


def _evaluator(config, task):
    """(state, rng) -> the metrics of `config.eval` for `config.eval.num_samples` samples of the state."""
    from jaxgen.metrics import evaluate

    ev = config.eval
    protocol = evaluate.Protocol.parse(ev.metrics, num_samples=ev.num_samples, split=ev.split, features=ev.features)

    nets = []  # the feature network, resolved (restored and compiled) at the first evaluation only

    def run(state, rng):
        if not nets:
            nets.append(evaluate.feature_net(protocol, config.data.name))
        samples = evaluate.generate_samples(task, state, protocol.num_samples, rng)
        return evaluate.evaluate(samples, config.data, protocol, net=nets[0])

    return run


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the GAN of `config` in `workdir` (resuming if it holds checkpoints); returns the state.

    `mesh` defaults to a ("data",) mesh over every device of every process.
    """
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
