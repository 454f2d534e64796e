"""CycleGAN (Zhu et al. 2017) between two unpaired toy point sets: ring8 (A) and ring8 twice as large and turned by
22.5 degrees (B); g_ab must carry each mode of A onto one of B's, g_ba back onto the same one of A's.

Four players (jaxgen.games.cycle): translators g_ab, g_ba (MLPs) and critics d_a, d_b, least-squares objective
(the paper's), cycle consistency weighted 10. The points are drawn inside each step (data.name is a toy mixture:
no dataset, no loader); sample grids are scatter plots of A's points translated into B. After 3,000 steps every
translated point lies within 0.1 of one of B's modes, and all 8 modes are hit.

    jaxgen train --config cycle_toy --workdir runs/cycle          # about a minute on a CPU
    jaxgen train --config cycle_toy:tiny --workdir /tmp/cycle     # seconds; for tests
    jaxgen sweep --config cycle_toy:tiny --workdir /tmp/cycle_sweep --over loss.weights.cycle=1,10
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.default_config("translator_mlp", "lsgan", game="cycle")
    config.data.name = "ring8"  # domain A
    config.data.b = "ring8"  # domain B: this mixture, scaled and rotated
    config.data.b_scale = 2.0
    config.data.b_rotation = 22.5  # degrees
    config.num_steps = 3000
    config.batch_size = 256
    config.num_samples = 512
    config.log_every, config.sample_every, config.checkpoint_every = 100, 500, 1000
    config.optimizer.g.learning_rate = config.optimizer.d.learning_rate = 1e-3
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.g_hidden = (8, 8)
        config.model.d_units = (8, 8)
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
