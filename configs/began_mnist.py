"""BEGAN: Berthelot et al. 2017 (autoencoder discriminator, k_t control with gamma = 0.5; M_global logged).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config began_mnist --workdir runs/began
    jaxgen train --config began_mnist:tiny --workdir /tmp/began_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("began", arg)
