"""jaxgen.nn.BatchNorm against flax.linen.BatchNorm (same collections, values, gradients, running averages) and
torch.nn.BatchNorm2d."""

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxgen.nn import BatchNorm


def _inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(size=shape) * rng.uniform(0.5, 3, shape[-1]) + rng.normal(size=shape[-1]) * 2,
                       jnp.float32)


def _variables(c, seed=1):
    rng = np.random.default_rng(seed)
    return {"params": {"scale": jnp.asarray(rng.uniform(0.5, 1.5, c), jnp.float32),
                       "bias": jnp.asarray(rng.normal(size=c), jnp.float32)},
            "batch_stats": {"mean": jnp.asarray(rng.normal(size=c), jnp.float32),
                            "var": jnp.asarray(rng.uniform(0.5, 2, c), jnp.float32)}}


@pytest.mark.parametrize("shape", [(6, 5, 4, 8), (16, 12), (3, 2, 3, 4, 5)])
def test_training_values_gradients_and_running_averages_equal_flax(shape):
    x, variables = _inputs(shape), _variables(shape[-1])
    ours, theirs = (BatchNorm(momentum=0.9, epsilon=1e-5),
                    fnn.BatchNorm(use_running_average=False, momentum=0.9, epsilon=1e-5))
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(0), x)) == \
        jax.tree.map(jnp.shape, theirs.init(jax.random.key(0), x))  # same collections: checkpoints carry over
    (y1, s1), (y2, s2) = (m.apply(variables, x, mutable=["batch_stats"]) for m in (ours, theirs))
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    w = jnp.asarray(np.random.default_rng(2).normal(size=shape), jnp.float32)

    def loss(module):
        return lambda p, x: jnp.sum(jnp.tanh(module.apply({**variables, "params": p}, x,
                                                          mutable=["batch_stats"])[0]) * w)

    for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(variables["params"], x)),
                    jax.tree.leaves(jax.grad(loss(theirs), argnums=(0, 1))(variables["params"], x))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_running_average_mode_and_init_equal_flax():
    x, variables = _inputs((4, 3, 3, 6)), _variables(6)
    np.testing.assert_allclose(BatchNorm(use_running_average=True).apply(variables, x),
                               fnn.BatchNorm(use_running_average=True).apply(variables, x), rtol=1e-5, atol=1e-5)
    init = BatchNorm(momentum=0.5).init(jax.random.key(0), x)  # init does not move the running averages
    np.testing.assert_array_equal(init["batch_stats"]["mean"], 0)
    np.testing.assert_array_equal(init["batch_stats"]["var"], 1)


def test_equals_torch_batch_norm_2d_in_training():
    x, variables = _inputs((6, 5, 4, 8)), _variables(8)
    ref = torch.nn.BatchNorm2d(8, eps=1e-5, momentum=0.1)  # torch's momentum = 1 - flax's
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(np.asarray(variables["params"]["scale"])))
        ref.bias.copy_(torch.tensor(np.asarray(variables["params"]["bias"])))
        ref.running_mean.copy_(torch.tensor(np.asarray(variables["batch_stats"]["mean"])))
        expected = ref(torch.tensor(np.asarray(x)).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    y, stats = BatchNorm(momentum=0.9).apply(variables, x, mutable=["batch_stats"])
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats["batch_stats"]["mean"], ref.running_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_bfloat16_computes_statistics_in_float32_and_returns_bfloat16():
    x = _inputs((8, 4, 4, 8)) * 50 + 300  # a large mean: E[x^2] - E[x]^2 in bfloat16 would cancel to nothing
    variables = _variables(8)
    out, _ = BatchNorm(dtype=jnp.bfloat16).apply(variables, x.astype(jnp.bfloat16), mutable=["batch_stats"])
    assert out.dtype == jnp.bfloat16
    reference, _ = fnn.BatchNorm(use_running_average=False).apply(
        variables, x.astype(jnp.bfloat16).astype(jnp.float32), mutable=["batch_stats"])
    np.testing.assert_allclose(np.asarray(out, np.float32), reference, rtol=0.02, atol=0.05)
