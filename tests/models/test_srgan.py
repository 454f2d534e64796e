"""SRResNet and the SRGAN discriminator (jaxgen.models.srgan): shapes of tiny variants, PixelShuffle against PyTorch."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
import torch

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import srgan


def _cfg(**keys):
    cfg = model_defaults.srgan()
    cfg.update(dict(blocks=2, width=8, d_width=4, d_dense=16, **keys))
    return ml_collections.ConfigDict(cfg)


@pytest.mark.parametrize("r", [2, 3])
def test_pixel_shuffle_is_torch_pixel_shuffle(r):
    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3 * r * r)).astype(np.float32)  # NHWC
    expected = torch.nn.PixelShuffle(r)(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(srgan.pixel_shuffle(jnp.asarray(x), r), expected)


def test_srresnet_upsamples_x4_and_d_gives_one_logit():  # shapes by jax.eval_shape: nothing compiles
    g = srgan.generator(_cfg(), (32, 32, 3))
    lr = jax.ShapeDtypeStruct((2, 8, 8, 3), jnp.float32)
    variables = jax.eval_shape(lambda x: g.init(jax.random.key(1), x, train=False), lr)
    sr, state = jax.eval_shape(lambda v, x: g.apply(v, x, train=True, mutable=["batch_stats"]), variables, lr)
    assert sr.shape == (2, 32, 32, 3) and sr.dtype == jnp.float32 and "batch_stats" in state
    params = variables["params"]
    assert sorted(k for k in params if k.startswith("up")) == ["up0", "up0_prelu", "up1", "up1_prelu"]  # 2 x PixelShuffle 2
    assert params["up0"]["kernel"].shape == (3, 3, 8, 32) and params["head"]["kernel"].shape == (9, 9, 3, 8)
    assert params["out"]["kernel"].shape == (9, 9, 8, 3) and params["head_prelu"]["negative_slope"].shape == ()
    assert len([k for k in params if k.startswith("res") and k.endswith("conv1")]) == 2  # model.blocks
    d = srgan.discriminator(_cfg(), (32, 32, 3))
    d_vars = jax.eval_shape(lambda x: d.init(jax.random.key(2), x, train=False), sr)
    assert jax.eval_shape(lambda v, x: d.apply(v, x, train=False), d_vars, sr).shape == (2,)
    widths = [d_vars["params"][f"conv{i}"]["kernel"].shape[-1] for i in range(8)]
    assert widths == [4, 4, 8, 8, 16, 16, 32, 32]  # d_width x (1, 1, 2, 2, 4, 4, 8, 8): 64 -> 512 at the paper's 64
    assert d_vars["params"]["dense"]["kernel"].shape == (2 * 2 * 32, 16)  # 32 px / 2^4 strided convs = 2
    assert "bn0" not in d_vars["batch_stats"] and "bn7" in d_vars["batch_stats"]  # BN after all but the first conv


def test_bad_scale_and_sizes_are_config_errors():
    assert [srgan.upsamplings(s) for s in (2, 4, 8)] == [1, 2, 3]
    with pytest.raises(ConfigError, match="model.scale.*power of 2"):
        srgan.generator(_cfg(scale=3), (24, 24, 3))
    d = srgan.discriminator(_cfg(), (24, 24, 3))
    with pytest.raises(ConfigError, match="divisible by 16"):
        jax.eval_shape(lambda x: d.init(jax.random.key(0), x, train=False), jnp.zeros((1, 24, 24, 3)))
