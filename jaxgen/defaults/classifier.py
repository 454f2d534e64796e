"""Configs of the classifier trainer (`jaxgen.trainers.classifier`): LeNet on digits, EmojiNet on emoji."""

from __future__ import annotations

import ml_collections

from jaxgen import config as config_lib
from jaxgen.defaults import optimizers


def _config(dataset: str, arg, model: dict, tiny_model: dict, num_steps: int, batch_size: int, eval_every: int):
    """The classifier keys: Adam 1e-3, no class weights, the test split evaluated every `eval_every` steps."""
    config = config_lib.experiment_config("classifier", num_steps=num_steps, batch_size=batch_size, log_every=100,
                                          sample_every=num_steps,  # unused: a classifier draws no samples
                                          checkpoint_every=num_steps, dataset=dataset)
    config.eval = ml_collections.ConfigDict(dict(
        every=eval_every, split="test",
        best_metric=""))  # e.g. "test_accuracy" keeps checkpoints_best/ (selecting on test is optimistic)
    config.augment_shift = 2  # random translation of up to this many pixels (0 = off)
    config.augment_fill = -1.0  # the background the translation fills in (-1 black, 1 white)
    config.class_weights = "none"  # or "balanced": loss weights inverse to the training split's class counts
    config.model = ml_collections.ConfigDict(model)
    config.optimizer = optimizers.adam(1e-3, 0.9, 0.999)
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.eval.every = 2
        config.model.update(tiny_model)
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config


def default_config(dataset: str = "mnist5k", arg=None) -> ml_collections.ConfigDict:
    """LeNet on a bundled digit dataset's train split: Adam 1e-3, batch 64, 1,000 steps, shifts of 2 pixels
    (>= 97 % test accuracy on mnist5k and digits from step 800 on; docs/evaluation.md)."""
    return _config(dataset, arg, dict(name="lenet", widths=(32, 64), hidden=128, dropout=0.5),
                   dict(widths=(4, 8), hidden=16), num_steps=1000, batch_size=64, eval_every=500)


def emoji_config(arg=None) -> ml_collections.ConfigDict:
    """EmojiNet on emoji_pairs' train split, both vendors' image of every codepoint (`data.pair`): batches of
    32 codepoints = 64 images, random flips and shifts of up to 4 pixels on white, balanced class weights
    (people_body, skin tones included, is 60 % of the images), 600 steps (5.5 epochs), the test
    split evaluated every 100 (docs/evaluation.md, "Emoji features"). `:tiny`: 16x16 images, widths 4-8, 4 steps."""
    config = _config("emoji_pairs", arg, dict(name="emojinet", widths=(32, 64, 128, 256), hidden=256, groups=8,
                                              dropout=0.3),
                     dict(widths=(4, 8, 8, 8), hidden=8, groups=2), num_steps=600, batch_size=32,
                     eval_every=100)  # 608 test images: about a second each time
    config.data.pair = True  # a (Twemoji) and b (OpenMoji): two training images per label
    config.data.flip = True
    config.augment_shift, config.augment_fill = 4, 1.0
    config.class_weights = "balanced"
    if arg == "tiny":
        config.data.image_size = 16
    return config
