"""DCGAN (Radford et al. 2015) on the bundled MNIST digits (mnist5k, 4,000 training images, 28×28).

    jaxgen train --config configs/dcgan_mnist.py --workdir runs/dcgan
    jaxgen train --config configs/dcgan_mnist.py:tiny --workdir /tmp/dcgan_tiny    # seconds; for tests

The default run is the README's main job: about ten minutes on a 2-core CPU.
"""

from jaxgen import config as config_lib
from jaxgen.trainers import gan


def get_config(arg=None):
    config = gan.default_config("dcgan")
    config.num_steps = 3000
    config.batch_size = 64
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.width = 8
        config.model.z_dim = 8
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
