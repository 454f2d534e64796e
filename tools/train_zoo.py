"""Trains every row of the loss zoo on DCGAN-MNIST and puts their final sample grids side by side.

    python tools/train_zoo.py --steps 1000 --workdir runs/zoo            # every row, ~1 h on a 2-core CPU
    python tools/train_zoo.py --losses wgan_gp,r1 --steps 300 --workdir runs/zoo

Each row trains from its own config (`configs/<loss>_mnist.py`, `num_steps` overridden) in
`<workdir>/<loss>`, resuming if it is there. Writes `docs/images/zoo_mnist_samples.png` (one panel per
row: the fixed-noise grid of the last step) and `docs/zoo_runs.json` (wall time, steps/s and the last
logged metrics of each row).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from PIL import Image

from jaxgen import config as config_lib
from jaxgen.losses import zoo
from jaxgen.trainers import gan


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--losses", default="all", help="comma-separated rows of jaxgen.losses.zoo.ROWS, or 'all'")
    parser.add_argument("--steps", type=int, default=1000, help="generator steps per row")
    parser.add_argument("--workdir", default="runs/zoo")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    rows = list(zoo.ROWS) if args.losses == "all" else args.losses.split(",")
    summary_path = os.path.join(args.out, "zoo_runs.json")
    summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    for row in rows:
        workdir = os.path.join(args.workdir, row)
        config = config_lib.load(f"configs/{row}_mnist.py",
                                 [f"num_steps={args.steps}", f"sample_every={args.steps}",
                                  f"checkpoint_every={args.steps}"])
        start = time.perf_counter()
        gan.train_and_evaluate(config, workdir, allow_config_change=True)
        metrics = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
        summary[row] = {"steps": args.steps, "n_critic": config.n_critic, "wall_s": round(time.perf_counter() - start, 1),
                        "steps_per_sec": round(sum(m["steps_per_sec"] for m in metrics[-5:]) / len(metrics[-5:]), 2),
                        "last": {k: round(v, 4) for k, v in metrics[-1].items() if k not in ("step", "time", "steps_per_sec")},
                        "grid": os.path.join(workdir, "samples", f"step_{args.steps:07d}.png")}
        print(row, summary[row], flush=True)
        json.dump(summary, open(summary_path, "w"), indent=1)
    names = [r for r in zoo.ROWS if r in summary and os.path.exists(summary[r]["grid"])]
    cols = 5
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(3 * cols, 3.3 * ((len(names) + cols - 1) // cols)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        ax.imshow(Image.open(summary[name]["grid"]), cmap="gray")
        ax.set_title(f"{name} ({summary[name]['steps']} G steps, n_critic {summary[name]['n_critic']})", fontsize=9)
    fig.suptitle("The loss zoo on DCGAN-MNIST (mnist5k), fixed noise, last step")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "images", "zoo_mnist_samples.png"), dpi=100)
    print("wrote", os.path.join(args.out, "images", "zoo_mnist_samples.png"))


if __name__ == "__main__":
    main()
