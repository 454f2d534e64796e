"""LSGAN: Mao et al. 2017 (least squares, 0-1 coding).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config lsgan_mnist --workdir runs/lsgan
    jaxgen train --config lsgan_mnist:tiny --workdir /tmp/lsgan_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("lsgan", arg)
