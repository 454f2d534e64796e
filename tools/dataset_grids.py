"""The sample grids of the colour datasets in docs/images/ (data_<name>.png), read through the input pipeline.

    python tools/dataset_grids.py [--data-dir DIR] [--out docs/images]

twemoji, openmoji: one row per category (train split, the first 10 of each in stored order); emoji_pairs,
edges2emoji: 16 test pairs spread over the split, a beside b; photos: 16 random 96x96 training crops (flips
on), as `data.crop=96, data.flip=True` serves them. Prepares the datasets on first use.
"""

import argparse
import os

import numpy as np
from ml_collections import ConfigDict

from jaxgen.data import pipeline
from jaxgen.engine import writers


def _config(name: str, data_dir: str | None, **keys) -> ConfigDict:
    return ConfigDict({"name": name, "data_dir": data_dir, **keys})


def by_category(name: str, data_dir: str | None, per_row: int = 10) -> tuple[np.ndarray, int]:
    """[9 * per_row, 64, 64, 3]: the first `per_row` train images of each category, a row each."""
    split = pipeline.read_split(_config(name, data_dir), "train")
    rows = [split["image"][split["label"] == c][:per_row] for c in range(int(split["label"].max()) + 1)]
    return np.concatenate(rows), per_row


def pairs(name: str, data_dir: str | None, num: int = 16) -> tuple[np.ndarray, int]:
    """[2 * num, 64, 64, 3]: `num` test pairs spread over the split, each a then b (grey a shown as RGB)."""
    split = pipeline.read_split(_config(name, data_dir, pair=True), "test")
    pick = np.linspace(0, len(split["b"]) - 1, num).astype(int)
    a = np.broadcast_to(split["a"][pick], split["b"][pick].shape)
    return np.stack([a, split["b"][pick]], axis=1).reshape(-1, *split["b"].shape[1:]), 8


def crops(name: str, data_dir: str | None, num: int = 16) -> tuple[np.ndarray, int]:
    """[num, 96, 96, 3]: random training crops with flips, as a super-resolution config reads them."""
    loader = pipeline.make_loader(_config(name, data_dir, split="train", crop=96, flip=True),
                                  global_batch_size=num, seed=0)
    return next(iter(loader))["image"], 8


GRIDS = {"twemoji": by_category, "openmoji": by_category, "emoji_pairs": pairs, "edges2emoji": pairs,
         "photos": crops}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="TFDS data dir (default: $JAXGEN_DATA_DIR or ~/.cache/jaxgen/...)")
    parser.add_argument("--out", default=os.path.join("docs", "images"))
    args = parser.parse_args()
    for name, grid in GRIDS.items():
        images, ncol = grid(name, args.data_dir)
        print(writers.save_grid(os.path.join(args.out, f"data_{name}.png"), images, ncol=ncol))


if __name__ == "__main__":
    main()
