"""The minimax GAN (MM GAN): Goodfellow et al. 2014, the saturating generator loss.

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config mm_mnist --workdir runs/mm
    jaxgen train --config mm_mnist:tiny --workdir /tmp/mm_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("mm", arg)
