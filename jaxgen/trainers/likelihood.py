"""Maximum-likelihood training of the likelihood families: (V)AEs, PixelCNN, Gated PixelCNN, PixelRNN.

``config.model.name`` selects ``jaxgen.models.<name>``, whose ``density(cfg, image_shape, num_classes)``
gives a :class:`jaxgen.models.density.Density`. One step maps the batch into the model's data space
(``config.model.data``: a fresh binarisation or dequantisation each step, :mod:`jaxgen.losses.likelihood`)
and takes an Adam step on the mean ``nll`` (exact NLL, or the negative ELBO).

Evaluation (``eval.every`` steps and at the end) scores the whole ``eval.split`` with the fixed evaluation
noise, so every model sees the same bits, and reports per image (names carry the protocol):

* exact models: ``{split}_nll_nats``;
* VAEs: ``{split}_elbo_nats`` (the negative ELBO, an upper bound on the NLL) and ``{split}_iwae{K}_nats``
  for each K in ``eval.iwae_samples`` (the negative importance-weighted bound, tighter with K);
* diffusion: ``{split}_vlb_sampled_nats`` (the bound estimated at one t per image) or ``{split}_vlb_nats``
  (all T terms), the Density's ``bound``;
* autoencoders: ``{split}_reconstruction_nats`` (no likelihood);
* with 8-bit or dequantised data each NLL also in bits per dimension (``…_bpd``).

A Density with its own ``loss`` (diffusion: the ε-loss) trains on that instead (logged as ``loss``, its metrics
beside it); evaluation still reports ``nll``. ``ema_decay`` > 0 keeps an exponential moving average of the
parameters (``decay * ema + (1 - decay) * params`` after each update), which evaluation and samples use.

The accelerator options (:mod:`jaxgen.engine.accelerator`): ``dtype`` and ``remat`` go to the family's
``density``; ``accumulate`` k > 1 averages the gradients of k batches per update (micro-batch j with the key
``fold_in(rng, j)``).

State pytree: ``{"step": int32[], "params": …, "opt": …}``, plus ``"ema"`` (params' structure) when
``ema_decay`` > 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen import data as data_lib
from jaxgen import models
from jaxgen.engine import accelerator, compilation, loop, optimizers, sharding, updates
from jaxgen.errors import ConfigError
from jaxgen.losses import likelihood as lik


def create_task(config, info: dict, mesh) -> loop.Task:
    """The likelihood regime of `config` for images of `info["image_shape"]`."""
    cfg = config.model
    conditional = bool(cfg.get("conditional", False))
    num_classes = info.get("num_classes")
    if conditional and num_classes is None:
        raise ConfigError(f"config key 'model.conditional' is True but dataset {config.data.name!r} has no "
                          f"class labels; set model.conditional=False")
    image_shape = tuple(info["image_shape"])
    micro = accelerator.check(config)
    dens = accelerator.network(models.get(cfg.name).density, config, cfg, image_shape,
                               num_classes if conditional else None)
    if any(k < 1 for k in config.eval.iwae_samples):
        raise ConfigError(f"config key 'eval.iwae_samples' must hold positive sample counts, got "
                          f"{tuple(config.eval.iwae_samples)}")
    if config.eval.iwae_samples and dens.log_likelihood is None:
        raise ConfigError(f"config key 'eval.iwae_samples' is set but model {cfg.name!r} (kind {cfg.get('kind', '-')!r}) "
                          f"has no importance-weighted estimate; set eval.iwae_samples=()")
    ema_decay = updates.ema_decay(config)
    tx = optimizers.make(config.optimizer, "optimizer")
    replicated = sharding.replicated(mesh)
    num_dims = int(image_shape[0] * image_shape[1] * image_shape[2])
    labels_of = (lambda batch: batch["label"]) if conditional else (lambda batch: None)  # noqa: E731

    def init(rng):
        x = lik.to_data_space(jnp.zeros((1, *image_shape)), dens.data, rng)
        labels = jnp.zeros((1,), jnp.int32) if conditional else None
        params = dens.init(rng, x, labels)
        state = {"step": jnp.zeros((), jnp.int32), "params": params, "opt": tx.init(params)}
        return {**state, "ema": params} if ema_decay > 0 else state

    objective = dens.nll if dens.loss is None else dens.loss
    loss_name = "nll_nats" if dens.loss is None else "loss"

    def loss_fn(params, x, rng, labels):
        value, metrics = objective(params, x, rng, labels)
        return jnp.mean(value), {k: jnp.mean(v) for k, v in metrics.items()}

    def eval_params(state):  # the EMA where there is one
        return state["ema"] if ema_decay > 0 else state["params"]

    def train_step(state, batch, rng):
        def grads_fn(_, batch, rng):  # one batch's (gradients, no carry, metrics)
            k_data, k_model = jax.random.split(rng)
            x = lik.to_data_space(batch["image"], dens.data, k_data)
            (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"], x, k_model,
                                                                               labels_of(batch))
            return grads, None, {loss_name: loss, **metrics}

        grads, _, metrics = accelerator.accumulate(grads_fn, None, batch, rng, micro)
        params, opt = updates.apply_optimizer(tx, grads, state["opt"], state["params"], state["step"])
        bpd = lik.data_bits_per_dim(metrics["nll_nats"], dens.data, num_dims) if dens.loss is None else None
        if bpd is not None:
            metrics["bits_per_dim"] = bpd
        new = {"step": state["step"] + 1, "params": params, "opt": opt}
        if ema_decay > 0:
            new["ema"] = updates.ema_update(state["ema"], params, ema_decay)
        return new, metrics

    jit_step = compilation.jit(accelerator.stacking(train_step, micro), donate_state=True,
                               out_shardings=(replicated, replicated))

    def step(state, next_batch, rng, step_index):
        del step_index
        return jit_step(state, accelerator.batches(next_batch, micro), rng)

    def pure_step(state, batches, rng):
        return train_step(state, jax.tree.map(lambda x: x[0], batches) if micro == 1 else batches, rng)

    def losses(params, state, batch, rng):
        """{"nll_nats": the training loss (mean negative log-likelihood or -ELBO, nats) of `batch`}, or {"loss"}
        for a Density with its own training loss."""
        del state
        k_data, k_model = jax.random.split(rng)
        x = lik.to_data_space(batch["image"], dens.data, k_data)
        return {loss_name: loss_fn(params, x, k_model, labels_of(batch))[0]}

    @compilation.jit
    def eval_nll(params, images, labels, index, rng):
        nll, _ = dens.nll(params, lik.eval_data_space(images, dens.data, index), rng, labels)
        return jnp.sum(nll)

    @compilation.jit(static_argnums=5)
    def eval_iwae(params, images, labels, index, rng, k):
        x = lik.eval_data_space(images, dens.data, index)
        return -jnp.sum(dens.log_likelihood(params, x, rng, labels, num_samples=k))

    split = config.eval.split
    eval_batches = []

    def evaluate(state, rng):
        """Mean NLL (or bounds) per image over the whole eval split; see the module docstring."""
        if not eval_batches:  # read once, on first use
            eval_batches.extend(data_lib.eval_batches(config.data, split, config.eval.batch_size))
        sums, count = {}, 0
        for i, batch in enumerate(eval_batches):
            key = jax.random.fold_in(rng, i)
            labels = labels_of(batch)
            parts = {"nll": eval_nll(eval_params(state), batch["image"], labels, i, key)}
            for k in config.eval.iwae_samples:
                parts[f"iwae{k}"] = eval_iwae(eval_params(state), batch["image"], labels, i, key, int(k))
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + float(value)
            count += len(batch["image"])
        name = split.split("[")[0]
        first = "nll" if dens.exact else dens.bound if dens.is_density else "reconstruction"
        out = lik.report(f"{name}_{first}", sums.pop("nll") / count, dens.data, num_dims)
        for key, total in sums.items():
            out.update(lik.report(f"{name}_{key}", total / count, dens.data, num_dims))
        return out

    @compilation.jit(static_argnums=2)
    def _generate(params, rng, n, labels):
        return lik.to_images(dens.sample(params, rng, n, labels), dens.data)

    def generate(state, rng, n, labels=None):
        return _generate(eval_params(state), rng, n, None if labels is None else jnp.asarray(labels, jnp.int32))

    return loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=generate,
                     num_classes=num_classes if conditional else None, evaluate=evaluate, pure_step=pure_step,
                     batches_per_step=micro, losses=losses, modules={} if dens.module is None else {"model": dens.module})


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the likelihood model of `config` in `workdir` (resuming if it holds checkpoints); returns the state."""
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
