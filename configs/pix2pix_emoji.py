"""pix2pix (Isola et al. 2017) on emoji_pairs: Twemoji -> OpenMoji of the same codepoint, 64x64.

The paired game (jaxgen.games.paired): a U-Net generator (6 down-samplings at 64 px, dropout as its only noise, in
sampling too) against a 34x34 PatchGAN on concat(source, target); vanilla GAN (non-saturating G) + 100 * L1;
Adam 2e-4, beta1 0.5, the rate constant for the first half and decayed linearly to 0 over the second (the
paper); batch 4 with BatchNorm, as the paper trained its larger sets (edges2shoes, edges2handbags: batch 4);
random mirroring of both images (the paper's jitter also cropped; the emoji keep their frame). Held-out
codepoints (the test split, 304 pairs) are scored every 2,500 steps: l1_test, psnr_test, ssim_test and KID
(kid304_test_<features>: Inception when its weights are supplied, else VGG-16; see jaxgen.metrics.translation).

    jaxgen train --config pix2pix_emoji --workdir runs/pix2pix            # 10,000 steps of batch 4 (11.5 epochs)
    jaxgen sample --workdir runs/pix2pix --source my_emoji.png --out translated.png
    jaxgen train --config pix2pix_emoji:edges --workdir runs/edges2emoji  # Canny edges -> Twemoji
    jaxgen train --config pix2pix_emoji:l1 --workdir runs/p2p_l1          # the paper's ablation: L1 alone
    jaxgen train --config pix2pix_emoji:cgan --workdir runs/p2p_cgan      #   cGAN alone (lambda = 0)
    jaxgen train --config pix2pix_emoji:edges,tiny --workdir /tmp/p2p     # seconds; variants combine with commas
"""

from jaxgen import config as config_lib
from jaxgen.defaults import gan

VARIANTS = ("edges", "l1", "cgan", "tiny")


def get_config(arg=None):
    variants = [v for v in (arg or "").split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant {unknown[0]!r}; known: {', '.join(VARIANTS)} (combine with commas)")
    config = gan.default_config("pix2pix", "ns", game="paired")
    config.data.name = "edges2emoji" if "edges" in variants else "emoji_pairs"
    config.data.pair = True
    config.data.direction = "a_to_b"  # a: Twemoji (edges for :edges) -> b: OpenMoji (Twemoji)
    config.data.flip = True
    config.num_steps = 10000
    config.batch_size = 4
    config.num_samples = 32  # grids translate the first 32 test sources
    config.log_every, config.sample_every, config.checkpoint_every = 100, 1000, 1000
    if "l1" in variants:
        config.loss.weights.adversarial = 0.0  # G on L1 alone (D still trains beside it, unused)
    if "cgan" in variants:
        config.loss.weights.l1 = 0.0
    config.eval.every = 2500
    config.eval.metrics = "l1,psnr,ssim,kid"
    config.eval.split = "test"
    if "tiny" in variants:
        config_lib.shrink_for_tests(config)
        config.batch_size = 2
        config.num_samples = 4
        config.data.image_size = 8  # U-Net depth 3, PatchGAN of 1 layer: few programs to compile
        config.model.g_width = config.model.d_width = 4
        config.eval.every = 0
    for group in (config.optimizer.g, config.optimizer.d):  # constant for the first half, then linearly to 0
        group.schedule.decay = "linear"
        group.schedule.decay_start = config.num_steps // 2
        group.schedule.decay_steps = config.num_steps - config.num_steps // 2
    return config
