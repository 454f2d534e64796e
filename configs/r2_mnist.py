"""NS GAN + zero-centred R2 penalty on generated data: Mescheder et al. 2018 (gamma = 10, no BatchNorm in D).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config r2_mnist --workdir runs/r2
    jaxgen train --config r2_mnist:tiny --workdir /tmp/r2_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("r2", arg)
