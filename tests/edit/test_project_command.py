"""`jaxgen edit project` (in W+) and `jaxgen edit ppl` on a workdir of the tiny random StyleGAN
(tests/edit/style_generator.py, noise inputs off), with the pixel distance in place of VGG (VGG's:
tests/metrics/test_vgg_distance.py): the files, the projections' PSNR, the grid's cells against the targets, the
projections and the interpolation computed here; the PPL line in metrics.jsonl; bad arguments as one-line errors,
before JAX is imported."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgen import cli
from jaxgen.metrics import vgg_distance
from tests.edit import style_generator
from tests.test_cli import _IMPORTS_OF_MAIN, subprocess_env


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(workdir, an .npz of two of its images, the same network as a `Generator`)."""
    path = str(tmp_path_factory.mktemp("edit"))
    workdir = style_generator.workdir(os.path.join(path, "run"), noise=0.0)
    g = style_generator.generator(noise=0.0)
    w = g.mapping(g.latents(jax.random.key(11), 2))
    np.savez(os.path.join(path, "targets.npz"), images=np.asarray(g.synthesize(g.broadcast(w))))
    return workdir, os.path.join(path, "targets.npz"), g


@pytest.fixture
def pixels(monkeypatch):
    monkeypatch.setattr(vgg_distance.VGGDistance, "load", classmethod(lambda cls: style_generator.PixelDistance()))


def test_edit_project_writes_the_grid_the_json_and_the_latents(run, pixels, tmp_path, capsys):
    workdir, targets, g = run
    out = str(tmp_path / "out")
    assert cli.main(["edit", "project", "--workdir", workdir, "--images", targets, "--num", "2", "--steps", "200",
                     "--space", "w+", "--mse-weight", "0.5", "--out", out]) == 0
    assert "wrote" in capsys.readouterr().out
    summary = json.load(open(os.path.join(out, "projection.json")))
    assert summary["space"] == "w+" and summary["mse_weight"] == 0.5 and summary["distance"] == "pixels"
    assert len(summary["columns"]) == 7
    assert min(summary["psnr"]) > 30 and summary["psnr_mean"] == pytest.approx(np.mean(summary["psnr"]))
    saved = np.load(os.path.join(out, "projection.npz"))
    assert saved["ws"].shape == (2, g.num_layers, 8) and np.ptp(saved["ws"], axis=1).max() > 0  # a w per layer
    grid = np.asarray(Image.open(os.path.join(out, "projection.png")))
    assert grid.shape == (8 * 22, 8 * 72, 3)  # 2 rows x 7 columns of 8 px cells, 2 px padding, x 8

    def cell(row, col):
        return grid[8 * (2 + 10 * row): 8 * (10 + 10 * row): 8, 8 * (2 + 10 * col): 8 * (10 + 10 * col): 8]

    def pixels_of(images):
        return np.clip(np.round((np.asarray(images) + 1) * 127.5), 0, 255)

    middle = g.synthesize((saved["ws"] + saved["ws"][::-1]) / 2)  # halfway to the next projection
    for row, col, expected in [(0, 0, saved["targets"][0]), (0, 1, saved["projections"][0]), (0, 3, middle[0]),
                               (1, 3, middle[1]), (1, 5, saved["projections"][0]), (1, 6, saved["targets"][0])]:
        np.testing.assert_allclose(cell(row, col), pixels_of(expected), atol=1)


def test_edit_ppl_prints_and_logs_the_named_value(run, pixels, capsys):
    workdir = run[0]
    assert cli.main(["edit", "ppl", "--workdir", workdir, "--num-samples", "100", "--batch-size", "50"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["step"] == style_generator.STEP and line["ppl_w_end_n100_pixels"] > 0
    logged = [json.loads(t) for t in open(os.path.join(workdir, "metrics.jsonl"))]
    assert logged[-1]["ppl_w_end_n100_pixels"] == pytest.approx(line["ppl_w_end_n100_pixels"])


@pytest.mark.parametrize("argv, fragment", [
    (["edit", "project", "--workdir", "RUN", "--out", "O", "--num", "0"], "--num and --steps must be at least 1"),
    (["edit", "project", "--workdir", "RUN", "--out", "O", "--mse-weight", "-1"], "--mse-weight not negative"),
    (["edit", "project", "--workdir", "RUN", "--out", "O", "--images", "nope.png"], "--images file 'nope.png'"),
    (["edit", "project", "--workdir", "RUN", "--out", "RUN/config.json"], "is a file; give the directory"),
    (["edit", "project", "--workdir", "RUN", "--out", "O", "--images", "x", "--split", "test"], "not allowed with"),
    (["edit", "ppl", "--workdir", "RUN", "--num-samples", "50"], "--num-samples must be at least 100"),
    (["edit", "ppl", "--workdir", "RUN", "--space", "w+"], "invalid choice: 'w+'"),
])
def test_bad_arguments_are_one_line_errors(run, argv, fragment, capsys):
    argv = [a.replace("RUN", run[0]) for a in argv]
    try:
        status = cli.main(argv)
    except SystemExit as e:  # argparse's usage errors
        status = e.code
    assert status == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert fragment in err and err.splitlines()[-1].startswith(("jaxgen: error: ", "jaxgen edit")), err


def test_a_bad_workdir_fails_before_jax_is_imported(tmp_path):
    env = {**subprocess_env(), "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))}
    proc = subprocess.run([sys.executable, "-c", _IMPORTS_OF_MAIN, "edit", "project", "--workdir", "W", "--out", "O"],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120, check=False)
    assert proc.stdout.split() == [str(cli.EXIT_USAGE), "none"], (proc.stdout, proc.stderr)
    assert "is 'W' a jaxgen workdir" in proc.stderr, proc.stderr
