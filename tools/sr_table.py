"""Super-resolution x4 on the held-out photos: bicubic, SRResNet and SRGAN beside the paper's numbers, and a crop
figure as the paper's (HR | bicubic | SRResNet | SRGAN).

    python tools/sr_table.py --srresnet runs/srresnet --srgan runs/srgan [--out docs/images/sr_crops.png]
    python tools/sr_table.py --srresnet runs/srgan --srresnet-step 20000 --srgan runs/srgan   # SRGAN's stage 0

Restores the newest checkpoint of each workdir and measures as its evaluation does (jaxgen.games.superres):
PSNR / SSIM on luma Y (ITU-R BT.601) of 8-bit images, 4 border pixels cropped, on the `eval.crop` centre crops of
the 3 held-out photos (chelsea, coffee, flower), averaged over the photos. Prints a markdown table with the paper's
x4 means on its benchmarks (Ledig et al. 2017, Table 2: Set5, Set14, BSD100; their LR images from MATLAB's
imresize, PSNR/SSIM on Y with the border cropped) and the single image of the paper's Figure 2 that the lectures
show. The figure: one row per held-out photo, a `--window`-pixel window around its centre magnified `--zoom`
times (nearest neighbour), columns HR, bicubic, SRResNet, SRGAN. Either workdir may be left out.
"""

import argparse
import os

import jax
import numpy as np

from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.games import superres

# Ledig et al. 2017, Table 2 (x4; PSNR dB / SSIM): {method: {benchmark: (PSNR, SSIM)}}
PAPER = {
    "bicubic": {"Set5": (28.43, 0.8211), "Set14": (25.99, 0.7486), "BSD100": (25.94, 0.6935)},
    "SRResNet": {"Set5": (32.05, 0.9019), "Set14": (28.49, 0.8184), "BSD100": (27.58, 0.7620)},
    "SRGAN": {"Set5": (29.40, 0.8472), "Set14": (26.02, 0.7397), "BSD100": (25.16, 0.6688)},
}
# The paper's Figure 2 (one image, x4), the numbers the lectures show
FIGURE2 = {"bicubic": (21.59, 0.6423), "SRResNet": (23.53, 0.7832), "SRGAN": (21.15, 0.6868)}


def rows_of(workdir: str, step: int | None = None):
    """(step, config, [N, 3, H, W, C] rows bicubic | SR | HR of the held-out crops) of a workdir's state at `step`
    (default: the newest checkpoint)."""
    config, task, state, step = workdir_lib.restore(workdir, step)
    crops = superres.eval_crops(config)
    images = np.asarray(jax.device_get(task.generate(state, jax.random.key(0), 3 * len(crops))))
    return step, config, images.reshape(len(crops), 3, *crops.shape[1:])


def table(measured: dict, steps: dict, crop: int, scale: int) -> str:
    """The markdown table: our PSNR / SSIM beside the paper's benchmarks and its Figure 2."""
    head = (f"| x{scale} | held-out photos ({crop}x{crop} centre crops, Y) | steps | Set5 (paper) | Set14 (paper) "
            f"| BSD100 (paper) | paper Fig. 2 (lectures) |")
    lines = [head, "|" + "---|" * 7]
    for method in ("bicubic", "SRResNet", "SRGAN"):
        ours = measured.get(method)
        cell = f"{ours[0]:.2f} dB / {ours[1]:.4f}" if ours else "(not trained)"
        paper = [f"{p:.2f} / {s:.4f}" for p, s in PAPER[method].values()]
        lines.append(f"| {method} | {cell} | {steps.get(method, '')} | " + " | ".join(paper)
                     + " | {:.2f} / {:.4f} |".format(*FIGURE2[method]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--srresnet", help="workdir of configs/srresnet_photos.py")
    parser.add_argument("--srresnet-step", type=int, help="a checkpoint of --srresnet (default: the newest); with "
                        "--srresnet = the SRGAN workdir and its switch step, SRResNet is SRGAN's stage 0")
    parser.add_argument("--srgan", help="workdir of configs/srgan_photos.py")
    parser.add_argument("--out", default=os.path.join("docs", "images", "sr_crops.png"))
    parser.add_argument("--window", type=int, default=64, help="side of the magnified window (HR pixels)")
    parser.add_argument("--zoom", type=int, default=3)
    args = parser.parse_args()
    runs = {name: path for name, path in (("SRResNet", args.srresnet), ("SRGAN", args.srgan)) if path}
    if not runs:
        parser.error("give --srresnet and/or --srgan workdirs")
    measured, steps, columns = {}, {}, {}
    for name, path in runs.items():
        step, config, rows = rows_of(path, args.srresnet_step if name == "SRResNet" else None)
        scale, split = int(config.model.scale), config.eval.split
        hr = rows[:, 2]
        measured[name] = tuple(superres.quality(rows[:, 1], hr, scale, split).values())
        measured["bicubic"] = tuple(superres.quality(rows[:, 0], hr, scale, split).values())
        steps[name], columns[name] = step, rows[:, 1]
        columns.update(HR=hr, bicubic=rows[:, 0])
    print(table(measured, steps, hr.shape[1], scale))
    order = [c for c in ("HR", "bicubic", "SRResNet", "SRGAN") if c in columns]
    h, w = hr.shape[1:3]
    top, left = (h - args.window) // 2, (w - args.window) // 2
    cut = np.stack([np.clip(columns[c], -1, 1)[:, top:top + args.window, left:left + args.window] for c in order], 1)
    path = writers.save_grid(args.out, cut.reshape(-1, *cut.shape[2:]), ncol=len(order), scale=args.zoom)
    print(f"{path}: columns {', '.join(order)}; rows: the held-out photos")


if __name__ == "__main__":
    main()
