"""The family comparison of docs/families.md: GANs, VQ-GAN and DDPM trained on the same data, scored with one
protocol, beside the time each takes to draw an image.

    python tools/family_table.py DCGAN=runs/fam_dcgan StyleGAN2=runs/fam_sg2 VQ-GAN=runs/fam_vqgan \
        DDPM=runs/fam_ddpm [--num 2000] [--features emojinet] [--real] [--out docs/family_table.json] \
        [--figure docs/images/family_samples.png]

Per `NAME=WORKDIR` (newest checkpoint; the EMA weights where the run kept them, as `jaxgen sample`):

- **sampling time**: `--num` images drawn in batches of `--batch` (seed i for batch i) after one warm-up batch of
  the same size (compilation excluded), wall seconds per image on this machine's devices (run it on an otherwise
  idle machine, e.g. under ``taskset -c 0`` for one core);
- **quality**: FID, KID, precision/recall and density/coverage of those images against the run's dataset's `--split`
  (default train) on `--features` (default emojinet), as `jaxgen eval` scores samples: every row on the same
  features, reference split and sample count;
- the run: its model, checkpoint step, batch size and images seen;
- with `--real`, a last row: `--num` images of the reference split (a seeded random subset) scored the same way
  (the floor).

Prints a markdown table, writes every number to `--out` (JSON, rewritten after each row) and 12 samples per family,
one row each, to `--figure`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import jaxgen
from jaxgen.data import pipeline
from jaxgen.engine import writers
from jaxgen.metrics import evaluate, names


def draw(model, num: int, batch: int) -> tuple[np.ndarray, float]:
    """(`num` images [num, H, W, C] from `model` in batches of `batch`, wall seconds per image after a warm-up)."""
    model.sample(batch, seed=10**6)  # compiles the sampler at this batch size
    start = time.perf_counter()
    images = [model.sample(batch, seed=i) for i in range(-(-num // batch))]
    seconds = time.perf_counter() - start
    return np.concatenate(images)[:num], seconds / (len(images) * batch)


def score(name: str, workdir: str, args, nets: dict) -> tuple[dict, np.ndarray]:
    """The row of one run and 12 of its samples."""
    model = jaxgen.load(workdir)
    protocol = evaluate.Protocol(metrics=("fid", "kid", "pr"), num_samples=args.num, split=args.split,
                                 features=args.features)
    data = model.config.data
    if data.name not in nets:
        nets[data.name] = evaluate.feature_net(protocol, data.name)
    samples, per_image = draw(model, args.num, args.batch)
    results = evaluate.evaluate(samples, data, protocol, net=nets[data.name])
    row = {"family": name, "workdir": workdir, "model": model.config.model.name, "step": model.step,
           "batch_size": int(model.config.batch_size), "images_seen": model.step * int(model.config.batch_size),
           "ema": model.ema, "dataset": data.name, "image_size": int(samples.shape[1]),
           "sample_seconds_per_image": per_image, "sample_batch": args.batch, **results}
    return row, samples[:12]


def real_row(data, args, net) -> tuple[dict, np.ndarray]:
    """The floor: `--num` images of the reference split itself, a seeded random subset (the split is stored in
    codepoint order, so its first images are not a sample of it), scored as a family's samples (they are in the
    reference, so no model is expected to reach it). The figure shows 12 of them in random order (the first 12 in
    split order would be the subset's lowest codepoints: letters and flags)."""
    split = pipeline.read_split(data, args.split)["image"]
    chosen = np.random.default_rng(0).permutation(len(split))[:args.num]
    images = split[np.sort(chosen)]
    protocol = evaluate.Protocol(metrics=("fid", "kid", "pr"), num_samples=len(images), split=args.split,
                                 features=args.features)
    results = evaluate.evaluate(images, data, protocol, net=net)
    return {"family": f"real ({args.split} images)", "dataset": data.name, "image_size": int(images.shape[1]),
            "step": 0, "batch_size": 0, "sample_seconds_per_image": float("nan"), **results}, split[chosen[:12]]


def markdown(rows: list[dict], num: int, split: str, features: str) -> str:
    count = names.count(num)
    cols = [f"fid{count}_{split}_{features}", f"kid{count}_{split}_{features}",
            f"precision{count}_{split}_{features}", f"recall{count}_{split}_{features}"]
    lines = [f"| family | steps × batch | {' | '.join(cols)} | sampling ms / image |", "|---" * (len(cols) + 3) + "|"]
    for r in rows:
        kid = f"{r[cols[1]]:.4f} ± {r[cols[1] + '_std']:.4f}"
        budget = f"{r['step']:,} × {r['batch_size']}" if r["step"] else "–"
        ms = "–" if np.isnan(r["sample_seconds_per_image"]) else f"{1000 * r['sample_seconds_per_image']:.2f}"
        lines.append(f"| {r['family']} | {budget} | {r[cols[0]]:.2f} | {kid} | {r[cols[2]]:.3f} | {r[cols[3]]:.3f} | "
                     f"{ms} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=WORKDIR")
    parser.add_argument("--num", type=int, default=2000, help="samples per run (default 2000)")
    parser.add_argument("--batch", type=int, default=250, help="sampling batch (default 250)")
    parser.add_argument("--split", default="train", help="reference split (default train)")
    parser.add_argument("--features", default="emojinet")
    parser.add_argument("--real", action="store_true",
                        help="add the floor: --num random images of the reference split scored as samples")
    parser.add_argument("--out", default="docs/family_table.json")
    parser.add_argument("--figure", default="docs/images/family_samples.png")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    runs = [run.partition("=")[::2] for run in args.runs]
    bad = [name for name, workdir in runs if not name or not workdir]
    if bad or args.num < 2 or args.batch < 1:
        parser.error("give runs as NAME=WORKDIR, --num >= 2 and --batch >= 1")
    rows, strips, nets = [], [], {}

    def add(row, shown):  # the JSON is rewritten after every row: a scoring cut short keeps the rows it has
        rows.append(row)
        strips.append(shown)
        print(json.dumps(row), flush=True)
        writers.write_atomic(args.out, json.dumps(
            {"command": "python tools/family_table.py " + " ".join(argv), "rows": rows}, indent=1))

    for name, workdir in runs:
        add(*score(name, workdir, args, nets))
    if args.real:
        data = jaxgen.load(runs[0][1]).config.data
        add(*real_row(data, args, nets[data.name]))
    print(markdown(rows, args.num, args.split.split("[")[0], next(iter(nets.values())).name))
    path = writers.save_grid(args.figure, np.concatenate(strips), ncol=12, scale=2)
    print(f"wrote {args.out} and {path}")


if __name__ == "__main__":
    main()
