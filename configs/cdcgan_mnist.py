"""Class-conditional DCGAN on the bundled MNIST digits: one row per digit in every sample grid.

G sees [z; onehot(y)]; D conditions by `model.conditioning`: "concat" (Mirza & Osindero 2014, labels as
extra input channels; the default here), "projection" (Miyato & Koyama 2018) or "acgan" (Odena et al.
2017, auxiliary classifier, weight loss.weights.aux). Non-saturating loss, DCGAN optimiser.

    jaxgen train --config cdcgan_mnist --workdir runs/cdcgan
    jaxgen train --config cdcgan_mnist --workdir runs/cdcgan_proj --config.model.conditioning=projection
    jaxgen sample --workdir runs/cdcgan --label 3 --out threes.png
    jaxgen train --config cdcgan_mnist:tiny --workdir /tmp/cdcgan_tiny    # seconds; for tests
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.default_config("dcgan", "ns")
    config.model.conditioning = "concat"
    config.num_steps = 3000
    config.batch_size = 64
    config.num_samples = 80  # 10 rows (one per class) x 8 columns
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.width = 8
        config.model.z_dim = 8
        config.num_samples = 20
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
