"""The texture / style-transfer trainer on the shared engine: losses going down, exact resume with L-BFGS (its
memory and line-search state in the checkpoint) and Adam, `jaxgen sample` and `jaxgen.load`, one-line errors."""

import json
import os

import jax
import numpy as np
import pytest
from PIL import Image

import jaxgen
from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import texture

TINY = "configs/texture_brick.py:tiny"
STYLE = "configs/style_transfer.py:tiny"


def _config(spec, *overrides):
    return config_lib.load(spec, list(overrides))


@pytest.fixture(scope="module", params=["lbfgs", "adam"])
def tiny_run(request, tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp(request.param))
    config = _config(TINY, f"optimizer.name='{request.param}'")
    state = texture.train_and_evaluate(config, workdir, mesh=one_device_mesh)
    return request.param, workdir, jax.device_get(state)


def test_resume_is_exact(tiny_run, tmp_path, one_device_mesh):
    name, _, expected = tiny_run
    texture.train_and_evaluate(_config(TINY, f"optimizer.name='{name}'", "num_steps=2"), str(tmp_path),
                               mesh=one_device_mesh)
    state = texture.train_and_evaluate(_config(TINY, f"optimizer.name='{name}'"), str(tmp_path),
                                       mesh=one_device_mesh)
    leaves, ref = jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(expected)
    assert len(leaves) == len(ref) and len(ref) > 4  # image, random network, optimizer state
    for x, y in zip(leaves, ref):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_loss_falls_and_the_result_is_written(tiny_run, tmp_path, capsys):
    name, workdir, state = tiny_run

    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [r["step"] for r in rows] == [2, 4] and rows[-1]["style_loss"] < rows[0]["style_loss"]
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))
    out = str(tmp_path / "result.png")
    assert cli.main(["sample", "--workdir", workdir, "--out", out]) == 0
    assert "wrote 2 samples" in capsys.readouterr().out
    assert Image.open(out).size[0] > 16
    model = jaxgen.load(workdir)
    images = model.sample(2)
    np.testing.assert_array_equal(images, np.clip(state["params"]["image"], -1, 1))
    assert images.shape == (2, 16, 16, 3)


def test_style_transfer_starts_from_the_content_image(one_device_mesh):
    config = _config(STYLE, "optimizer.name='adam'")  # L-BFGS compiles longer; its resume is tested above
    task = texture.create_task(config, texture.data_info(config), one_device_mesh)
    state = task.init(jax.random.key(0))
    content = texture.images(config)["content"]
    assert state["params"]["image"].shape == (2, *content.shape[1:])  # chelsea's aspect: 16 x 11 (or so)
    np.testing.assert_array_equal(np.asarray(state["params"]["image"][1]), content[0])
    state, metrics = task.step(state, None, jax.random.key(1), 1)  # step 2 logs the terms
    assert float(metrics["content_loss"]) > 0 and float(metrics["style_loss"]) > 0


@pytest.mark.parametrize("override, fragment", [
    ("--config.data.style=/no/such/texture.png", "data.style='/no/such/texture.png' is neither an image file"),
    ("--config.model.sizes=(5,7)", "name ['k3'], not layers of the multi-scale network"),
    ("--config.data.image_size=4", "'data.image_size' must be an int of at least 8"),
])
def test_bad_input_is_a_one_line_error(override, fragment, tmp_path, capsys):
    assert cli.main(["train", "--config", TINY, "--workdir", str(tmp_path / "w"), override]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err


def test_vgg_layer_and_size_errors_name_the_key(one_device_mesh):
    config = _config("configs/texture_brick.py")
    with config.unlocked():
        config.loss.style_layers["relu9_1"] = 1.0
    with pytest.raises(ConfigError, match=r"name \['relu9_1'\], not layers of VGG-16"):
        texture.create_task(config, {"image_shape": (64, 64, 3)}, one_device_mesh)
    with pytest.raises(ConfigError, match=r"8 x 8 px, too small for layer pool4 \(16 px at least\)"):
        texture.create_task(_config("configs/texture_brick.py", "data.image_size=8"), {"image_shape": (8, 8, 3)},
                            one_device_mesh)
