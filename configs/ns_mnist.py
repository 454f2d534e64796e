"""The non-saturating GAN (NS GAN): Goodfellow et al. 2014, section 3.

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/ns_mnist.py --workdir runs/ns
    jaxgen train --config configs/ns_mnist.py:tiny --workdir /tmp/ns_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("ns", arg)
