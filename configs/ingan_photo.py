"""InGAN (Shocher et al. 2019) on one bundled photo (chelsea, the cat), 64 px on the longer side: the image
retargeted to four (height, width) scale factors in [0.5, 1.5] every step, a 3-scale patch discriminator, LSGAN,
reconstruction (cycle) L1 weight 0.1, Adam 2e-4 (0.5, 0.999), batch 1 (the image); see jaxgen.games.ingan.

    jaxgen train --config ingan_photo --workdir runs/ingan                       # 10,000 steps, ~30 min on a CPU core
    jaxgen train --config ingan_photo --workdir runs/ingan --config.data.image=my_photo.jpg
    jaxgen sample --workdir runs/ingan --num 9 --out ingan.png                   # the 3x3 grid of target shapes
    jaxgen train --config ingan_photo:tiny --workdir /tmp/ingan                  # seconds; for tests
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.default_config("ingan", "lsgan", game="ingan")
    config.data.name = "single_image"
    config.data.image = "chelsea"  # a bundled name (jaxgen.data.single_image.names()) or an image file
    config.data.max_size = 64  # the longer side, px (sides are then cut to multiples of 4)
    config.batch_size = 1
    config.model.width = config.model.d_width = 16  # the paper's G and D are wider and deeper (docs/single_image.md)
    config.model.blocks = 1
    config.model.train_scales = ((0.5, 1.0), (1.0, 0.5), (1.5, 1.0), (1.0, 1.5))
    config.num_samples = 9  # one per model.sample_scales
    config.num_steps = 10000  # 5.5 steps/s on one core of a 2-core CPU: docs/single_image.md
    config.log_every, config.sample_every, config.checkpoint_every = 50, 250, 250
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size, config.num_samples = 1, 4
        config.data.max_size = 48
        config.model.width = config.model.d_width = 4
        config.model.blocks, config.model.d_scales = 1, 2
        config.model.train_scales = ((0.5, 1.0), (1.0, 1.5))
        config.model.sample_scales = ((0.5, 0.5), (0.5, 1.5), (1.0, 1.0), (1.5, 0.75))
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
