"""VAE (Kingma & Welling 2014) on the bundled MNIST digits (mnist5k: 4,000 train / 1,000 test, 28×28).

    jaxgen train --config vae_mnist --workdir runs/vae_mnist            # MLP, binarised, z 32
    jaxgen train --config vae_mnist:conv --workdir runs/vae_conv_mnist  # conv encoder/decoder
    jaxgen train --config vae_mnist:2d --workdir runs/vae2d_mnist       # z 2: the manifold figure
    jaxgen train --config vae_mnist:8bit --workdir runs/vae_mnist_8bit  # discretised logistic
    jaxgen train --config vae_mnist:gaussian --workdir runs/vae_mnist_gauss  # dequantised, learned σ
    jaxgen train --config vae_mnist:tiny --workdir /tmp/vae_tiny        # seconds; for tests

Variants combine with commas (`conv,8bit`, `conv,tiny`). Binarised data is re-binarised every step
(dynamic binarisation); the test split is scored with one fixed binarisation, by the negative ELBO and
the importance-weighted bounds with K = 1, 50 (every evaluation) — K = 5000 is `tools/likelihood_table.py`.
MLP 784-512-256-z, Adam 1e-3, batch 64, 10,000 steps (160 epochs).
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    return likelihood.vae_config(arg)
