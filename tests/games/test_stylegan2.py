"""StyleGAN2 (jaxgen.models.stylegan2) in the classic game: the path-length term in W against central finite
differences of ``<styles(ws), y>`` over every coordinate of the ws, and configs/stylegan2_emoji.py:tiny (Twemoji at
8 x 8, lazy R1 and path length every 2 steps, so both lazy phases run in steps 0 and 2) trained 4 steps: every
phase ran, the path length's moving mean and the average w are in the state, a run stopped after 2 steps resumes
bit for bit (its lazy phases after the resume included), and ``jaxgen.load`` samples from it."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgen
from jaxgen import config as config_lib
from jaxgen.engine import workdir as workdir_lib
from jaxgen.games import unconditional
from jaxgen.games.base import Players
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/stylegan2_emoji.py:tiny"
INFO = {"image_shape": (8, 8, 3)}


def _config(data_dir, *overrides):
    return config_lib.load(TINY, [f"data.data_dir={data_dir}", "checkpoint_every=2", "sample_every=1000",
                                  "fuse_phases=False", *overrides])  # the four phases only: no fused program


def test_path_length_in_w_against_central_differences():
    """``sqrt(mean_l ||d<styles(ws), y> / d ws_l||^2)`` per example from 2 x 128 evaluations of G's synthesis at
    ws +- h e_k (the ws of a training call: mapping and mixing), y ~ N(0, I) / sqrt(HW); the term and the moving
    mean from those lengths."""
    config = config_lib.load(TINY)
    game = unconditional.build(config, INFO, None)
    rng = np.random.default_rng(0)
    params, model_state = (jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), tree)
                           for tree in jax.eval_shape(game.init, jax.random.key(0)))
    key = jax.random.key(5)
    terms, reg_state = jax.jit(lambda p, m: game.g_reg(Players(game.modules, p, m), {}, key,
                                                       {"pl_mean": jnp.zeros(())}))(params, model_state)

    g, variables = game.modules["g"], {"params": params["g"], **model_state["g"]}
    kz, kn, kg, _ = jax.random.split(key, 4)
    kw, kg = jax.random.split(kg)

    @jax.jit
    def lengths_by_differences():
        ws = g.apply(variables, game.family.latent(kz, 4, config.model), train=True, method="latents",
                     rngs={"dropout": kw})  # [4, 4, 8]
        y = jax.random.normal(kn, (4, 8, 8, 3)) / math.sqrt(8 * 8)

        def inner(ws):  # <styles(ws), y> per example, the noise of the g_reg pass
            return jnp.sum(g.apply(variables, ws, method="styles", rngs={"dropout": kg}) * y, axis=(1, 2, 3))

        h, basis = 1e-2, jnp.eye(ws[0].size).reshape(-1, *ws.shape[1:])
        diff = jax.vmap(lambda e: (inner(ws + h * e) - inner(ws - h * e)) / (2 * h))(basis)  # [32, 4]
        grads = diff.T.reshape(ws.shape)  # examples do not interact: each ws row moves its own image only
        return jnp.sqrt(jnp.mean(jnp.sum(grads**2, axis=2), axis=1))

    lengths = lengths_by_differences()
    a = unconditional.PL_DECAY * jnp.mean(lengths)
    np.testing.assert_allclose(reg_state["pl_mean"], a, rtol=5e-3)  # float32 differences across LReLU kinks
    np.testing.assert_allclose(terms["path_length"], jnp.mean((lengths - a) ** 2), rtol=1e-2)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("stylegan2"))
    return workdir, jax.device_get(gan.train_and_evaluate(_config(emoji_data_dir), workdir, mesh=one_device_mesh))


def test_tiny_trains_every_phase_and_keeps_its_state(uninterrupted):
    workdir, state = uninterrupted
    assert int(state["step"]) == 4 and all(np.isfinite(x).all() for x in jax.tree.leaves(state))
    logged = [line for line in open(f"{workdir}/metrics.jsonl")]
    assert all('"penalty"' in line and '"g_path_length"' in line for line in logged) and len(logged) == 2
    assert float(state["reg_state"]["pl_mean"]) > 0  # moved from 0 by the G-reg phases
    assert np.abs(state["model_state"]["g"]["batch_stats"]["w_avg"]).sum() > 0
    assert set(state["params"]["g"]) == {"mapping_network", "synthesis"} and set(state["ema"]) == {
        "mapping_network", "synthesis"}


def test_stop_and_resume_is_exact(uninterrupted, emoji_data_dir, tmp_path, one_device_mesh):
    first = jax.device_get(gan.train_and_evaluate(_config(emoji_data_dir, "num_steps=2"), str(tmp_path),
                                                  mesh=one_device_mesh))
    assert int(first["step"]) == 2
    resumed = jax.device_get(gan.train_and_evaluate(_config(emoji_data_dir), str(tmp_path), mesh=one_device_mesh))
    assert jax.tree.structure(resumed) == jax.tree.structure(uninterrupted[1])
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(uninterrupted[1])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_samples_through_the_api(uninterrupted, one_device_mesh, monkeypatch):
    monkeypatch.setattr(workdir_lib.sharding, "make_mesh", lambda: one_device_mesh)  # the run's compiled task
    model = jaxgen.load(uninterrupted[0])
    images = model.sample(4, seed=3)
    assert images.shape == (4, 8, 8, 3) and np.isfinite(images).all() and len(np.unique(images)) > 100
    np.testing.assert_array_equal(model.sample(4, seed=3), images)
    assert not np.allclose(model.sample(4, seed=4), images)
