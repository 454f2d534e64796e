"""Run outputs: metrics as JSON lines and TensorBoard events, image grids (or scatter plots of 2-D points) as PNG.

Only process 0 writes; on other processes the writer is a no-op.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
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


# Scatter colours, one per row of a grid of points (a class, a sweep's run); black for an ungrouped scatter.
_PALETTE = np.array([[0, 0, 0], [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], np.uint8)


def scatter_image(points: np.ndarray, ncol: int | None = None, size: int = 256, pad: int = 6) -> np.ndarray:
    """[N, 2] points -> one RGB uint8 image [size, size, 3]: a 3x3-pixel dot per finite point on white, grey axes
    through the origin, the view the square [-r, r]^2 that holds every point (r = 1.05 max |coordinate|). With
    `ncol` (a grid with one row per class or run), each row of `ncol` points has its own colour."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"scatter_image expects [N, 2] points, got shape {points.shape}")
    finite = np.all(np.isfinite(points), axis=1)
    radius = 1.05 * max(float(np.max(np.abs(points[finite]))) if finite.any() else 1.0, 1e-6)
    span = size - 1 - 2 * pad
    cols = np.round(pad + (points[finite, 0] / radius + 1) / 2 * span).astype(int)
    rows = np.round(pad + (1 - points[finite, 1] / radius) / 2 * span).astype(int)
    groups = np.arange(len(points))[finite] // ncol + 1 if ncol else np.zeros(int(finite.sum()), int)
    picture = np.full((size, size, 3), 255, np.uint8)
    centre = int(round(pad + span / 2))
    picture[centre, pad:size - pad] = picture[pad:size - pad, centre] = 200
    colours = _PALETTE[np.where(groups > 0, (groups - 1) % (len(_PALETTE) - 1) + 1, 0)]
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            picture[rows + dr, cols + dc] = colours
    return picture


def save_grid(path: str, images: np.ndarray, ncol: int | None = None, scale: int = 1) -> str:
    """Writes `images` ([N,H,W,C] in [-1,1]) as one PNG grid, or 2-D points [N, 2] as a scatter plot
    (`scatter_image`); the same input gives the same bytes."""
    images = np.asarray(images)
    grid = scatter_image(images, ncol) if images.ndim == 2 and images.shape[1] == 2 else image_grid(images, ncol)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    picture.save(path, format="PNG")
    return path


def write_atomic(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


class MetricWriter:
    """Appends `{"step": s, **scalars}` to workdir/metrics.jsonl and to TensorBoard (workdir/tensorboard).

    `resume_step`: a run resumed from that checkpoint; the lines (and TensorBoard points) an earlier process
    logged after it are dropped first, since this run logs those steps again: one line per logged step.
    """

    def __init__(self, workdir: str, resume_step: int | None = None):
        self.active = jax.process_index() == 0
        if not self.active:
            return
        from tensorboardX import SummaryWriter

        path = os.path.join(workdir, "metrics.jsonl")
        if resume_step is not None and os.path.exists(path):
            _drop_lines_after(path, resume_step)
        self._jsonl = open(path, "a", buffering=1)
        purge = {} if resume_step is None else {"purge_step": resume_step + 1}
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), flush_secs=10, **purge)

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


def _drop_lines_after(path: str, step: int) -> None:
    """Rewrites metrics file `path` (atomically) without the lines of steps after `step` (and unreadable ones: the
    last line of a process killed mid-write)."""
    kept = []
    with open(path) as f:
        for line in f:
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line if line.endswith("\n") else line + "\n")
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    write_atomic(path, "".join(kept))
