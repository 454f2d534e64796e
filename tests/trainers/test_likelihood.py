"""The likelihood trainer: a tiny VAE trains, evaluates with the protocol's names, samples and resumes exactly."""

import json
import os

import jax
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import likelihood

TINY = "configs/vae_mnist.py:tiny"


def _config(spec=TINY, *overrides):
    return config_lib.load(spec, list(overrides))


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory, data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("vae"))
    state = likelihood.train_and_evaluate(_config(), workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def test_evaluation_reports_the_bounds_in_nats(tiny_vae):
    workdir, _ = tiny_vae
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [r for r in rows if "test_elbo_nats" in r]
    assert [r["step"] for r in evals] == [2, 4]
    last = evals[-1]
    assert {"test_iwae1_nats", "test_iwae3_nats"} <= set(last)
    # A binarised 28x28 image costs at most 784 ln 2 nats under a sensible model; these bounds are finite
    # and the tighter bound is not worse than the ELBO by more than noise.
    assert all(np.isfinite(last[k]) for k in last if k.startswith("test_"))
    assert last["test_iwae3_nats"] <= last["test_elbo_nats"] + 1.0
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))


def test_resume_is_exact(tiny_vae, tmp_path, one_device_mesh):
    _, uninterrupted = tiny_vae
    likelihood.train_and_evaluate(_config(TINY, "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    resumed = likelihood.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    for a, b in zip(jax.tree.leaves(uninterrupted), jax.tree.leaves(jax.device_get(resumed))):
        np.testing.assert_array_equal(a, b)


def test_conditional_pixelcnn_resumes_exactly_and_reports_exact_nll(tmp_path, one_device_mesh):
    spec = "configs/gated_pixelcnn_mnist.py:cond,tiny"
    whole = jax.device_get(likelihood.train_and_evaluate(_config(spec), str(tmp_path / "a"), mesh=one_device_mesh))
    likelihood.train_and_evaluate(_config(spec, "num_steps=2"), str(tmp_path / "b"), mesh=one_device_mesh)
    resumed = likelihood.train_and_evaluate(_config(spec), str(tmp_path / "b"), mesh=one_device_mesh)
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(jax.device_get(resumed))):
        np.testing.assert_array_equal(a, b)
    rows = [json.loads(line) for line in open(tmp_path / "a" / "metrics.jsonl")]
    assert np.isfinite([r for r in rows if "test_nll_nats" in r][-1]["test_nll_nats"])
    assert (tmp_path / "a" / "samples" / "step_0000004.png").exists()  # one row per class


@pytest.mark.parametrize("spec,metric", [("configs/ae_mnist.py:tiny", "test_reconstruction_nats"),
                                         ("configs/vae_mnist.py:8bit,tiny", "test_elbo_bpd"),
                                         ("configs/vae_mnist.py:gaussian,conv,tiny", "test_elbo_bpd")])
def test_variants_train_and_report_their_units(spec, metric, tmp_path, one_device_mesh):
    config = _config(spec, "num_steps=2")
    likelihood.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert np.isfinite([r for r in rows if metric in r][-1][metric])


def test_iwae_needs_a_vae(tmp_path, one_device_mesh):
    with pytest.raises(ConfigError, match="eval.iwae_samples"):
        likelihood.train_and_evaluate(_config("configs/ae_mnist.py:tiny", "eval.iwae_samples=(5,)"), str(tmp_path),
                                      mesh=one_device_mesh)
