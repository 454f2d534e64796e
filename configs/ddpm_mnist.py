"""DDPM (Ho et al. 2020) on the bundled MNIST digits (mnist5k, 28 x 28, 8-bit), T = 1000, sized for a CPU.

    jaxgen train --config ddpm_mnist --workdir runs/ddpm_mnist                 # 2,000 steps, DDIM-100 grids
    jaxgen train --config ddpm_mnist:cond --workdir runs/ddpm_cond_mnist       # class-conditional
    jaxgen train --config ddpm_mnist:cosine --workdir runs/ddpm_cos_mnist      # Nichol & Dhariwal's cosine betas
    jaxgen train --config ddpm_mnist:tiny --workdir /tmp/ddpm_tiny             # seconds: T = 10, width 8; tests
    jaxgen sample --workdir runs/ddpm_mnist --num 64 --out ddpm.png

A U-Net of width 16, channel_mult (1, 2, 2) (28 -> 14 -> 7), 1 residual block per level, attention at 7 x 7
(280k parameters, ≈2 s a step on one busy CPU core; Ho et al.'s CIFAR-10 model is width 128, 4 levels, 2 blocks,
attention at 16 x 16: 35.7M), dropout 0.1, linear betas, L_simple, Adam 5e-4, batch 64, EMA 0.995. The test split's
bound (one t per image) is reported every 500 steps in bits/dim; the sample grids use DDIM with 100 steps (η = 0) to keep them cheap on a CPU:
`--config.model.sampler=ddpm --config.model.sample_steps=0` samples ancestrally with all 1,000 steps.
Variants combine with commas (`cond,cosine`).
"""

from jaxgen.defaults import likelihood, optimizers


def get_config(arg=None):
    config = likelihood.diffusion_config("mnist5k", arg, num_steps=2000, width=16, channel_mult=(1, 2, 2),
                                         num_res_blocks=1, attention_below=7, sampler="ddim", sample_steps=100)
    if arg is None or "tiny" not in arg.split(","):
        config.optimizer = optimizers.adam(5e-4, 0.9, 0.999)
        config.ema_decay = 0.995  # a 200-step horizon: 0.9999 (Ho et al.) would still hold the init after 2,000 steps
    return config
