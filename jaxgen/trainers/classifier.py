"""Supervised classification: the domain feature networks (LeNet) that jaxgen's metrics use on digit data.

One step is an Adam update on the softmax cross-entropy of a batch, after a random translation of every
image by up to ``augment_shift`` pixels (zero-padded with the background value -1, then cropped back).
``task.evaluate`` reports the accuracy and loss on the whole ``eval.split`` (default "test"), every
``eval.every`` steps and at the end. No sample grids (``generate`` is None).

State pytree: ``{"step": int32[], "params": …, "opt": …}``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxgen import config as config_lib
from jaxgen import data as data_lib
from jaxgen.engine import compilation, loop, optimizers, sharding, updates
from jaxgen.errors import ConfigError
from jaxgen.nn.lenet import LeNet


def default_config(dataset: str = "mnist5k", arg=None) -> ml_collections.ConfigDict:
    """LeNet on a bundled digit dataset's train split: Adam 1e-3, batch 64, 1,000 steps, shifts of 2 pixels
    (>= 97 % test accuracy on mnist5k and digits from step 800 on; docs/evaluation.md)."""
    config = config_lib.experiment_config("classifier", num_steps=1000, batch_size=64, log_every=100,
                                          sample_every=1000,  # unused: a classifier draws no samples
                                          checkpoint_every=1000, dataset=dataset)
    config.eval = ml_collections.ConfigDict(dict(
        every=500, split="test",
        best_metric=""))  # e.g. "test_accuracy" keeps checkpoints_best/ (selecting on test is optimistic)
    config.augment_shift = 2  # random translation of up to this many pixels (0 = off)
    config.model = ml_collections.ConfigDict(dict(name="lenet", widths=(32, 64), hidden=128, dropout=0.5))
    config.optimizer = optimizers.adam_config(1e-3, 0.9, 0.999)
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.eval.every = 2
        config.model.widths = (4, 8)
        config.model.hidden = 16
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config


def network(config, num_classes: int) -> LeNet:
    m = config.model
    if m.name != "lenet":
        raise ConfigError(f"config key 'model.name' of a classifier must be 'lenet', got {m.name!r}")
    return LeNet(num_classes=num_classes, widths=tuple(m.widths), hidden=m.hidden, dropout=m.dropout)


def shift_images(rng, images, max_shift: int):
    """Each image [N, H, W, C] translated by its own random (dy, dx) in [-max_shift, max_shift], filled with -1."""
    if max_shift == 0:
        return images
    n, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)), constant_values=-1.0)
    offsets = jax.random.randint(rng, (n, 2), 0, 2 * max_shift + 1)
    crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, img.shape[-1]))  # noqa: E731
    return jax.vmap(crop)(padded, offsets)


def load_split(data_cfg, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Every example of `split`: (images float32 [N, H, W, C] in [-1, 1], labels int32 [N]) on the host."""
    examples = data_lib.read_split(data_cfg, split)
    return examples["image"], examples["label"]


def create_task(config, info: dict, mesh) -> loop.Task:
    """The classifier regime of `config` for labelled images of `info["image_shape"]`."""
    if info.get("num_classes") is None:
        raise ConfigError(f"dataset {config.data.name!r} has no class labels; a classifier needs a ClassLabel 'label'")
    if config.augment_shift < 0:
        raise ConfigError(f"config key 'augment_shift' must be >= 0, got {config.augment_shift}")
    net = network(config, info["num_classes"])
    tx = optimizers.make(config.optimizer, "optimizer")
    replicated = sharding.replicated(mesh)
    image_shape = tuple(info["image_shape"])

    def init(rng):
        params = net.init(rng, jnp.zeros((1, *image_shape)))["params"]
        return {"step": jnp.zeros((), jnp.int32), "params": params, "opt": tx.init(params)}

    def loss_fn(params, images, labels, rng):
        logits = net.apply({"params": params}, images, train=True, rngs={"dropout": rng})["logits"]
        loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
        return loss, jnp.mean(jnp.argmax(logits, -1) == labels)

    @compilation.jit(donate_state=True, out_shardings=(replicated, replicated))
    def train_step(state, batch, rng):
        k_shift, k_drop = jax.random.split(rng)
        images = shift_images(k_shift, batch["image"], config.augment_shift)
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"], images, batch["label"], k_drop)
        params, opt = updates.apply_optimizer(tx, grads, state["opt"], state["params"], state["step"])
        return {"step": state["step"] + 1, "params": params, "opt": opt}, {"loss": loss, "accuracy": acc}

    def step(state, next_batch, rng, step_index):
        del step_index
        return train_step(state, next_batch(), rng)

    @compilation.jit
    def _eval_batch(params, images, labels):
        logits = net.apply({"params": params}, images)["logits"]
        return (jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits, labels)),
                jnp.sum(jnp.argmax(logits, -1) == labels))

    split = config.eval.split
    eval_data = {}

    def evaluate(state, rng=None):
        """`{"<split>_accuracy", "<split>_loss"}` over the whole eval split."""
        del rng
        if not eval_data:  # read once, on first use
            eval_data["images"], eval_data["labels"] = load_split(config.data, split)
        images, labels = eval_data["images"], eval_data["labels"]
        totals = [_eval_batch(state["params"], images[i:i + 500], labels[i:i + 500]) for i in range(0, len(images), 500)]
        loss, correct = (sum(float(t[j]) for t in totals) for j in (0, 1))
        name = split.split("[")[0]
        return {f"{name}_accuracy": correct / len(images), f"{name}_loss": loss / len(images)}

    return loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=None,
                     num_classes=info["num_classes"], evaluate=evaluate)


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the classifier of `config` in `workdir` (resuming if it holds checkpoints); returns the state."""
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
