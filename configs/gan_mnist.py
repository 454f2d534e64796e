"""The fully-connected GAN of Goodfellow et al. 2014 on the bundled MNIST digits.

G: 100-d uniform noise -> 1200 ReLU -> 1200 ReLU -> 784 (tanh); D: two maxout layers (240 units × 5
pieces) with dropout -> logit. Algorithm 1 with k = d_steps discriminator updates per generator update.

    jaxgen train --config configs/gan_mnist.py --workdir runs/gan
    jaxgen train --config configs/gan_mnist.py:tiny --workdir /tmp/gan_tiny    # seconds; for tests
"""

from jaxgen import config as config_lib
from jaxgen.trainers import gan


def get_config(arg=None):
    config = gan.default_config("gan_mlp")
    config.num_steps = 10000
    config.batch_size = 100
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.g_hidden = (32, 32)
        config.model.d_units = (16, 16)
        config.model.z_dim = 8
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
