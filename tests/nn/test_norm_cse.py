"""jaxgen's InstanceNorm and BatchNorm let XLA merge a fused step's repeated generator pass into its differentiated
pass (the reason they exist beside flax's: jaxgen/nn/groupnorm.py, jaxgen/nn/batchnorm.py)."""

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn import BatchNorm, InstanceNorm

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
