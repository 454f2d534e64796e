"""VAE (Kingma & Welling 2014) on the bundled MNIST digits (mnist5k: 4,000 train / 1,000 test, 28×28).

    jaxgen train --config configs/vae_mnist.py --workdir runs/vae_mnist            # MLP, binarised, z 32
    jaxgen train --config configs/vae_mnist.py:conv --workdir runs/vae_conv_mnist  # conv encoder/decoder
    jaxgen train --config configs/vae_mnist.py:2d --workdir runs/vae2d_mnist       # z 2: the manifold figure
    jaxgen train --config configs/vae_mnist.py:8bit --workdir runs/vae_mnist_8bit  # discretised logistic
    jaxgen train --config configs/vae_mnist.py:gaussian --workdir runs/vae_mnist_gauss  # dequantised, learned σ
    jaxgen train --config configs/vae_mnist.py:tiny --workdir /tmp/vae_tiny        # seconds; for tests

Variants combine with commas (`conv,8bit`, `conv,tiny`). Binarised data is re-binarised every step
(dynamic binarisation); the test split is scored with one fixed binarisation, by the negative ELBO and
the importance-weighted bounds with K = 1, 50 (every evaluation) — K = 5000 is `tools/likelihood_table.py`.
MLP 784-512-256-z, Adam 1e-3, batch 64, 10,000 steps (160 epochs).
"""

from jaxgen.trainers import likelihood

VARIANTS = ("conv", "2d", "8bit", "gaussian", "ae", "tiny")


def get_config(arg=None):
    tokens = [] if arg is None else arg.split(",")
    unknown = sorted(set(tokens) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)} (comma-separated)")
    config = likelihood.default_config("vae", "mnist5k", "tiny" if "tiny" in tokens else None)
    m = config.model
    if "tiny" not in tokens:
        config.num_steps = 10000
        config.eval.every = 2500
        config.eval.iwae_samples = (1, 50)
    if "conv" in tokens:
        m.encoder, m.hidden = "conv", (256,)
    if "2d" in tokens:
        m.latent_dim = 2
    if "8bit" in tokens:
        m.data = "8bit"
    if "gaussian" in tokens:
        m.data, m.decoder_scale = "continuous", "diagonal"
    if "ae" in tokens:
        m.kind = "ae"
        config.eval.iwae_samples = ()
    if "tiny" in tokens:
        m.hidden, m.widths, m.latent_dim = (16,), (4, 8), 2
        config.eval.iwae_samples = () if m.kind == "ae" else (1, 3)
    return config
