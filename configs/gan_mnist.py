"""The fully-connected GAN of Goodfellow et al. 2014 on the bundled MNIST digits.

G: 100-d Gaussian noise (as the paper's released code draws it) -> 1200 ReLU -> 1200 ReLU -> 784 (tanh,
for data in [-1, 1]); D: two maxout layers (240 units × 5 pieces) with dropout -> logit. Algorithm 1 with
k = n_critic discriminator updates per generator update. Optimiser: Adam (2e-4, beta1 0.5) for both nets,
not the paper's SGD with momentum (try it with --config.optimizer.d.name=sgd
--config.optimizer.d.learning_rate=0.1 --config.optimizer.d.momentum=0.5, and the same for optimizer.g).

    jaxgen train --config gan_mnist --workdir runs/gan
    jaxgen train --config gan_mnist:tiny --workdir /tmp/gan_tiny    # seconds; for tests
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


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
