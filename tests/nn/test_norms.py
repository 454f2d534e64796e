"""jaxgen.nn's GroupNorm, InstanceNorm and BatchNorm against flax.linen's (same parameters and collections, values,
gradients, running averages) and torch's; and what they exist for beside flax's: a repeated pass merged by XLA."""

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxgen.nn import BatchNorm, GroupNorm, InstanceNorm
from jaxgen.nn.norms import group_stats


def _inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    # an offset and a spread per channel, so that mean and variance both matter
    return jnp.asarray(rng.normal(size=shape) * rng.uniform(0.5, 3, shape[-1]) + rng.normal(size=shape[-1]) * 2,
                       jnp.float32)


def _params(c, seed=1):
    rng = np.random.default_rng(seed)
    return {"scale": jnp.asarray(rng.uniform(0.5, 1.5, c), jnp.float32),
            "bias": jnp.asarray(rng.normal(size=c), jnp.float32)}


def _variables(c, seed=1):
    rng = np.random.default_rng(seed + 1)
    return {"params": _params(c, seed),
            "batch_stats": {"mean": jnp.asarray(rng.normal(size=c), jnp.float32),
                            "var": jnp.asarray(rng.uniform(0.5, 2, c), jnp.float32)}}


@pytest.mark.parametrize("shape,groups", [((3, 6, 5, 8), 4), ((2, 7, 12), 3), ((2, 3, 4, 2, 6), 6), ((4, 9), 1),
                                          ((3, 6, 5, 8), None), ((2, 7, 12), None)])
def test_values_and_gradients_equal_flax(shape, groups):
    """GroupNorm against flax's GroupNorm; `groups` None: InstanceNorm against flax's InstanceNorm."""
    x, params = _inputs(shape), _params(shape[-1])
    ours, theirs = ((GroupNorm(num_groups=groups), fnn.GroupNorm(num_groups=groups)) if groups else
                    (InstanceNorm(epsilon=1e-5), fnn.InstanceNorm(epsilon=1e-5)))
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(0), x)) == \
        jax.tree.map(jnp.shape, theirs.init(jax.random.key(0), x))  # same parameter tree: checkpoints carry over
    w = jnp.asarray(np.random.default_rng(2).normal(size=shape), jnp.float32)

    def loss(module):
        return lambda p, x: jnp.sum(jnp.tanh(module.apply({"params": p}, x)) * w)

    np.testing.assert_allclose(ours.apply({"params": params}, x), theirs.apply({"params": params}, x),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(params, x)),
                    jax.tree.leaves(jax.grad(loss(theirs), argnums=(0, 1))(params, x))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_equals_torch_group_norm_on_nchw():
    x, params = _inputs((2, 5, 7, 12)), _params(12)
    ref = torch.nn.GroupNorm(4, 12, eps=1e-6)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(np.asarray(params["scale"])))
        ref.bias.copy_(torch.tensor(np.asarray(params["bias"])))
        expected = ref(torch.tensor(np.asarray(x)).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(GroupNorm(num_groups=4).apply({"params": params}, x), expected, rtol=1e-5, atol=1e-5)


def test_instance_norm_equals_torch_instance_norm_2d():
    x, params = _inputs((2, 5, 7, 6)), _params(6)
    ref = torch.nn.InstanceNorm2d(6, eps=1e-5, affine=True)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(np.asarray(params["scale"])))
        ref.bias.copy_(torch.tensor(np.asarray(params["bias"])))
        expected = ref(torch.tensor(np.asarray(x)).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(InstanceNorm(epsilon=1e-5).apply({"params": params}, x), expected, rtol=1e-5,
                               atol=1e-5)


def test_group_statistics_against_a_direct_computation():
    x = np.asarray(_inputs((3, 4, 4, 6)), np.float64)
    mean, var = group_stats(jnp.asarray(x, jnp.float32), 3)
    groups = x.reshape(3, 16, 3, 2).transpose(0, 2, 1, 3).reshape(3, 3, 32)
    np.testing.assert_allclose(mean, groups.mean(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, groups.var(-1), rtol=1e-4, atol=1e-6)


def test_bfloat16_computes_statistics_in_float32_and_returns_bfloat16():
    x = _inputs((2, 4, 4, 8)) * 50 + 300  # a large mean: E[x^2] - E[x]^2 in bfloat16 would cancel to nothing
    out = GroupNorm(num_groups=2, dtype=jnp.bfloat16).apply({"params": _params(8)}, x.astype(jnp.bfloat16))
    assert out.dtype == jnp.bfloat16
    reference = fnn.GroupNorm(num_groups=2).apply({"params": _params(8)}, x.astype(jnp.bfloat16).astype(jnp.float32))
    np.testing.assert_allclose(np.asarray(out, np.float32), reference, rtol=0.02, atol=0.05)


def test_without_scale_and_bias_has_no_parameters_and_unit_statistics():
    x = _inputs((2, 3, 3, 4))
    module = GroupNorm(num_groups=2, use_scale=False, use_bias=False)
    assert module.init(jax.random.key(0), x) == {}
    mean, var = group_stats(module.apply({}, x), 2)
    np.testing.assert_allclose(mean, 0, atol=1e-5)
    np.testing.assert_allclose(var, 1, atol=1e-3)


def test_groups_that_do_not_divide_the_channels_are_a_clear_error():
    with pytest.raises(ValueError, match=r"num_groups=4 must divide the channel count 6"):
        GroupNorm(num_groups=4).init(jax.random.key(0), jnp.zeros((1, 2, 2, 6)))


# BatchNorm

@pytest.mark.parametrize("shape", [(6, 5, 4, 8), (16, 12), (3, 2, 3, 4, 5)])
def test_batch_norm_training_values_gradients_and_running_averages_equal_flax(shape):
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


def test_batch_norm_running_average_mode_and_init_equal_flax():
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


def test_batch_norm_in_bfloat16_computes_statistics_in_float32():
    x = _inputs((8, 4, 4, 8)) * 50 + 300  # a large mean: E[x^2] - E[x]^2 in bfloat16 would cancel to nothing
    variables = _variables(8)
    out, _ = BatchNorm(dtype=jnp.bfloat16).apply(variables, x.astype(jnp.bfloat16), mutable=["batch_stats"])
    assert out.dtype == jnp.bfloat16
    reference, _ = fnn.BatchNorm(use_running_average=False).apply(
        variables, x.astype(jnp.bfloat16).astype(jnp.float32), mutable=["batch_stats"])
    np.testing.assert_allclose(np.asarray(out, np.float32), reference, rtol=0.02, atol=0.05)


# merged passes

NORMS = {"instance": lambda: InstanceNorm(epsilon=1e-5), "batch": lambda: BatchNorm(momentum=0.9)}


class Net(fnn.Module):
    """Three conv -> norm -> ReLU layers."""

    norm: str

    @fnn.compact
    def __call__(self, x):
        for i in range(3):
            x = fnn.relu(NORMS[self.norm]()(fnn.Conv(8, (3, 3), name=f"conv{i}")(x)))
        return x


@pytest.mark.parametrize("norm", sorted(NORMS))
def test_a_repeated_pass_is_merged_into_its_differentiated_pass(norm):
    """A fused train step runs G(a) in the D phase and again under jax.grad in the G phase (same parameters, same
    input): XLA must compute it once. The program with both passes has no more convolutions than the gradient alone
    (with flax's InstanceNorm or BatchNorm it has two more: CSE stopped at the first norm)."""
    net = Net(norm)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 8, 8, 8)), jnp.float32)
    variables = net.init(jax.random.key(0), x)
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}

    def forward(p):
        return net.apply({"params": p, **rest}, x, mutable=list(rest))[0]

    def grad(p):
        return jax.grad(lambda p: jnp.mean(forward(p) ** 2))(p)

    def convolutions(fn):
        return jax.jit(fn).lower(params).compile().as_text().count(" convolution(")

    alone = convolutions(grad)
    assert alone == 3 + 3 + 2  # forward, kernel gradients, input gradients (not of the first layer's input)
    assert convolutions(lambda p: (jnp.sum(forward(p)), grad(p))) == alone


@pytest.mark.parametrize("norm", [GroupNorm(num_groups=2), InstanceNorm(), BatchNorm()], ids=["group", "instance", "batch"])
def test_on_the_cpu_the_input_gradient_is_stored_behind_a_barrier(norm):
    """jaxgen.nn.cotangent.stored_cotangent on each norm's input (this suite runs on the CPU backend)."""
    x = _inputs((2, 4, 4, 4))
    variables = norm.init(jax.random.key(0), x)

    def loss(x):
        return jnp.sum(norm.apply(variables, x, mutable=["batch_stats"])[0] ** 2)

    assert "optimization_barrier" in jax.jit(jax.grad(loss)).lower(x).as_text()
