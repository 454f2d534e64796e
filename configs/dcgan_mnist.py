"""DCGAN (Radford et al. 2015) on the bundled MNIST digits (mnist5k, 4,000 training images, 28×28).

    jaxgen train --config dcgan_mnist --workdir runs/dcgan
    jaxgen train --config dcgan_mnist:tiny --workdir /tmp/dcgan_tiny    # seconds; for tests

The default run is the README's main job: about six minutes on a 2-core CPU. It is the non-saturating
row of the loss zoo (configs/ns_mnist.py): Adam 2e-4, beta1 0.5, batch 64, 3,000 steps.
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    return gan.zoo_config("ns", arg)
