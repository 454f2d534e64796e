"""DDPM (Ho et al. 2020) on the bundled MNIST digits (mnist5k, 28 x 28, 8-bit), T = 1000, sized for a CPU.

    jaxgen train --config ddpm_mnist --workdir runs/ddpm_mnist                 # 6,000 steps, DDIM-100 grids
    jaxgen train --config ddpm_mnist:cond --workdir runs/ddpm_cond_mnist       # class-conditional
    jaxgen train --config ddpm_mnist:cosine --workdir runs/ddpm_cos_mnist      # Nichol & Dhariwal's cosine betas
    jaxgen train --config ddpm_mnist:tiny --workdir /tmp/ddpm_tiny             # seconds: T = 10, width 8; tests
    jaxgen sample --workdir runs/ddpm_mnist --num 64 --out ddpm.png

A U-Net of width 32, channel_mult (1, 2, 2) (28 -> 14 -> 7), 2 residual blocks per level, attention at 14 x 14
and 7 x 7 (Ho et al.'s CIFAR-10 model is width 128, 4 levels, attention at 16 x 16), dropout 0.1, linear betas,
L_simple, Adam 5e-4, batch 64, EMA 0.9995. The test split's bound (one t per image) is reported every 1,500
steps in bits/dim; the sample grids use DDIM with 100 steps (η = 0) to keep them cheap on a CPU:
`--config.model.sampler=ddpm --config.model.sample_steps=0` samples ancestrally with all 1,000 steps.
Variants combine with commas (`cond,cosine`).
"""

from jaxgen.defaults import likelihood, optimizers


def get_config(arg=None):
    config = likelihood.diffusion_config("mnist5k", arg, num_steps=6000, width=32, channel_mult=(1, 2, 2),
                                         num_res_blocks=2, attention_below=14, sampler="ddim", sample_steps=100)
    if arg is None or "tiny" not in arg.split(","):
        config.optimizer = optimizers.adam(5e-4, 0.9, 0.999)
    return config
