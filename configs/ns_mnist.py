"""The non-saturating GAN (NS GAN): Goodfellow et al. 2014, section 3.

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config ns_mnist --workdir runs/ns
    jaxgen train --config ns_mnist:tiny --workdir /tmp/ns_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("ns", arg)
