"""WGAN-GP: Gulrajani et al. 2017 (two-sided penalty on interpolates, lambda = 10, n_critic = 5, no BatchNorm in D).

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/wgan_gp_mnist.py --workdir runs/wgan_gp
    jaxgen train --config configs/wgan_gp_mnist.py:tiny --workdir /tmp/wgan_gp_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("wgan_gp", arg)
