"""`jaxgen edit interpolate|arithmetic|mix|truncate` and `jaxgen sample --psi` on the tiny trained StyleGAN workdir:
the grids' sizes, a grid's pixels against the Python API, errors that need the model. (Errors found before JAX
starts are in tests/test_cli.py.)"""

import os

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


def test_no_ema_samples_evaluates_and_measures_the_raw_generator(stylegan_run, tmp_path, capsys, monkeypatch):
    """`jaxgen sample --no-ema` draws the raw G's grid; `jaxgen eval --no-ema` and `jaxgen edit ppl --no-ema` score
    the raw G under names ending in _rawg, apart from the EMA's."""
    import json

    from jaxgen.engine import workdir as workdir_lib
    from jaxgen.metrics import evaluate, vgg_distance
    from tests.edit import style_generator

    out = str(tmp_path / "raw.png")
    assert cli.main(["sample", "--workdir", stylegan_run, "--num", "4", "--out", out, "--no-ema"]) == 0
    raw, ema = (api.load(stylegan_run, ema=e).sample(4, seed=0) for e in (False, True))
    assert np.array_equal(_png(out), writers.image_grid(raw, None))
    assert not np.array_equal(_png(out), writers.image_grid(ema, None))
    capsys.readouterr()
    seen = []  # the samples `jaxgen eval` scores; their mean is the "metric"
    monkeypatch.setattr(evaluate, "feature_net", lambda protocol, dataset: None)
    monkeypatch.setattr(evaluate, "evaluate", lambda samples, *a, **k: seen.append(samples) or {
        "fid16_train_emojinet": float(np.mean(samples))})
    lines = {}
    for flags in ([], ["--no-ema"]):
        assert cli.main(["eval", "--workdir", stylegan_run, "--num-samples", "16", *flags]) == 0
        lines[bool(flags)] = json.loads(capsys.readouterr().out)
    assert set(lines[True]) == {"step", "workdir", "fid16_train_emojinet_rawg"}
    assert set(lines[False]) == {"step", "workdir", "fid16_train_emojinet"}
    _, task, state, _ = workdir_lib.restore(stylegan_run)
    by_hand = {**state, "ema": state["params"]["g"]}  # the EMA entry (G's params) holding the raw G
    for raw, expected in ((True, by_hand), (False, state)):
        np.testing.assert_array_equal(seen[raw], evaluate.generate_samples(task, expected, 16, jax.random.key(0)))
    assert not np.array_equal(seen[0], seen[1])
    monkeypatch.setattr(vgg_distance.VGGDistance, "load", classmethod(lambda cls: style_generator.PixelDistance()))
    assert cli.main(["edit", "ppl", "--workdir", stylegan_run, "--num-samples", "100", "--no-ema"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert set(line) == {"step", "workdir", "ppl_w_end_n100_pixels_rawg"}
    logged = [json.loads(t) for t in open(os.path.join(stylegan_run, "metrics.jsonl"))]
    assert logged[-1]["ppl_w_end_n100_pixels_rawg"] == line["ppl_w_end_n100_pixels_rawg"]
