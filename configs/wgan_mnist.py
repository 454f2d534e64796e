"""WGAN: Arjovsky et al. 2017 (weight clipping c = 0.01, RMSProp 5e-5, n_critic = 5).

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/wgan_mnist.py --workdir runs/wgan
    jaxgen train --config configs/wgan_mnist.py:tiny --workdir /tmp/wgan_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("wgan", arg)
