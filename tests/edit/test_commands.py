"""`jaxgen edit interpolate|arithmetic|mix|truncate` and `jaxgen sample --psi` on the tiny trained StyleGAN workdir:
the grids' sizes, a grid's pixels against the Python API, errors that need the model. (Errors found before JAX
starts are in tests/test_cli.py.)"""

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgen import api, cli
from jaxgen.edit import mixing, truncation
from jaxgen.edit.generator import Generator
from jaxgen.engine import writers

PX, PAD = 8, 2  # the tiny run's images, the grid writer's padding


def _png(path):
    return np.asarray(Image.open(path))


def _edit(workdir, out, command, *options):
    return cli.main(["edit", command, "--workdir", workdir, "--out", out, *options])


@pytest.mark.parametrize("command, options, rows, cols", [
    ("interpolate", ["--pairs", "2", "--frames", "3", "--space", "z", "--method", "lerp"], 2, 3),
    ("arithmetic", ["--concept", "loop", "--a", "open", "--b", "open", "--c", "open", "--pool", "12", "--per-group",
                    "2"], 4, 3),
    ("truncate", ["--rows", "2", "--psi", "1,0", "--cutoff", "2"], 2, 2),
])
def test_edit_writes_its_grid(stylegan_run, tmp_path, capsys, command, options, rows, cols):
    out = str(tmp_path / "edit.png")
    assert _edit(stylegan_run, out, command, "--scale", "2", *options) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    assert _png(out).shape == (2 * (rows * (PX + PAD) + PAD), 2 * (cols * (PX + PAD) + PAD), 3)


def test_mix_grid_is_the_python_apis(stylegan_run, stylegan, tmp_path, capsys):
    """Default bands of an 8 px generator: coarse and fine (no middle); the latents from --seed."""
    out = str(tmp_path / "mix.png")
    assert _edit(stylegan_run, out, "mix", "--rows", "1", "--cols", "2", "--seed", "7") == 0
    assert "copying coarse, fine (this generator's bands: coarse 0:2 (4 px), fine 2:4 (8 px))" in capsys.readouterr().out
    z = stylegan.latents(jax.random.key(7), 3)
    cells = mixing.grid(stylegan, z[:1], z[1:], ("coarse", "fine"))
    assert np.array_equal(_png(out), writers.image_grid(cells.reshape(-1, PX, PX, 3), 3))


def test_sample_with_psi_one_is_the_plain_sample(stylegan_run, stylegan_model, tmp_path):
    out = str(tmp_path / "psi.png")
    assert cli.main(["sample", "--workdir", stylegan_run, "--num", "4", "--out", out, "--psi", "1"]) == 0
    plain = writers.image_grid(stylegan_model.sample(4, seed=0)).astype(int)  # what `jaxgen sample` writes
    assert np.abs(_png(out).astype(int) - plain).max() <= 1  # float rounding may move a pixel at a level's edge


def test_a_band_the_generator_lacks(stylegan_run, tmp_path, capsys):
    assert _edit(stylegan_run, str(tmp_path / "x.png"), "mix", "--bands", "middle") == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err == ("jaxgen: error: a generator of 4 layers (2 resolutions) has no middle band; its bands: coarse 0:2 "
                   "(4 px), fine 2:4 (8 px)"), err


def test_no_ema_edits_the_raw_generator(stylegan_run, stylegan, tmp_path):
    """--no-ema: the grid is the raw G's (jaxgen.load(ema=False)), not the EMA's the default edits."""
    out = str(tmp_path / "raw.png")
    assert _edit(stylegan_run, out, "truncate", "--rows", "2", "--psi", "1", "--no-ema") == 0
    z = stylegan.latents(jax.random.key(0), 2)
    raw = truncation.grid(Generator(api.load(stylegan_run, ema=False)), z, (1.0,))
    assert np.array_equal(_png(out), writers.image_grid(raw.reshape(-1, PX, PX, 3), 1))
    ema = truncation.grid(stylegan, z, (1.0,))
    assert not np.array_equal(_png(out), writers.image_grid(ema.reshape(-1, PX, PX, 3), 1))
