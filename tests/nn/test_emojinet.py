"""EmojiNet, the emoji feature network: shapes, no batch statistics, and its config keys."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgen.defaults import classifier as classifier_defaults
from jaxgen.errors import ConfigError
from jaxgen.nn.emojinet import EmojiNet
from jaxgen.trainers import classifier


def test_shapes_of_the_default_network_on_64x64_emoji():
    x = jax.ShapeDtypeStruct((2, 64, 64, 3), jnp.float32)
    variables = jax.eval_shape(EmojiNet().init, jax.random.key(0), x)
    assert set(variables) == {"params"}  # GroupNorm: no batch statistics to carry
    out = jax.eval_shape(EmojiNet().apply, variables, x)
    assert out["pool"].shape == (2, 256) and out["logits"].shape == (2, 9)
    kernels = [v["kernel"].shape for k, v in variables["params"].items() if k.startswith("Conv")]
    assert [k[-1] for k in kernels] == [32, 64, 128, 256]


def test_a_feature_depends_on_its_own_image_only():
    net = EmojiNet(widths=(4, 8), hidden=6, groups=2)
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 3)), jnp.float32)
    params = net.init(jax.random.key(0), x)["params"]
    both, alone = net.apply({"params": params}, x), net.apply({"params": params}, x[:1])
    assert both["pool"].shape == (3, 6)
    np.testing.assert_allclose(both["pool"][:1], alone["pool"], rtol=1e-5, atol=1e-6)


def test_network_names_and_fields_are_checked():
    config = classifier_defaults.emoji_config("tiny")
    assert isinstance(classifier.network(config, 9), EmojiNet)
    for model, message in ((dict(name="resnet"), r"'model.name' of a classifier must be one of lenet, emojinet, "
                                                   r"got 'resnet'"),
                           (dict(name="emojinet", depth=3), r"config keys model.depth are not fields of emojinet")):
        config.model = ml_collections.ConfigDict(model)
        with pytest.raises(ConfigError, match=message):
            classifier.network(config, 9)
