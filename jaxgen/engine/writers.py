"""Run outputs: metrics as JSON lines and TensorBoard events, image grids as PNG.

Only process 0 writes; on other processes the writer is a no-op.
"""

from __future__ import annotations

import json
import math
import os
import time

import jax
import numpy as np
from PIL import Image


def image_grid(images: np.ndarray, ncol: int | None = None, pad: int = 2) -> np.ndarray:
    """[N, H, W, C] floats in [-1, 1] -> one uint8 image [rows·(H+pad)+pad, ncol·(W+pad)+pad, C]."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid expects [N, H, W, C] images, got shape {images.shape}")
    n, h, w, c = images.shape
    ncol = ncol or int(math.ceil(math.sqrt(n)))
    nrow = int(math.ceil(n / ncol))
    pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    grid = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncol)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = pixels[i]
    return grid


def per_class_columns(num: int, num_classes: int) -> int:
    """Columns of a grid with one row per class that shows at least `num` images: ceil(num / num_classes)
    (64 samples of 10 classes: 10 rows x 7 columns)."""
    return max(1, -(-num // num_classes))


def save_grid(path: str, images: np.ndarray, ncol: int | None = None, scale: int = 1) -> str:
    """Writes `images` ([N,H,W,C] in [-1,1]) as one PNG grid; the same input gives the same bytes."""
    grid = image_grid(images, ncol)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    picture.save(path, format="PNG")
    return path


class MetricWriter:
    """Appends `{"step": s, **scalars}` to workdir/metrics.jsonl and to TensorBoard (workdir/tensorboard)."""

    def __init__(self, workdir: str):
        self.active = jax.process_index() == 0
        if not self.active:
            return
        from tensorboardX import SummaryWriter

        self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a", buffering=1)
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), flush_secs=10)

    def write(self, step: int, scalars: dict) -> None:
        if not self.active:
            return
        clean = {k: float(v) for k, v in scalars.items()}
        self._jsonl.write(json.dumps({"step": int(step), "time": round(time.time(), 3), **clean}) + "\n")
        for key, value in clean.items():
            self._tb.add_scalar(key, value, int(step))

    def write_image(self, step: int, tag: str, grid_path: str) -> None:
        if not self.active:
            return
        self._tb.add_image(tag, np.asarray(Image.open(grid_path).convert("RGB")), int(step), dataformats="HWC")

    def close(self) -> None:
        if self.active:
            self._jsonl.close()
            self._tb.close()
