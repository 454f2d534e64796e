"""DRAGAN: Kodali et al. 2017 (NS loss + gradient penalty around the real data, lambda = 10).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config dragan_mnist --workdir runs/dragan
    jaxgen train --config dragan_mnist:tiny --workdir /tmp/dragan_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("dragan", arg)
