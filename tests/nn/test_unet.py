"""The U-Net generator (jaxgen.nn.unet): the paper's layout at 256 px, depth from the image size, skip wiring, and
dropout as noise in sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.errors import ConfigError
from jaxgen.nn import unet


def _kernels(module, shape):
    variables = jax.eval_shape(lambda: module.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                                                   jnp.zeros(shape), train=False))
    return {name: p["kernel"].shape for name, p in variables["params"].items() if "kernel" in p}


def test_the_papers_layout_at_256_pixels():
    """Encoder C64-C128-C256-C512-C512-C512-C512-C512; decoder inputs (the concatenations) 512, 1024, 1024, 1024,
    1024, 512, 256, 128 (Isola et al. 2017, Appendix 6.1.1), out to 3 channels."""
    kernels = _kernels(unet.UNet(out_channels=3, depth=unet.depth_for(256)), (1, 256, 256, 3))
    assert [kernels[f"down{i}"][-1] for i in range(8)] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [kernels[f"up{j}"][2] for j in range(8)] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
    assert [kernels[f"up{j}"][3] for j in range(8)] == [512, 512, 512, 512, 256, 128, 64, 3]


def test_depth_from_the_image_size():
    assert [unet.depth_for(s) for s in (16, 64, 256)] == [4, 6, 8]
    with pytest.raises(ConfigError, match="power of two"):
        unet.depth_for(48)


@pytest.fixture(scope="module")
def small():
    module = unet.UNet(out_channels=2, depth=3, width=4)
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 1))
    variables = jax.jit(lambda: module.init({"params": jax.random.key(1), "dropout": jax.random.key(2)}, x,
                                            train=False))()
    return module, variables, x


def test_shapes_and_range(small):
    module, variables, x = small
    out, _ = module.apply(variables, x, train=True, rngs={"dropout": jax.random.key(3)}, mutable=["batch_stats"])
    assert out.shape == (2, 8, 8, 2) and out.dtype == jnp.float32 and float(jnp.max(jnp.abs(out))) <= 1.0


def test_the_outermost_skip_carries_the_input_when_the_encoder_is_cut(small):
    """With the encoder cut after its first block (block 1's weights zeroed: every deeper feature is 0), only the
    outermost skip reaches the output: an output pixel still depends on the input, and only on the input near it
    (first block and last decoder block: 4x4 at stride 2 each), where the whole network reaches every pixel."""
    module, variables, x = small
    params = dict(variables["params"])
    params["down1"] = jax.tree.map(jnp.zeros_like, params["down1"])
    cut = {**variables, "params": params}

    def pixel(image):
        out = module.apply(cut, image, train=False, rngs={"dropout": jax.random.key(3)})
        return out[0, 1, 1, 0]

    grad = np.asarray(jax.jit(jax.grad(pixel))(x))[0, ..., 0]
    assert np.abs(grad).max() > 0
    assert np.all(grad[5:, :] == 0) and np.all(grad[:, 5:] == 0)  # 2 layers of 4x4, stride 2: a local window
    full = np.asarray(jax.jit(jax.grad(lambda i: module.apply(variables, i, train=False,
                                                              rngs={"dropout": jax.random.key(3)})[0, 1, 1, 0]))(x))
    full = full[0, ..., 0]
    assert np.all(full != 0)  # through the 1x1 bottleneck every input pixel reaches every output pixel


def test_dropout_is_noise_in_sampling_too(small):
    module, variables, x = small

    def sample(key, net=module):
        return np.asarray(net.apply(variables, x, train=False, rngs={"dropout": jax.random.key(key)}))

    assert np.array_equal(sample(0), sample(0)) and not np.allclose(sample(0), sample(1))
    plain = unet.UNet(out_channels=2, depth=3, width=4, dropout=0.0)
    assert np.array_equal(sample(0, plain), sample(1, plain))
