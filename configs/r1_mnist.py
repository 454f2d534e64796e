"""NS GAN + zero-centred R1 penalty on real data: Mescheder et al. 2018 (gamma = 10, no BatchNorm in D).

A row of the loss zoo on DCGAN-MNIST; every row shares `jaxgen.defaults.gan.zoo_config`.

    jaxgen train --config r1_mnist --workdir runs/r1
    jaxgen train --config r1_mnist:tiny --workdir /tmp/r1_tiny    # seconds; for tests
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("r1", arg)
