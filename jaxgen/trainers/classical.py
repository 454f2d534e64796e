"""Classical density models fitted to a whole training split: Gaussian mixtures by EM, PCA / PPCA in closed form.

`config.model.name` picks the family (`FAMILIES`): "gmm" (`jaxgen.models.gmm`: one step is one EM iteration
of every restart, vmapped; once all restarts have converged the steps are no-ops) or "pca"
(`jaxgen.models.pca`: step 1 computes the PPCA closed form, later steps are no-ops). The model sees the
training split once, in the data space "continuous" of `jaxgen.losses.likelihood` (uniformly dequantised
[0, 1), with a noise key drawn at init and kept in the state), flattened to [N, D]. The loader the shared
loop builds is never read (`batch_size` only has to fit the split).

Before step 1 the model is the isotropic Gaussian N(1/2, I/12) (the moments of U[0, 1]^D), so the step-0
sample grid is noise. ``task.evaluate`` scores the test split (`eval.split`) with the fixed evaluation noise
of `eval_data_space`: ``<split>_nll_nats`` (per image), ``<split>_nll_bpd`` (`dequantized_bits_per_dim`,
an upper bound on the 8-bit data's) and, for a mixture, ``train_bic`` (sklearn's BIC on the training data).
``task.generate`` draws model samples clipped to [0, 1] and mapped to [-1, 1].

State pytree: ``{"step": int32[], "data_key": uint32[2], "fit": the family's state}``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections.abc import Callable
from types import ModuleType

import jax
import jax.numpy as jnp
import ml_collections

from jaxgen import data as data_lib
from jaxgen.engine import compilation, loop, sharding
from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.losses import likelihood
from jaxgen.models import gmm, pca

DATA_SPACE = "continuous"
PRIOR_MEAN, PRIOR_VARIANCE = 0.5, 1.0 / 12.0  # the moments of U[0, 1]


@dataclasses.dataclass(frozen=True)
class Family:
    """A classical model as functions of `config.model` (m), the data x [N, D] and its fit state.

    prior:   (m, D) -> fit state before any data. start: (m, rng, x) -> fit state at step 0 (before `update`).
    update:  (m, fit, x) -> (fit, {"train_log_likelihood": mean log p of the training images, …}).
    done:    fit -> whether further steps change nothing (then `done_message` is logged once).
    params:  fit -> the params `module` scores and samples.
    check:   (m, fit, x) -> None, or a JaxgenError on a fit that cannot be scored.
    extra_metrics: (params, x_train) -> evaluation metrics beyond the NLL.
    """

    module: ModuleType
    prior: Callable
    start: Callable
    update: Callable
    done: Callable
    params: Callable
    done_message: str
    check: Callable = lambda m, fit, x: None  # noqa: E731
    extra_metrics: Callable = lambda params, x: {}  # noqa: E731


def _gmm_update(m, fit, x):
    fit = gmm.restarts_update(fit, x, m.tol, m.reg_covar)
    return fit, {"train_log_likelihood": jnp.max(fit["lower_bound"]),
                 "restarts_converged": jnp.sum(fit["converged"])}


def _pca_check(m, fit, x):
    if not float(fit["noise_variance"]) > 0:
        raise JaxgenError(f"model.num_components={m.num_components} leaves no variance for the PPCA noise "
                          f"({x.shape[0]} training images span at most {x.shape[0] - 1} directions); "
                          f"use fewer components")


GMM = Family(
    module=gmm,
    prior=lambda m, dim: gmm.restarts_from(jax.tree.map(
        lambda v: jnp.broadcast_to(v, (m.n_init, *v.shape)),
        gmm.isotropic(m.num_components, dim, m.covariance_type, PRIOR_MEAN, PRIOR_VARIANCE))),
    start=lambda m, rng, x: gmm.restarts_init(rng, x, m.num_components, m.covariance_type, m.n_init, m.reg_covar),
    update=_gmm_update,
    done=lambda fit: bool(jnp.all(fit["converged"])),
    params=lambda fit: gmm.best(fit)[0],
    done_message="EM converged: every restart changed its mean log-likelihood by less than model.tol",
    extra_metrics=lambda params, x: {"train_bic": gmm.bic(params, x)},
)
PCA = Family(
    module=pca,
    prior=lambda m, dim: pca.isotropic(dim, m.num_components, PRIOR_MEAN, PRIOR_VARIANCE),
    start=lambda m, rng, x: pca.fit(x, m.num_components),
    update=lambda m, fit, x: (fit, {"train_log_likelihood": jnp.mean(pca.log_prob(fit, x)),
                                    "noise_variance": fit["noise_variance"]}),
    done=lambda fit: True,
    params=lambda fit: fit,
    done_message="PPCA fitted in closed form",
    check=_pca_check,
)
FAMILIES = {"gmm": GMM, "pca": PCA}


def family(config) -> Family:
    name = config.model.name
    if name not in FAMILIES:
        raise ConfigError(f"config key 'model.name' of the classical trainer must be one of {list(FAMILIES)}, "
                          f"got {name!r}")
    return FAMILIES[name]


def _check(config, dim: int) -> None:
    m = config.model
    if not 1 <= m.num_components < dim:
        raise ConfigError(f"config key 'model.num_components' must be in 1..{dim - 1} (the data has D = {dim}), "
                          f"got {m.num_components}")
    if m.name == "gmm":
        if m.covariance_type not in gmm.COVARIANCE_TYPES:
            raise ConfigError(f"config key 'model.covariance_type' must be one of {gmm.COVARIANCE_TYPES}, "
                              f"got {m.covariance_type!r}")
        if m.n_init < 1:
            raise ConfigError(f"config key 'model.n_init' (EM restarts) must be >= 1, got {m.n_init}")


# Jitted once per (family name, frozen `config.model`) at module level, so every task of a process (a resumed
# run, `jaxgen sample`) reuses the compiled programs.
@functools.partial(jax.jit, static_argnums=(0, 1))
def _start(name, m, rng, x):
    return FAMILIES[name].start(m, rng, x)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _update(name, m, fit, x):
    return FAMILIES[name].update(m, fit, x)


@functools.partial(jax.jit, static_argnums=0)
def _mean_nll_and_extras(name, fit, x_eval, x_train):
    fam = FAMILIES[name]
    params = fam.params(fit)
    return -jnp.mean(fam.module.log_prob(params, x_eval)), fam.extra_metrics(params, x_train)


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _generate(name, fit, rng, n, image_shape):
    fam = FAMILIES[name]
    x = fam.module.sample(fam.params(fit), rng, n)
    return likelihood.to_images(x.reshape(n, *image_shape), DATA_SPACE)


def create_task(config, info: dict, mesh) -> loop.Task:
    """The classical fit of `config.model` to the images of `info["image_shape"]`."""
    fam, name, m = family(config), config.model.name, ml_collections.FrozenConfigDict(config.model)
    image_shape = tuple(info["image_shape"])
    dim = math.prod(image_shape)
    _check(config, dim)
    split = config.eval.split
    replicated = sharding.replicated(mesh)
    cache = {}  # the data, read once: "train" (noise of the state's data key) and "eval" (evaluation noise)

    def data(role: str, state) -> jax.Array:
        """The training or evaluation split in the data space, flattened [N, D], replicated on the mesh."""
        if role not in cache:
            images = jnp.asarray(data_lib.read_split(config.data, config.data.split if role == "train" else split)["image"])
            x = (likelihood.to_data_space(images, DATA_SPACE, jax.random.wrap_key_data(state["data_key"]))
                 if role == "train" else likelihood.eval_data_space(images, DATA_SPACE, 0))
            cache[role] = jax.device_put(x.reshape(x.shape[0], dim), replicated)
        return cache[role]

    def init(rng):
        return {"step": jnp.zeros((), jnp.int32), "data_key": jax.random.key_data(rng), "fit": fam.prior(m, dim)}

    def step(state, next_batch, rng, step_index):
        del next_batch  # the whole training split is in memory
        if step_index > 0 and fam.done(state["fit"]):
            return {**state, "step": state["step"] + 1}, {}
        x = data("train", state)
        fit, metrics = _update(name, m, _start(name, m, rng, x) if step_index == 0 else state["fit"], x)
        fam.check(m, fit, x)
        if fam.done(fit):
            print(f"step {step_index + 1}: {fam.done_message}; later steps are no-ops", file=sys.stderr)
        metrics["train_bits_per_dim"] = likelihood.dequantized_bits_per_dim(-metrics["train_log_likelihood"], dim)
        return {**state, "step": state["step"] + 1, "fit": fit}, metrics

    def generate(state, rng, n, labels=None):
        del labels  # unconditional
        return _generate(name, state["fit"], rng, n, image_shape)

    def evaluate(state, rng=None):
        """`{"<split>_nll_nats", "<split>_nll_bpd"}` over the whole eval split (+ the family's extras)."""
        del rng
        nll, extras = _mean_nll_and_extras(name, state["fit"], data("eval", state), data("train", state))
        return {**likelihood.report(f"{split.split('[')[0]}_nll", float(nll), DATA_SPACE, dim),
                **{k: float(v) for k, v in extras.items()}}

    return loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=generate, evaluate=evaluate)


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Fits the classical model of `config` in `workdir` (resuming if it holds checkpoints); returns the state."""
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
