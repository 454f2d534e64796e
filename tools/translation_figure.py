"""Held-out translations of one or more paired workdirs side by side: input | each workdir's output | true target.

    python tools/translation_figure.py runs/p2p_l1 runs/p2p_cgan runs/pix2pix --num 8 --out docs/images/pix2pix.png

Rows are `--num` pairs spread evenly over the test split (stored by codepoint: its first pairs are all flags;
centred, unflipped, as evaluation reads them), every
workdir translating the same inputs with `--seed` (its dropout); the workdirs must share the dataset and
direction. Prints each workdir's held-out metrics from its metrics.jsonl (the last evaluation) as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os

import jax
import numpy as np

from jaxgen.data import pipeline
from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.games import paired


def last_evaluation(workdir: str) -> dict:
    """The last metrics.jsonl line holding held-out translation metrics ({} if none)."""
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    return next((r for r in reversed(rows) if any(k.startswith("l1_") for k in r)), {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--num", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="translations.png")
    args = parser.parse_args()

    config, _ = workdir_lib.read(args.workdirs[0])
    source_key, target_key = paired.DIRECTIONS[config.data.get("direction", "a_to_b")]
    pairs = pipeline.read_split(config.data, "test")
    rows = np.linspace(0, len(pairs[source_key]) - 1, args.num).round().astype(int)
    pairs = {key: pairs[key][rows] for key in (source_key, target_key)}
    columns = [pairs[source_key]]
    for workdir in args.workdirs:
        _, task, state, _ = workdir_lib.restore(workdir)
        columns.append(np.asarray(jax.device_get(task.generate(state, jax.random.key(args.seed), args.num,
                                                               source=pairs[source_key]))))
    columns.append(pairs[target_key])
    channels = max(c.shape[-1] for c in columns)
    columns = [np.broadcast_to(c, c.shape[:3] + (channels,)) for c in columns]
    grid = np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])
    writers.save_grid(args.out, grid, ncol=len(columns), scale=2)
    print(f"wrote {args.out}: rows of input | {' | '.join(args.workdirs)} | target")
    results = {w: last_evaluation(w) for w in args.workdirs}
    keys = sorted({k for r in results.values() for k in r if k.split("_")[0].rstrip("0123456789k") in
                   ("l1", "psnr", "ssim", "kid")})
    print("| workdir | step | " + " | ".join(keys) + " |\n|---|---|" + "---|" * len(keys))
    for workdir, row in results.items():
        print(f"| {workdir} | {row.get('step', '')} | " + " | ".join(f"{row[k]:.4g}" if k in row else "" for k in keys)
              + " |")


if __name__ == "__main__":
    main()
