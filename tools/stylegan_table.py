"""StyleGAN's "building up the model" table (Karras et al. 2019, Table 1) at a CPU budget: rows A-F beside the paper's
FIDs, and a figure of each row's samples.

    python tools/stylegan_table.py --runs runs [--num-samples 2000] [--out docs/images/stylegan_table.png]

Reads the workdirs ``<runs>/table_a`` ... ``table_f`` (trained by the commands in configs/stylegan_emoji.py, with
the overrides docs/architectures.md lists) and, where present, ``table_sg2`` (stylegan2_emoji) and ``table_msg``
(msggan_emoji) trained with the same overrides, as rows beside the table; draws `--num-samples` images (seed 0) from each run's newest checkpoint
with the EMA generator and with the raw one, and scores them as `jaxgen eval` does: FID and KID on EmojiNet's pool
features (32 px images up-sampled bilinearly to its 64 px input, the reals likewise) against Twemoji's train split at
the run's resolution. Prints a markdown table. The figure: one row per table row, 12 EMA samples then 12 raw ones.
"""

import argparse
import os

import numpy as np

import jaxgen
from jaxgen.engine import writers
from jaxgen.metrics import evaluate

ROWS = {  # row: (what it adds, the paper's FID on CelebA-HQ, on FFHQ)
    "a": ("baseline ProGAN", 7.79, 8.04),
    "b": ("+ tuning (here: bilinear up-sampling only)", 6.11, 5.25),
    "c": ("+ mapping network and styles (AdaIN)", 5.34, 4.85),
    "d": ("+ constant input (traditional input removed)", 5.07, 4.88),
    "e": ("+ noise inputs", 5.06, 4.42),
    "f": ("+ mixing regularisation", 5.17, 4.40),
    "sg2": ("beside: StyleGAN2 (config F, no growing)", None, None),
    "msg": ("beside: MSG-GAN (no growing)", None, None),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default="runs", help="the folder of the workdirs table_a ... table_f")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--out", default="docs/images/stylegan_table.png")
    args = parser.parse_args(argv)
    protocol = evaluate.Protocol(metrics=("fid", "kid"), num_samples=args.num_samples, split="train",
                                 features="emojinet")
    net, lines, strips = None, [], []
    for row, (what, celeba, ffhq) in ROWS.items():
        workdir = os.path.join(args.runs, f"table_{row}")
        if not os.path.isdir(workdir):
            print(f"skipping row {row.upper()}: no {workdir}")
            continue
        scores, shown = {}, []
        for ema in (True, False):
            model = jaxgen.load(workdir, ema=ema)
            net = net or evaluate.feature_net(protocol, model.config.data.name)
            samples = model.sample(args.num_samples, seed=0)
            scores[ema] = evaluate.evaluate(samples, model.config.data, protocol, net=net)
            shown.append(samples[:12])
        strips.append(np.concatenate(shown))
        n = f"{args.num_samples // 1000}k" if args.num_samples % 1000 == 0 else str(args.num_samples)
        fid, kid = f"fid{n}_train_emojinet", f"kid{n}_train_emojinet"
        lines.append(f"| {row.upper()} | {what} | {model.step} | {scores[True][fid]:.2f} | {scores[True][kid]:.4f} | "
                     f"{scores[False][fid]:.2f} | {scores[False][kid]:.4f} | {celeba or '–'} | {ffhq or '–'} |")
    print(f"| row | configuration | steps | {fid} EMA | {kid} EMA | {fid} raw G | {kid} raw G | "
          f"paper FID CelebA-HQ | paper FID FFHQ |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    if strips:
        path = writers.save_grid(args.out, np.concatenate(strips), ncol=24, scale=2)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
