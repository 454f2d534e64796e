"""The paired game (pix2pix: U-Net G, conditional PatchGAN D, cGAN + lambda L1) on the emoji test subset: its
terms against hand computation, a tiny run with held-out evaluation, exact resume, `jaxgen sample --source`, and
the one-line error for an unpaired dataset."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import jaxgen
from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.data import images, pipeline
from jaxgen.errors import ConfigError
from jaxgen.games import paired
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)
from tests.trees import max_diff

TINY = "configs/pix2pix_emoji.py:tiny"
EVAL = ["eval.every=4", "eval.metrics=l1,psnr"]  # SSIM needs 11 px; the tiny images are 8


def _config(emoji_data_dir, *overrides, spec=TINY):
    return config_lib.load(spec, [f"data.data_dir={emoji_data_dir}", *overrides])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("pix2pix"))
    state = gan.train_and_evaluate(_config(emoji_data_dir, *EVAL), workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def test_terms_against_hand_computation(emoji_data_dir, one_device_mesh):
    """G's loss is softplus(-D([x, G(x)])) + 100 mean|G(x) - y|, D's softplus(-D([x, y])) + softplus(D([x, G(x)]))
    with D on the channel concatenation and the trainer's keys; `loss.weights.adversarial=0` leaves 100 L1."""
    config = _config(emoji_data_dir, *EVAL)
    info = pipeline.output_info(config.data)
    task = gan.create_task(config, info, one_device_mesh)  # the trained fixture's task: its init compiled once
    game = paired.build(config, info, None)
    state = task.init(jax.random.key(0))
    params, model_state = state["params"], state["model_state"]
    ka, kb, rng = jax.random.split(jax.random.key(1), 3)
    batch = {"a": jax.random.uniform(ka, (2, 8, 8, 3), minval=-1), "b": jax.random.uniform(kb, (2, 8, 8, 3),
                                                                                                minval=-1)}

    def by_hand(batch):
        def g(x, key):
            return game.modules["g"].apply({"params": params["g"], **model_state["g"]}, x, train=True,
                                           rngs={"dropout": key}, mutable=["batch_stats"])[0]

        def d(x, y):
            return game.modules["d"].apply({"params": params["d"], **model_state["d"]}, jnp.concatenate([x, y], -1),
                                           train=True, mutable=["batch_stats"])[0]

        k_in, _, _, _ = jax.random.split(jax.random.fold_in(jax.random.fold_in(rng, 0), 0), 4)
        _, kg, _, _ = jax.random.split(jax.random.fold_in(rng, 1), 4)
        fake_d, fake_g = g(batch["a"], k_in), g(batch["a"], kg)
        d_loss = (jnp.mean(jax.nn.softplus(-d(batch["a"], batch["b"])))
                  + jnp.mean(jax.nn.softplus(d(batch["a"], fake_d))))
        l1 = jnp.mean(jnp.abs(fake_g - batch["b"]))
        g_loss = jnp.mean(jax.nn.softplus(-d(batch["a"], fake_g))) + 100.0 * l1
        return d_loss, g_loss, l1

    l1_only = gan.create_task(_config(emoji_data_dir, *EVAL, "loss.weights.adversarial=0.0"), info, one_device_mesh)
    (d_loss, g_loss, l1), losses, l1_losses = jax.jit(lambda b: (
        by_hand(b), task.losses(params, state, b, rng), l1_only.losses(params, state, b, rng)))(batch)  # one program
    np.testing.assert_allclose(losses["d_loss"], d_loss, rtol=1e-5)
    np.testing.assert_allclose(losses["g_loss"], g_loss, rtol=1e-5)
    np.testing.assert_allclose(l1_losses["g_loss"], 100.0 * l1, rtol=1e-5)


def test_direction_and_edges_to_colour(emoji_data_dir):
    """edges2emoji a -> b: G maps 1 channel to 3, D reads the 4-channel concatenation; b_to_a swaps them."""
    for direction, (g_in, g_out) in [("a_to_b", (1, 3)), ("b_to_a", (3, 1))]:
        config = _config(emoji_data_dir, f"data.direction={direction}", spec="configs/pix2pix_emoji.py:edges,tiny")
        game = paired.build(config, pipeline.output_info(config.data), None)
        params = jax.eval_shape(game.init, jax.random.key(0))[0]
        assert params["g"]["down0"]["kernel"].shape[2] == g_in and params["g"]["up2"]["kernel"].shape[3] == g_out
        assert params["d"]["conv0"]["kernel"].shape[2] == 4


@pytest.mark.parametrize("unpaired", [None, "openmoji"])
def test_an_unpaired_dataset_is_a_one_line_error_naming_data_pair(emoji_data_dir, unpaired):
    config = _config(emoji_data_dir, "data.pair=False")
    if unpaired:  # CycleGAN's two unpaired streams
        with config.unlocked():
            config.data.name, config.data.unpaired = "twemoji", unpaired
    with pytest.raises(ConfigError, match="data.pair=True") as error:
        gan.create_task(config, pipeline.output_info(config.data), None)
    assert "\n" not in str(error.value)


def test_tiny_run_grids_and_held_out_metrics(trained):
    workdir, state = trained
    assert int(state["step"]) == 4 and set(state["params"]) == {"g", "d"}
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert {"d_loss", "g_loss", "g_l1", "d_real", "d_fake"} <= set(rows[0])
    evaluated = [r for r in rows if "l1_test" in r]
    assert len(evaluated) == 1 and evaluated[0]["step"] == 4
    assert 0 < evaluated[0]["l1_test"] < 2 and 0 < evaluated[0]["psnr_test"] < 60
    assert Image.open(os.path.join(workdir, "samples", "step_0000004.png")).size == (2 * 10 + 2, 2 * 10 + 2)


def test_stop_and_resume_is_exact(trained, emoji_data_dir, tmp_path, one_device_mesh):
    gan.train_and_evaluate(_config(emoji_data_dir, *EVAL, "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    state = gan.train_and_evaluate(_config(emoji_data_dir, *EVAL), str(tmp_path), mesh=one_device_mesh)
    assert max_diff(jax.device_get(state), trained[1]) == 0.0


def test_cli_sample_translates_an_image_file_and_load_samples_with_dropout_noise(trained, tmp_path):
    workdir, _ = trained
    picture = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    picture.paste((0, 0, 255, 255), (5, 5, 15, 15))
    path, out = str(tmp_path / "input.png"), str(tmp_path / "out.png")
    picture.save(path)
    assert cli.main(["sample", "--workdir", workdir, "--source", path, "--out", out, "--seed", "3"]) == 0
    grid = np.asarray(Image.open(out)).astype(np.float32) / 127.5 - 1
    assert grid.shape == (2 + 10, 2 * 10 + 2, 3)  # one row: the input beside its translation
    source = images.read_images(path, (8, 8, 3))
    assert np.all(source[0, 0, 0] == 1.0) and np.all(source[0, 4, 4] == [-1.0, -1.0, 1.0])  # on white, 8 px
    np.testing.assert_allclose(grid[2:10, 2:10], source[0], atol=1 / 127.5)
    model = jaxgen.load(workdir)
    first, again, other = (model.sample(1, seed=s, source=path) for s in (3, 3, 4))
    np.testing.assert_allclose(grid[2:10, 12:20], first[0], atol=1 / 127.5)
    assert np.array_equal(first, again) and not np.allclose(first, other)  # dropout at test time: the noise
    with pytest.raises(ConfigError, match=r"source=\[2, 8, 8, 3\]"):
        model.sample(2, source=source)


def test_cli_eval_runs_the_held_out_protocol(trained, capsys):
    workdir, _ = trained
    assert cli.main(["eval", "--workdir", workdir, "--metrics", "l1,psnr"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["step"] == 4 and set(line) == {"step", "workdir", "l1_test", "psnr_test"}
    rows = [json.loads(row) for row in open(os.path.join(workdir, "metrics.jsonl"))]
    assert rows[-1]["l1_test"] == line["l1_test"] and rows[-1]["eval_seed"] == 0
