"""The minimax GAN (MM GAN): Goodfellow et al. 2014, the saturating generator loss.

A row of the loss zoo on DCGAN-MNIST; every row shares configs/gan_zoo_base.py.

    jaxgen train --config configs/mm_mnist.py --workdir runs/mm
    jaxgen train --config configs/mm_mnist.py:tiny --workdir /tmp/mm_tiny    # seconds; for tests
"""

from gan_zoo_base import zoo_config


def get_config(arg=None):
    return zoo_config("mm", arg)
