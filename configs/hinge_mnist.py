"""Hinge GAN: Lim & Ye 2017; Miyato et al. 2018.

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config hinge_mnist --workdir runs/hinge
    jaxgen train --config hinge_mnist:tiny --workdir /tmp/hinge_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("hinge", arg)
