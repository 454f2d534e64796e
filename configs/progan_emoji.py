"""ProGAN (Karras et al. 2018) on colour emoji (Twemoji on white), growing 4 -> 32 px (`:64`: 4 -> 64 px).

The progressive game (jaxgen.games.progressive) with ProGAN's networks (jaxgen.models.progan: equalized learning
rate, pixel norm, minibatch stddev, nearest up-sampling / average pooling, toRGB / fromRGB per resolution), 128
channels at every level, z 128. One stage per resolution of 192k images: 96k of fade-in, 96k stable (the paper
shows 600k + 600k per resolution), batch 16, so 12,000 steps a stage. WGAN-GP (lambda 10) with the drift term
0.001 E[D(x)^2], n_critic 1, Adam 1e-3 (beta1 0, beta2 0.99, eps 1e-8) for both, optimizer states reset when a
resolution starts, samples from an EMA of G (0.999), mirrored training images. A run stopped anywhere (mid-fade
included) resumes exactly: the stage and the step fix the resolution and alpha. Row A of StyleGAN's table
(configs/stylegan_emoji.py).

    jaxgen train --config progan_emoji --workdir runs/progan                   # 4 -> 32 px, 48,000 steps
    jaxgen train --config progan_emoji:64 --workdir runs/progan64              # 4 -> 64 px, 60,000 steps
    jaxgen train --config progan_emoji:tiny --workdir /tmp/progan              # 4 -> 8 px, width 8; seconds
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    if arg not in (None, "tiny", "64"):
        raise ValueError(f"unknown variant {arg!r}; known: tiny, 64")
    return gan.progressive_config("progan", size=64 if arg == "64" else 32, tiny=arg == "tiny")
