"""WGAN: Arjovsky et al. 2017 (weight clipping c = 0.01, RMSProp 5e-5, n_critic = 5).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config wgan_mnist --workdir runs/wgan
    jaxgen train --config wgan_mnist:tiny --workdir /tmp/wgan_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("wgan", arg)
