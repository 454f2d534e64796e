"""Hinge GAN: Lim & Ye 2017; Miyato et al. 2018.

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/hinge_mnist.py --workdir runs/hinge
    jaxgen train --config configs/hinge_mnist.py:tiny --workdir /tmp/hinge_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("hinge", arg)
