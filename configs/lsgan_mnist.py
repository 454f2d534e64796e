"""LSGAN: Mao et al. 2017 (least squares, 0-1 coding).

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/lsgan_mnist.py --workdir runs/lsgan
    jaxgen train --config configs/lsgan_mnist.py:tiny --workdir /tmp/lsgan_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("lsgan", arg)
