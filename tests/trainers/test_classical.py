"""The classical trainer (GMM by EM, PPCA in closed form) on the shared engine: evaluation, no-op steps, resume."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen import data as data_lib
from jaxgen.errors import ConfigError
from jaxgen.losses import likelihood
from jaxgen.models import gmm, pca
from jaxgen.trainers import classical

TINY = {"gmm": "configs/gmm_mnist.py:tiny", "pca": "configs/pca_lfw.py:tiny"}
SHAPES = {"gmm": (28, 28, 1), "pca": (25, 25, 1)}


def _config(name, *overrides):
    return config_lib.load(TINY[name], list(overrides))


@pytest.fixture(scope="module", params=["gmm", "pca"])
def tiny_run(request, tmp_path_factory, data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp(request.param))
    state = classical.train_and_evaluate(_config(request.param), workdir, mesh=one_device_mesh)
    return request.param, workdir, jax.device_get(state)


def test_evaluation_is_the_log_prob_of_the_test_split(tiny_run):
    name, workdir, state = tiny_run
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [r for r in rows if "test_nll_bpd" in r]
    assert [r["step"] for r in evals] == [2, 4]
    config = _config(name)
    images = data_lib.read_split(config.data, "test")["image"]
    x = likelihood.eval_data_space(jnp.asarray(images), "continuous", 0).reshape(len(images), -1)
    params = gmm.best(state["fit"])[0] if name == "gmm" else state["fit"]
    nll = -float(jnp.mean((gmm if name == "gmm" else pca).log_prob(params, x)))
    assert np.isfinite(evals[-1]["test_nll_bpd"]) and 0 < evals[-1]["test_nll_bpd"] < 8
    assert evals[-1]["test_nll_nats"] == pytest.approx(nll, rel=1e-5)
    assert evals[-1]["test_nll_bpd"] == pytest.approx((nll / x.shape[1] + np.log(256)) / np.log(2), rel=1e-5)
    assert ("train_bic" in evals[-1]) == (name == "gmm")
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))


def test_resume_is_exact(tiny_run, tmp_path, one_device_mesh):
    name, _, expected = tiny_run
    classical.train_and_evaluate(_config(name, "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    state = classical.train_and_evaluate(_config(name), str(tmp_path), mesh=one_device_mesh)
    for x, y in zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(expected)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_steps_after_convergence_are_no_ops_and_samples_are_images(tiny_run, one_device_mesh):
    name, _, state = tiny_run
    task = classical.create_task(_config(name), {"image_shape": SHAPES[name]}, one_device_mesh)
    if name == "gmm":  # mark every restart converged, as EM does once |Δ lower bound| < tol
        state = {**state, "fit": {**state["fit"], "converged": np.ones_like(state["fit"]["converged"])}}
    after, metrics = task.step(state, None, jax.random.key(9), 4)
    assert metrics == {} and int(after["step"]) == 5
    for x, y in zip(jax.tree.leaves(after["fit"]), jax.tree.leaves(state["fit"])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    images = np.asarray(task.generate(state, jax.random.key(0), 16))
    assert images.shape == (16, *SHAPES[name]) and images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("override, match", [
    ("model.name='kmeans'", r"model.name.*\['gmm', 'pca'\].*'kmeans'"),
    ("model.num_components=784", r"model.num_components.*1\.\.783"),
    ("model.covariance_type='tied'", r"model.covariance_type.*'full', 'diag'"),
])
def test_bad_model_keys_are_config_errors(override, match, one_device_mesh):
    with pytest.raises(ConfigError, match=match):
        classical.create_task(_config("gmm", override), {"image_shape": (28, 28, 1)}, one_device_mesh)
