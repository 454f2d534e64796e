"""Parzen-window log-likelihood of test data under generated samples (Goodfellow et al. 2014, "Generative
Adversarial Nets", Table 1; their ``parzen_ll.py``).

A Gaussian window of isotropic bandwidth ``sigma`` is centred on each of the ``n`` generated samples
``c_i [n, D]`` (10,000 in the protocol), and for a test point ``x [D]``::

    log p(x) = logsumexp_i(-||x - c_i||² / (2 sigma²)) - log n - (D / 2) log(2 pi sigma²)

The protocol: ``sigma`` is chosen on a validation set from ``np.logspace(-1, 0, 10)`` (10 values from 0.1
to 1, the paper's grid for MNIST) by the highest mean log-likelihood; the test set's mean is reported with
its standard error ``std / sqrt(n_test)`` (``np.std``, ddof = 0, as ``parzen_ll.py``).

Data scale: the grid and the published numbers (MNIST: 225 ± 2 nats for the GAN) assume pixels in
``[0, 1]``; log-likelihoods shift by ``D log(scale)`` under rescaling, so the caller converts images (e.g.
``(x + 1) / 2`` from jaxgen's ``[-1, 1]``) and flattens them to ``[N, D]`` first. The estimator is known to be
a poor one in high dimension (Theis et al. 2016, "A note on the evaluation of generative models").

Computation: jitted, blocks of ``test_block`` test points × ``centre_block`` centres with a running
logsumexp, all bandwidths from one set of distances; memory ``~4 × 4 × S × test_block × centre_block``
bytes for ``S`` bandwidths (10, 256 × 1024: ~40 MB), whatever ``n`` and ``n_test``.
Distances are float32 (data centred on the centres' mean first, to limit cancellation); the
constant is added in float64.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics.checks import check_feature_pair
from jaxgen.metrics.distances import row_blocks, sq_distances, unblock

MNIST_SIGMAS = np.logspace(-1, 0, 10)  # the paper's cross-validation grid for MNIST


@partial(jax.jit, static_argnames=("test_block", "centre_block"))
def _log_sum_kernels(centres, x, inv_two_var, test_block, centre_block):
    """``logsumexp_i(-||x - c_i||² inv_two_var_s)``, ``[S, n_test]``."""
    shift = jnp.mean(centres, axis=0)
    centre_blocks, centre_valid = row_blocks(centres - shift, centre_block)
    test_blocks, _ = row_blocks(x - shift, test_block)
    num_s = inv_two_var.shape[0]

    def per_test_block(xb):
        def step(carry, inp):
            top, total = carry  # [S, B] running max and sum of exp(. - max)
            cb, ok = inp
            a = -sq_distances(xb, cb)[None] * inv_two_var[:, None, None]  # [S, B, C]
            a = jnp.where(ok[None, None, :], a, -jnp.inf)
            new_top = jnp.maximum(top, jnp.max(a, axis=2))  # finite: each block has a real centre
            total = total * jnp.exp(top - new_top) + jnp.sum(jnp.exp(a - new_top[..., None]), axis=2)
            return (new_top, total), None

        init = (jnp.full((num_s, xb.shape[0]), -jnp.inf), jnp.zeros((num_s, xb.shape[0])))
        (top, total), _ = jax.lax.scan(step, init, (centre_blocks, centre_valid))
        return (top + jnp.log(total)).T  # [B, S]

    return unblock(jax.lax.map(per_test_block, test_blocks), x.shape[0]).T


def parzen_log_likelihood(centres, x, sigma, *, test_block: int = 256, centre_block: int = 1024,
                          name: str = "test points") -> np.ndarray:
    """Log-likelihood (nats, float64) of each row of ``x [m, D]`` under the Parzen window of bandwidth
    ``sigma`` on ``centres [n, D]``: ``[m]`` for a scalar ``sigma``, ``[S, m]`` for ``S`` bandwidths.
    ``name`` says what ``x`` is in error messages."""
    centres, x = check_feature_pair(centres, x, names=("Parzen centres (generated samples)", name), min_samples=1)
    sigmas = np.asarray(sigma, np.float64)
    if sigmas.ndim > 1 or sigmas.size == 0 or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
        raise MetricError(f"Parzen bandwidth(s) {sigma!r}: give one positive sigma or a 1-D grid of them")
    grid = np.atleast_1d(sigmas)
    lse = _log_sum_kernels(jnp.asarray(centres, jnp.float32), jnp.asarray(x, jnp.float32),
                           jnp.asarray(0.5 / grid**2, jnp.float32), test_block=test_block, centre_block=centre_block)
    n, d = centres.shape
    ll = np.asarray(lse, np.float64) - np.log(n) - 0.5 * d * np.log(2 * np.pi * grid**2)[:, None]
    return ll if sigmas.ndim else ll[0]


def validation_log_likelihoods(centres, valid, sigmas=MNIST_SIGMAS, **blocks) -> np.ndarray:
    """Mean log-likelihood ``[S]`` of the validation rows ``valid [m, D]`` for each bandwidth of ``sigmas [S]``."""
    return parzen_log_likelihood(centres, valid, np.atleast_1d(sigmas), name="validation points", **blocks).mean(1)


def select_bandwidth(centres, valid, sigmas=MNIST_SIGMAS, **blocks) -> float:
    """The bandwidth of ``sigmas`` with the highest mean validation log-likelihood (the paper's cross-validation)."""
    sigmas = np.atleast_1d(sigmas)
    return float(sigmas[np.argmax(validation_log_likelihoods(centres, valid, sigmas, **blocks))])


def parzen_protocol(centres, valid, test, sigmas=MNIST_SIGMAS, **blocks) -> dict:
    """Goodfellow et al.'s protocol: ``sigma`` chosen on ``valid``, then the test set's mean log-likelihood.

    Returns ``{"log_likelihood", "std_error", "sigma", "per_sigma_valid": {sigma: mean valid ll}}`` (floats).
    """
    sigmas = np.atleast_1d(sigmas)
    per_sigma = validation_log_likelihoods(centres, valid, sigmas, **blocks)
    sigma = float(sigmas[np.argmax(per_sigma)])
    ll = parzen_log_likelihood(centres, test, sigma, **blocks)
    return {
        "log_likelihood": float(ll.mean()),
        "std_error": float(ll.std() / np.sqrt(ll.shape[0])),
        "sigma": sigma,
        "per_sigma_valid": {float(s): float(v) for s, v in zip(sigmas, per_sigma)},
    }
