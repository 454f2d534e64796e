"""Supervised classification: the domain feature networks (LeNet, EmojiNet) that jaxgen's metrics use.

One step is an Adam update on the softmax cross-entropy of a batch, after a random translation of every
image by up to ``augment_shift`` pixels (padded with the background value ``augment_fill``, -1 = black for
digits, 1 = white for emoji, then cropped back). With ``data.pair`` (e.g. ``emoji_pairs``) both images of an
example, ``a`` and ``b``, are training images with its label. ``class_weights="balanced"`` weights each
example's loss by ``N / (K n_class)`` of the training split (sklearn's "balanced"), for imbalanced classes.
``task.evaluate`` reports the accuracy, the balanced accuracy (mean of the per-class recalls) and the loss on
the whole ``eval.split`` (default "test"), every ``eval.every`` steps and at the end; with ``data.pair`` over
both images and per image (``test_a_accuracy`` …). No sample grids (``generate`` is None).

State pytree: ``{"step": int32[], "params": …, "opt": …}``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgen import data as data_lib
from jaxgen.engine import compilation, loop, optimizers, sharding, updates
from jaxgen.errors import ConfigError
from jaxgen.nn.emojinet import EmojiNet
from jaxgen.nn.lenet import LeNet

NETWORKS = {"lenet": LeNet, "emojinet": EmojiNet}  # config.model.name -> module; other model keys are its fields
CLASS_WEIGHTS = ("none", "balanced")


def network(config, num_classes: int) -> LeNet | EmojiNet:
    """`NETWORKS[config.model.name]` with the other keys of `config.model` as its fields."""
    m = config.model.to_dict()
    cls = NETWORKS.get(m.pop("name"))
    if cls is None:
        raise ConfigError(f"config key 'model.name' of a classifier must be one of {', '.join(NETWORKS)}, "
                          f"got {config.model.name!r}")
    fields = {f.name for f in dataclasses.fields(cls)} - {"num_classes", "parent", "name"}
    if set(m) - fields:
        raise ConfigError(f"config keys {', '.join(f'model.{k}' for k in sorted(set(m) - fields))} are not fields "
                          f"of {config.model.name}; it takes model.{', model.'.join(sorted(fields))}")
    return cls(num_classes=num_classes, **{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()})


def image_keys(data_cfg) -> tuple[str, ...]:
    """The batch keys of the training images: ("a", "b") with data.pair, else ("image",)."""
    return ("a", "b") if data_cfg.get("pair") else ("image",)


def shift_images(rng, images, max_shift: int, fill: float = -1.0):
    """Each image [N, H, W, C] translated by its own random (dy, dx) in [-max_shift, max_shift], filled with `fill`."""
    if max_shift == 0:
        return images
    n, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)), constant_values=fill)
    offsets = jax.random.randint(rng, (n, 2), 0, 2 * max_shift + 1)
    crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, img.shape[-1]))  # noqa: E731
    return jax.vmap(crop)(padded, offsets)


def load_split(data_cfg, split: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every example of `split`: ({key: images float32 [N, H, W, C] in [-1, 1]} for `image_keys`, labels int32 [N])."""
    examples = data_lib.read_split(data_cfg, split)
    return {k: examples[k] for k in image_keys(data_cfg)}, examples["label"]


def _weighting(config) -> str:
    if config.class_weights not in CLASS_WEIGHTS:
        raise ConfigError(f"config key 'class_weights' must be one of {', '.join(CLASS_WEIGHTS)}, "
                          f"got {config.class_weights!r}")
    return config.class_weights


def class_weights(config, num_classes: int) -> np.ndarray:
    """float32 [K]: ones, or with `class_weights="balanced"` N / (K n_k) over the labels of `data.split`."""
    if _weighting(config) == "none":
        return np.ones(num_classes, np.float32)
    source = data_lib.open_source(config.data.name, config.data.split, config.data.get("data_dir"))
    counts = np.bincount([int(source[i]["label"]) for i in range(len(source))], minlength=num_classes)
    return (counts.sum() / (num_classes * np.maximum(counts, 1))).astype(np.float32)


def create_task(config, info: dict, mesh) -> loop.Task:
    """The classifier regime of `config` for labelled images of `info["image_shape"]`."""
    if info.get("num_classes") is None:
        raise ConfigError(f"dataset {config.data.name!r} has no class labels; a classifier needs a ClassLabel 'label'")
    if config.augment_shift < 0:
        raise ConfigError(f"config key 'augment_shift' must be >= 0, got {config.augment_shift}")
    num_classes = info["num_classes"]
    net = network(config, num_classes)
    tx = optimizers.make(config.optimizer, "optimizer")
    _weighting(config)  # a bad class_weights fails here, before any training
    keys, fill = image_keys(config.data), config.augment_fill
    weights = {}  # the loss weights, read from the training split by the first step (restoring needs no data)
    replicated = sharding.replicated(mesh)
    image_shape = tuple(info["image_shape"])

    def init(rng):
        params = net.init(rng, jnp.zeros((1, *image_shape)))["params"]
        return {"step": jnp.zeros((), jnp.int32), "params": params, "opt": tx.init(params)}

    def loss_fn(params, images, labels, rng, class_weight):
        logits = net.apply({"params": params}, images, train=True, rngs={"dropout": rng})["logits"]
        w = class_weight[labels]
        loss = jnp.sum(w * optax.softmax_cross_entropy_with_integer_labels(logits, labels)) / jnp.sum(w)
        return loss, jnp.mean(jnp.argmax(logits, -1) == labels)

    @compilation.jit(donate_state=True, out_shardings=(replicated, replicated))
    def train_step(state, batch, rng, class_weight):
        k_shift, k_drop = jax.random.split(rng)
        images = shift_images(k_shift, jnp.concatenate([batch[k] for k in keys]), config.augment_shift, fill)
        labels = jnp.tile(batch["label"], len(keys))
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"], images, labels, k_drop,
                                                                       class_weight)
        params, opt = updates.apply_optimizer(tx, grads, state["opt"], state["params"], state["step"])
        return {"step": state["step"] + 1, "params": params, "opt": opt}, {"loss": loss, "accuracy": acc}

    def step(state, next_batch, rng, step_index):
        del step_index
        if not weights:
            weights["class"] = jnp.asarray(class_weights(config, num_classes))
        return train_step(state, next_batch(), rng, weights["class"])

    @compilation.jit
    def _eval_batch(params, images, labels):
        """(summed loss, correct [K], examples [K]) of a batch: per-class counts for the balanced accuracy."""
        logits = net.apply({"params": params}, images)["logits"]
        correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
        return (jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits, labels)),
                jax.ops.segment_sum(correct, labels, num_classes), jnp.bincount(labels, length=num_classes))

    split = config.eval.split
    eval_data = {}

    def scores(prefix: str, params, images, labels) -> dict[str, float]:
        totals = [jax.device_get(_eval_batch(params, images[i:i + 500], labels[i:i + 500]))
                  for i in range(0, len(images), 500)]
        loss, correct, count = (sum(t[j] for t in totals) for j in range(3))
        seen = count > 0
        return {f"{prefix}_accuracy": float(correct.sum() / count.sum()), f"{prefix}_loss": float(loss / count.sum()),
                f"{prefix}_balanced_accuracy": float(np.mean(correct[seen] / count[seen]))}

    def evaluate(state, rng=None):
        """`{"<split>_accuracy", "<split>_balanced_accuracy", "<split>_loss"}` over the whole eval split (every
        image of it); with several image keys also `"<split>_<key>_…"` of each."""
        del rng
        if not eval_data:  # read once, on first use
            eval_data["images"], eval_data["labels"] = load_split(config.data, split)
        images, labels, name = eval_data["images"], eval_data["labels"], split.split("[")[0]
        out = scores(name, state["params"], np.concatenate(list(images.values())), np.tile(labels, len(images)))
        if len(images) > 1:
            for key, imgs in images.items():
                out.update(scores(f"{name}_{key}", state["params"], imgs, labels))
        return out

    return loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=None,
                     num_classes=num_classes, evaluate=evaluate)


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the classifier of `config` in `workdir` (resuming if it holds checkpoints); returns the state."""
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
