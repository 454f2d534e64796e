"""A deterministic autoencoder on the bundled MNIST digits: the VAE of configs/vae_mnist.py without the
KL term and the sampling of z (reconstruction loss only; it has no likelihood to report).

    jaxgen train --config ae_mnist --workdir runs/ae_mnist
    jaxgen train --config ae_mnist:tiny --workdir /tmp/ae_tiny    # seconds; for tests

Takes the same variants as vae_mnist.py (`conv`, `2d`, `8bit`, `gaussian`, `tiny`, comma-separated).
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    return likelihood.vae_config("ae" if arg is None else f"ae,{arg}")
