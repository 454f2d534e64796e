"""CycleGAN (Zhu et al. 2017) between Twemoji (A) and OpenMoji (B) as two unpaired sets, 64x64.

The cycle game on images (jaxgen.games.cycle): two ResNet generators (c7s1-64, d128, d256, 6 residual blocks,
u128, u64, c7s1-3; reflection padding, instance norm, tanh) and two 70x70 PatchGANs with instance norm
(jaxgen.models.cyclegan). Least squares (the D loss halved, as the paper), lambda_cycle = 10, identity 5
(0.5 lambda, the paper's setting for its photo tasks) and the adversarial term weighted 2: jaxgen's LSGAN G term is
1/2 E (D - 1)^2, so G's loss is exactly the authors' MSE(D(fake), 1) + 10 cycle + 5 identity. A history pool of
50 fakes per critic (in the train state, so in the checkpoint). Adam 2e-4, beta1 0.5, the rate constant for the
first half and decayed linearly to 0 over the second (the paper). The paper trains with batch 1; here batch 4 (an
instance-normalised step computes the same per image; 4 amortises the CPU's per-step overhead), 10,000 steps
(11.5 epochs of Twemoji's 3,469 training images). The two training sets are read as two independently shuffled
streams (data.unpaired), random mirroring of each. Held-out codepoints (emoji_pairs' test split, 304 pairs) are
scored every 2,500 steps in both directions against the true other-vendor rendering: l1/psnr/ssim_test_a2b and
_b2a, and KID per direction (kid304_test_<features>_a2b: Inception when its weights are supplied, else VGG-16).
Sample grids: rows (Twemoji, its OpenMoji translation, back to Twemoji).

    jaxgen train --config cyclegan_emoji --workdir runs/cyclegan
    jaxgen sample --workdir runs/cyclegan --source my_emoji.png --out translated.png   # A -> B
    jaxgen eval --workdir runs/cyclegan                                              # held-out pairs, both ways
    jaxgen train --config cyclegan_emoji:tiny --workdir /tmp/cyclegan                # seconds; for tests
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.default_config("cyclegan", "lsgan", game="cycle")
    config.data.name = "twemoji"  # domain A
    config.data.unpaired = "openmoji"  # domain B: its own shuffled stream
    config.data.flip = True
    config.loss.weights.cycle = 10.0
    config.loss.weights.identity = 5.0  # 0.5 lambda_cycle
    config.loss.weights.adversarial = 2.0  # 2 x 1/2 E (D - 1)^2: the authors' MSE
    config.loss.pool_size = 50
    config.num_steps = 10000
    config.batch_size = 4
    config.num_samples = 36  # grids: 12 rows (a, g_ab(a), g_ba(g_ab(a))), two per line
    config.log_every, config.sample_every, config.checkpoint_every = 100, 1000, 1000
    config.eval.every = 2500
    config.eval.metrics = "l1,psnr,ssim,kid"
    config.eval.split = "test"
    config.eval.pairs = "emoji_pairs"  # the held-out truth: a = Twemoji, b = OpenMoji of one codepoint
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.batch_size = 2
        config.num_samples = 6  # two rows of three
        config.data.image_size = 16
        config.model.g_width, config.model.g_blocks = 4, 1
        config.model.d_width, config.model.d_layers = 4, 1
        config.loss.pool_size = 3  # full after two steps: the swaps run within the 4 steps
        config.eval.every = 0
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    for group in (config.optimizer.g, config.optimizer.d):  # constant for the first half, then linearly to 0
        group.schedule.decay = "linear"
        group.schedule.decay_start = config.num_steps // 2
        group.schedule.decay_steps = config.num_steps - config.num_steps // 2
    return config
