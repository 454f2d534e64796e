"""Configs of the classical trainer (`jaxgen.trainers.classical`): Gaussian mixtures by EM and (P)PCA."""

from __future__ import annotations

import ml_collections

from jaxgen import config as config_lib

MODELS = ("gmm", "pca")  # jaxgen.trainers.classical.FAMILIES


def default_config(model: str, dataset: str, arg=None) -> ml_collections.ConfigDict:
    """A `model` ("gmm": 10 full-covariance components, 1 restart, at most 100 EM iterations; "pca": PPCA with
    50 components) on `dataset`'s train split, evaluated on its test split at the end."""
    if model not in MODELS:
        raise ValueError(f"unknown classical model {model!r}; known: {', '.join(MODELS)}")
    num_steps = 100 if model == "gmm" else 1  # EM iterations; a closed form needs one step
    config = config_lib.experiment_config("classical", num_steps=num_steps, batch_size=16,  # loader unused
                                          log_every=min(10, num_steps), sample_every=num_steps,
                                          checkpoint_every=min(50, num_steps), dataset=dataset)
    config.num_samples = 64
    config.eval = ml_collections.ConfigDict(dict(every=num_steps, split="test", best_metric=""))
    config.model = ml_collections.ConfigDict(
        dict(name="gmm", num_components=10, covariance_type="full", n_init=1, tol=1e-3, reg_covar=1e-6)
        if model == "gmm" else dict(name="pca", num_components=50))
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.eval.every = 2
        config.model.num_components = 3
        if model == "gmm":
            config.model.covariance_type = "diag"  # full covariances are tested in tests/models/test_gmm.py
            config.model.n_init = 2
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
