"""The cycle game on images (CycleGAN: ResNet generators, PatchGANs, LSGAN, cycle and identity L1, the history pool)
on the emoji test subset: its terms against hand computation, the pool against a NumPy transcription of the
authors' rule, a tiny run with held-out evaluation both ways, exact resume with the pools, `jaxgen sample --source`,
and bad input as one-line errors. The points variant: tests/games/test_cycle.py."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.errors import ConfigError, DataError
from jaxgen.games import cycle
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)
from tests.trees import max_diff

TINY = "configs/cyclegan_emoji.py:tiny"
EVAL = ["eval.every=4", "eval.metrics=l1,psnr"]  # SSIM needs 11 px; the tiny images are 16, KID a feature net


def _config(emoji_data_dir, *overrides):
    return config_lib.load(TINY, [f"data.data_dir={emoji_data_dir}", *overrides])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("cyclegan"))
    state = gan.train_and_evaluate(_config(emoji_data_dir, *EVAL), workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def numpy_pool(images, count, fakes, draws, slots):
    """The authors' ImagePool.query, transcribed: (returned, images, count)."""
    images, out = np.array(images), []
    for fake, u, slot in zip(fakes, draws, slots):
        if count < len(images):
            images[count] = fake
            count += 1
            out.append(fake)
        elif u > 0.5:
            out.append(images[slot].copy())
            images[slot] = fake
        else:
            out.append(fake)
    return np.stack(out), images, count


def test_pool_fills_then_swaps_with_probability_one_half_as_numpy():
    rng = np.random.default_rng(0)
    pool, expected = cycle.pool_init(3, (2, 2, 1)), (np.zeros((3, 2, 2, 1), np.float32), 0)
    query = jax.jit(cycle.pool_query)
    for n in (2, 6, 5):  # part of the fill, the rest of it and swaps, swaps only
        fakes = rng.normal(size=(n, 2, 2, 1)).astype(np.float32)
        draws, slots = rng.uniform(size=n).astype(np.float32), rng.integers(0, 3, n)
        out, pool = query(pool, fakes, draws, slots)
        want, *expected = numpy_pool(*expected, fakes, draws, slots)
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(pool["images"], expected[0])
        assert int(pool["count"]) == expected[1]
    assert int(pool["count"]) == 3 and not np.array_equal(out, fakes)  # full, and some fakes came from the pool
    draws, slots = cycle.pool_draws(jax.random.key(0), 1000, 3)
    assert 0.45 < float(jnp.mean(draws > 0.5)) < 0.55 and set(np.unique(slots)) == {0, 1, 2}


def test_terms_against_hand_computation(emoji_data_dir, one_device_mesh):
    """D: sum over critics of 1/2 E (D(x) - 1)^2 + 1/2 E D(fake)^2 (the paper's D objective halved); G: 2 x 1/2 E
    (D(fake) - 1)^2 per critic + 10 cycle L1 + 5 identity L1 (the authors' MSE(D(fake), 1) + 10 cycle + 5 idt)."""
    config = _config(emoji_data_dir, *EVAL)
    info = pipeline.output_info(config.data)
    task = gan.create_task(config, info, one_device_mesh)  # the trained fixture's task
    game = cycle.build(config, info, None)
    state = task.init(jax.random.key(0))
    assert set(state["game_state"]) == {"fake_a", "fake_b"} and int(state["game_state"]["fake_a"]["count"]) == 0
    params = state["params"]
    ka, kb = jax.random.split(jax.random.key(1))
    batch = {"a": jax.random.uniform(ka, (2, 16, 16, 3), minval=-1), "b": jax.random.uniform(kb, (2, 16, 16, 3),
                                                                                                  minval=-1)}

    def net(name, x):
        return game.modules[name].apply({"params": params[name]}, x, train=True)

    def by_hand(a, b):
        fake_b, fake_a = net("g_ab", a), net("g_ba", b)
        d_loss = sum(0.5 * jnp.mean((net(d, real) - 1) ** 2) + 0.5 * jnp.mean(net(d, fake) ** 2)
                     for d, real, fake in (("d_a", a, fake_a), ("d_b", b, fake_b)))
        cyc = jnp.mean(jnp.abs(net("g_ba", fake_b) - a)) + jnp.mean(jnp.abs(net("g_ab", fake_a) - b))
        idt = jnp.mean(jnp.abs(net("g_ab", b) - b)) + jnp.mean(jnp.abs(net("g_ba", a) - a))
        adv = jnp.mean((net("d_a", fake_a) - 1) ** 2) + jnp.mean((net("d_b", fake_b) - 1) ** 2)
        return d_loss, adv + 10 * cyc + 5 * idt

    (d_loss, g_loss), losses = jax.jit(lambda b: (by_hand(b["a"], b["b"]),
                                                  task.losses(params, state, b, jax.random.key(2))))(batch)
    np.testing.assert_allclose(losses["d_loss"], d_loss, rtol=1e-5)
    np.testing.assert_allclose(losses["g_loss"], g_loss, rtol=1e-5)


def test_tiny_run_grids_pools_and_held_out_metrics_both_ways(trained):
    workdir, state = trained
    assert int(state["step"]) == 4 and set(state["params"]) == {"g_ab", "g_ba", "d_a", "d_b"}
    for pool in state["game_state"].values():  # 4 steps of 2 fakes through pools of 3
        assert int(pool["count"]) == 3 and np.all(np.abs(pool["images"]) > 0)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert {"d_loss", "g_loss", "g_cycle", "g_identity", "d_real_d_a", "d_fake_d_b"} <= set(rows[0])
    evaluated = [r for r in rows if "l1_test_a2b" in r]
    assert len(evaluated) == 1 and evaluated[0]["step"] == 4
    for tag in ("a2b", "b2a"):
        assert 0 < evaluated[0][f"l1_test_{tag}"] < 2 and 0 < evaluated[0][f"psnr_test_{tag}"] < 60
    grid = Image.open(os.path.join(workdir, "samples", "step_0000004.png"))
    assert grid.size == (3 * 18 + 2, 2 * 18 + 2)  # two rows (a, g_ab(a), g_ba(g_ab(a))) of 16 px images


def test_stop_and_resume_is_exact_pools_included(trained, emoji_data_dir, tmp_path, one_device_mesh):
    gan.train_and_evaluate(_config(emoji_data_dir, *EVAL, "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    state = jax.device_get(gan.train_and_evaluate(_config(emoji_data_dir, *EVAL), str(tmp_path),
                                                  mesh=one_device_mesh))
    assert max_diff(state, trained[1]) == 0.0  # params, optimizer states and the pools' images and counts


def test_cli_sample_translates_an_image_file_from_a_to_b(trained, tmp_path):
    workdir, state = trained
    picture = Image.new("RGB", (24, 24), (255, 255, 255))
    picture.paste((200, 30, 30), (6, 6, 18, 18))
    path, out = str(tmp_path / "input.png"), str(tmp_path / "out.png")
    picture.save(path)
    assert cli.main(["sample", "--workdir", workdir, "--source", path, "--out", out]) == 0
    assert Image.open(out).size == (2 * 18 + 2, 18 + 2)  # the input beside its translation


def test_bad_input_is_one_line_errors(emoji_data_dir):
    def refused(error, fragment, config, info=None):
        with pytest.raises(error, match=fragment) as caught:
            cycle.build(config, info or pipeline.output_info(config.data), None)
        assert "\n" not in str(caught.value)

    config = _config(emoji_data_dir)
    with config.unlocked():
        config.data.unpaired = None
    refused(ConfigError, "set data.unpaired", config)
    refused(DataError, "data.unpaired .*unknown dataset 'nosuch'", _config(emoji_data_dir, "data.unpaired=nosuch"))
    paired = _config(emoji_data_dir, "data.name=emoji_pairs")
    with paired.unlocked():
        paired.data.unpaired, paired.data.pair = None, True
    refused(ConfigError, "data.pair=False", paired)
    refused(ConfigError, "one image shape", _config(emoji_data_dir),
            {"images": {"a": (16, 16, 3), "b": (16, 16, 1)}})
    refused(ConfigError, "multiples of 4", _config(emoji_data_dir, "data.image_size=18"))
    with pytest.raises(ConfigError, match="config key 'loss.pool_size' must not be negative"):
        _config(emoji_data_dir, "loss.pool_size=-1")  # refused when the config loads, before the game
    config = _config(emoji_data_dir, "eval.pairs=")
    with pytest.raises(ConfigError, match="set eval.pairs"):
        cycle.build(config, pipeline.output_info(config.data), None).pairs(config, "test")


def test_a_cycle_config_saved_before_the_adversarial_weight_upgrades():
    tree = json.loads(config_lib.to_json(config_lib.load("configs/cycle_toy.py")))
    del tree["loss"]["weights"]["adversarial"]
    assert config_lib.upgrade(tree)["loss"]["weights"] == {"adversarial": 1.0, "cycle": 10.0, "identity": 0.0}
