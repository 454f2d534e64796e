"""Probabilistic PCA (Tipping & Bishop 1999, 50 components, closed form) on the bundled MNIST digits (mnist5k).

    jaxgen train --config ppca_mnist --workdir runs/ppca_mnist
    jaxgen train --config ppca_mnist:tiny --workdir /tmp/ppca_tiny    # seconds; for tests

One step fits the Gaussian N(μ, W W^T + σ² I) to the 4,000 training images dequantised to [0, 1)^784; the
test split's bits/dim (an upper bound on the 8-bit data's) is logged at the end.
"""

from jaxgen.defaults import classical


def get_config(arg=None):
    return classical.default_config("pca", "mnist5k", arg)
