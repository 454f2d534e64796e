"""StyleGAN (Karras et al. 2019) on colour emoji (Twemoji on white), 4 -> 32 px; rows B-F of its table 1 as variants.

The paper's "building up the model" table: variants :b ... :f, with row A = configs/progan_emoji.py.

Every row has ProGAN's budget and training (jaxgen.defaults.gan.progressive_config: 192k images a stage, batch 16,
WGAN-GP + drift, Adam 1e-3 (0, 0.99), EMA 0.999, as the paper's CelebA-HQ runs) and ProGAN's discriminator; the
generator is jaxgen.models.stylegan's, its switches set per row (z and w 128, 128 channels):

    row  variant   model.*                                                 paper FID CelebA-HQ / FFHQ
    A    progan_emoji                                                      7.79 / 8.04
    B    :b        blur (bilinear up-sampling); mapping_layers=0, styles,   6.11 / 5.25
                   const_input, noise off, mixing_prob=0
    C    :c        + mapping_layers=8 (lr x 0.01) and styles (AdaIN)        5.34 / 4.85
    D    :d        + const_input (the traditional input removed)            5.07 / 4.88
    E    :e        + noise                                                  5.06 / 4.42
    F    :f        + mixing_prob=0.9 (style mixing); the default            5.17 / 4.40

The paper's B also trained longer with tuned hyperparameters; here every row has the same budget, so B differs
from A only by the blur after G's up-sampling convolutions (D keeps ProGAN's average pooling, without blur).

    jaxgen train --config progan_emoji --workdir runs/table_a                  # A: 4 stages x 12,000 steps
    jaxgen train --config stylegan_emoji:b --workdir runs/table_b
    jaxgen train --config stylegan_emoji:c --workdir runs/table_c
    jaxgen train --config stylegan_emoji:d --workdir runs/table_d
    jaxgen train --config stylegan_emoji:e --workdir runs/table_e
    jaxgen train --config stylegan_emoji:f --workdir runs/table_f              # = stylegan_emoji
    jaxgen train --config stylegan_emoji:64 --workdir runs/stylegan64          # 4 -> 64 px (combines: :c,64)
    jaxgen train --config stylegan_emoji:f,tiny --workdir /tmp/stylegan        # 4 -> 8 px, width 8; seconds
"""

from jaxgen.defaults import gan

ROWS = ("b", "c", "d", "e", "f")
VARIANTS = (*ROWS, "64", "tiny")


def get_config(arg=None):
    variants = [v for v in (arg or "").split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    rows = [v for v in variants if v in ROWS]
    if unknown or len(rows) > 1:
        raise ValueError(f"unknown variant {(unknown or rows)[0]!r}; known: {', '.join(VARIANTS)} (combine with "
                         f"commas, one row of b-f)")
    row = ROWS.index(rows[0]) if rows else len(ROWS) - 1  # 0 = B ... 4 = F
    config = gan.progressive_config("stylegan", size=64 if "64" in variants else 32, tiny="tiny" in variants)
    model = config.model
    model.blur = True
    model.styles = row >= 1
    model.mapping_layers = 8 if row >= 1 else 0
    model.const_input = row >= 2
    model.noise = row >= 3
    model.mixing_prob = 0.9 if row >= 4 else 0.0
    return config
