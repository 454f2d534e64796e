"""Image grids and the metrics writer."""

import json

import numpy as np
from PIL import Image

from jaxgen.engine import writers


def test_grid_layout_and_values():
    images = np.stack([np.full((3, 4, 1), v) for v in (-1.0, 0.0, 1.0)])
    grid = writers.image_grid(images, ncol=2, pad=1)
    assert grid.shape == (2 * 4 + 1, 2 * 5 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 128 and grid[5, 1, 0] == 255
    assert grid[0, 0, 0] == 255  # padding is white


def test_save_grid_is_deterministic(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (5, 6, 6, 3))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    writers.save_grid(str(a), images)
    writers.save_grid(str(b), images)
    assert a.read_bytes() == b.read_bytes()
    assert Image.open(a).mode == "RGB"


def test_metric_writer_jsonl_and_tensorboard(tmp_path):
    writer = writers.MetricWriter(str(tmp_path))
    writer.write(10, {"loss": np.float32(1.5)})
    writer.write(20, {"loss": 0.5})
    writer.close()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["loss"]) for r in rows] == [(10, 1.5), (20, 0.5)]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_one_row_per_class_grid():
    assert [writers.per_class_columns(n, 10) for n in (64, 80, 81, 3)] == [7, 8, 9, 1]
    per, classes = writers.per_class_columns(5, 3), 3
    images = np.repeat(np.linspace(-1, 1, classes), per)[:, None, None, None] * np.ones((1, 2, 2, 1))
    grid = writers.image_grid(images, ncol=per, pad=1)
    assert grid.shape == (classes * 3 + 1, per * 3 + 1, 1)
    for row, value in enumerate((0, 128, 255)):  # class c fills grid row c
        assert all(grid[1 + 3 * row, 1 + 3 * col, 0] == value for col in range(per))


def test_points_are_drawn_as_a_scatter(tmp_path):
    points = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, -0.5], [np.nan, 0.0]])
    picture = writers.scatter_image(points, ncol=2, size=64, pad=4)
    assert picture.shape == (64, 64, 3) and picture[0, 0].tolist() == [255, 255, 255]
    span = 64 - 1 - 2 * 4
    far = round(4 + (1 / 1.05 + 1) / 2 * span), round(4 + (1 - 1 / 1.05) / 2 * span)  # (1, 1): col, row
    assert picture[far[1], far[0]].tolist() == writers._PALETTE[1].tolist()  # row 0 of the grid: first colour
    low = round(4 + (1 - 1 / 1.05) / 2 * span), round(4 + (1 + 0.5 / 1.05) / 2 * span)  # (-1, -0.5)
    assert picture[low[1], low[0]].tolist() == writers._PALETTE[2].tolist()  # row 1: the next colour
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    writers.save_grid(str(a), points)
    writers.save_grid(str(b), points)
    assert a.read_bytes() == b.read_bytes() and Image.open(a).size == (256, 256)
