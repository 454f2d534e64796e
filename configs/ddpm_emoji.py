"""DDPM (Ho et al. 2020) on colour emoji (Twemoji on white), 32 x 32, 8-bit, T = 1000, sized for a CPU.

    jaxgen train --config ddpm_emoji --workdir runs/ddpm_emoji                 # 20,000 steps, DDIM-100 grids
    jaxgen train --config ddpm_emoji:tiny --workdir /tmp/ddpm_emoji_tiny       # seconds: 8 px, T = 10; tests
    jaxgen sample --workdir runs/ddpm_emoji --num 64 --out ddpm_emoji.png

A U-Net of width 64, channel_mult (1, 2, 2, 2) (32 -> 16 -> 8 -> 4), 2 residual blocks per level, attention at
16 x 16 and below (Ho et al.'s CIFAR-10 layout at half the width), dropout 0.1, linear betas, L_simple, Adam 2e-4,
batch 64, EMA 0.9995, mirrored training images. Grids use DDIM with 100 steps; `--config.model.sampler=ddpm
--config.model.sample_steps=0` samples ancestrally. Variants: `cond` (needs labels: twemoji has none), `cosine`.
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    config = likelihood.diffusion_config("twemoji", arg, num_steps=20000, width=64, channel_mult=(1, 2, 2, 2),
                                         num_res_blocks=2, attention_below=16, sampler="ddim", sample_steps=100,
                                         tiny_data={"image_size": 8})
    config.data.image_size = 8 if arg is not None and "tiny" in arg.split(",") else 32
    config.data.flip = True
    return config
