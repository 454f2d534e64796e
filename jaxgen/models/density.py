"""The contract between likelihood models (VAE, PixelCNN, …) and the likelihood trainer.

A likelihood family module `jaxgen.models.<name>` exposes ``default_config()`` (its `config.model` keys,
including ``data``: the data space it models, one of `jaxgen.losses.likelihood.KINDS`) and
``density(cfg, image_shape, num_classes) -> Density``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

Params = Any


@dataclasses.dataclass(frozen=True)
class Density:
    """A likelihood model as pure functions of its parameters. `x` is a batch [B, H, W, C] in the data
    space `data` (see `jaxgen.losses.likelihood`); `labels` int32 [B] or None.

    init:   (rng, x, labels) -> params.
    nll:    (params, x, rng, labels) -> (nll [B] in nats per image, metrics {name: [B]}): the exact
            negative log-likelihood when `exact`, else an upper bound on it (the negative ELBO). Training
            minimises its mean.
    sample: (params, rng, n, labels) -> x [n, H, W, C] in the data space.
    log_likelihood: optional (params, x, rng, labels, num_samples) -> [B], an estimate of log p(x) that
            tightens with `num_samples` (IWAE); None when `exact` (then log p = -nll).
    complete: optional (params, rng, x, known, labels) -> x: samples the pixels where `known` (bool
            [H, W]) is False given those where it is True (autoregressive models: `known` must be a
            prefix in raster order).
    is_density: False for a model without a likelihood (an autoencoder): `nll` is then its training loss
            (reconstruction), and no likelihood is reported for it.
    module: the Linen network these functions apply as ``module.apply({"params": params}, ...)`` (`params`
            as `init` returns them), for ``jaxgen.load(...).apply("model", ...)``; None if there is none.
    loss:   optional (params, x, rng, labels) -> (loss [B], metrics {name: [B]}): the training objective when it is
            not `nll` (a diffusion model's ε-loss); None: training minimises the mean `nll`.
    bound:  the name evaluation reports a non-exact `nll` under (``{split}_{bound}_nats``): "elbo" (VAEs), "vlb"
            or "vlb_sampled" (diffusion: the full bound, or its one-t unbiased estimate).
    """

    data: str
    exact: bool
    init: Callable[..., Params]
    nll: Callable[..., tuple[jax.Array, dict]]
    sample: Callable[..., jax.Array]
    log_likelihood: Callable[..., jax.Array] | None = None
    complete: Callable[..., jax.Array] | None = None
    is_density: bool = True
    module: Any = None
    loss: Callable[..., tuple[jax.Array, dict]] | None = None
    bound: str = "elbo"
