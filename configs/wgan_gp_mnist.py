"""WGAN-GP: Gulrajani et al. 2017 (two-sided penalty on interpolates, lambda = 10, n_critic = 5, no BatchNorm in D).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config wgan_gp_mnist --workdir runs/wgan_gp
    jaxgen train --config wgan_gp_mnist:tiny --workdir /tmp/wgan_gp_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("wgan_gp", arg)
