"""SRResNet (Ledig et al. 2017) x4 on the photos of scikit-image / scikit-learn: pixel MSE alone, Adam 1e-4.

The generator of jaxgen.models.srgan (16 residual blocks, width 64, two PixelShuffle x2 blocks) on random 96x96 HR
crops of the 8 training photos with left-right flips, batch 16, as the paper; the LR inputs are the crops
down-sampled x4 (antialiased bicubic, jaxgen.games.superres) inside the step. Every 2,000 steps: PSNR / SSIM on
luma Y, borders cropped by 4, of SRResNet and of bicubic on 256x256 centre crops of the 3 held-out photos
(`psnr_y_test_x4`, `psnr_y_test_x4_bicubic`, ...); the best checkpoint by `psnr_y_test_x4`. Sample grids: rows
bicubic | SRResNet | HR. The paper trained 10^6 updates on 350k ImageNet images; this is 20,000 on 8 photos.

    jaxgen train --config srresnet_photos --workdir runs/srresnet
    jaxgen train --config srresnet_photos:tiny --workdir /tmp/srresnet     # seconds; for tests
    python tools/sr_table.py --srresnet runs/srresnet --srgan runs/srgan   # the table and the crop figure
"""

from jaxgen.defaults import gan


def get_config(arg=None):
    config = gan.superres_config(arg)
    config.num_steps = 20_000 if arg is None else config.num_steps
    if arg is None:
        config.eval.best_metric = "psnr_y_test_x4"
    return config
