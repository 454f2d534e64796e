"""Fréchet distance between Gaussians fitted to two feature sets (FID: Heusel et al. 2017).

``FD = ||mu1 - mu2||² + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})`` with ``mu [D]``, ``S [D, D]`` the mean and
unbiased covariance (as ``np.cov``) of ``[N, D]`` features; FID uses Inception pool3 features (D = 2048).

The trace of the matrix square root is computed without ``scipy.linalg.sqrtm`` (whose non-symmetric
Schur iteration is slow and returns complex parts on near-singular products): with ``S1 = F F^T``
(Cholesky, or ``F = S1^{1/2}`` by ``eigh`` when ``S1`` is singular), ``S1 S2`` is similar to the symmetric
PSD ``F^T S2 F``, so ``tr (S1 S2)^{1/2}`` is the sum of the square roots of that matrix's eigenvalues,
found with ``eigvalsh`` in float64 (those rounding below 0 are clipped to 0). One symmetric eigenvalue
problem of size D: ~6 s for D = 2048 on a busy 2-core CPU (a full ``eigh`` alone took ~20 s there).

Sample count. With ``N <= D`` rows the covariance has rank ``N - 1 < D`` and the metric is refused.
Even above that, FD is a biased estimator whose bias shrinks like ``1/N`` (Chong & Forsyth 2020,
"Effectively Unbiased FID"): the same generator scores worse with fewer samples, so compare only FIDs
computed with the same ``N`` (the common protocol: 50,000 generated images against the training set).

Statistics stream: :func:`accumulate` adds a batch to float64 sums (shifted by the first batch's
mean, against cancellation), so 50,000 × 2048 features never need to be in memory at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics.checks import check_feature_pair, check_features


class Moments(NamedTuple):
    """Running float64 sums over feature rows ``x``, shifted by ``shift`` (the first batch's mean)."""

    count: int
    shift: np.ndarray  # [D]
    total: np.ndarray  # [D]     sum of (x - shift)
    outer: np.ndarray  # [D, D]  sum of (x - shift)(x - shift)^T


def accumulate(moments: Moments | None, batch) -> Moments:
    """``moments`` (``None`` to start) with the rows of ``batch [B, D]`` added; a new value, inputs unchanged."""
    dim = None if moments is None else moments.shift.shape[0]
    batch = np.asarray(check_features("feature batch", batch, min_samples=1, dim=dim), np.float64)
    if moments is None:
        d = batch.shape[1]
        moments = Moments(0, batch.mean(axis=0), np.zeros(d), np.zeros((d, d)))
    centred = batch - moments.shift
    return Moments(moments.count + batch.shape[0], moments.shift, moments.total + centred.sum(axis=0),
                   moments.outer + centred.T @ centred)


def statistics(moments: Moments, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """``(mu [D], sigma [D, D])``, float64, of the accumulated rows; sigma is unbiased (``N - 1``)."""
    n, d = moments.count, moments.shift.shape[0]
    if n <= d:
        raise MetricError(
            f"{name}: {n} rows of dimension {d}: the covariance needs N > D rows to be full rank "
            f"(FID also depends on N, so compare equal N): use more than {d} samples (50,000 is "
            "the usual protocol), or lower-dimensional features"
        )
    mean = moments.total / n
    sigma = (moments.outer - n * np.outer(mean, mean)) / (n - 1)
    return moments.shift + mean, (sigma + sigma.T) / 2


def gaussian_statistics(features, batch_size: int = 4096, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (float64, equal to ``np.mean``/``np.cov`` up to
    rounding) of ``features [N, D]``, converted to float64 ``batch_size`` rows at a time."""
    features = check_features(name, features)
    moments = None
    for start in range(0, features.shape[0], batch_size):
        moments = accumulate(moments, features[start:start + batch_size])
    return statistics(moments, name)


def _check_gaussian(name: str, mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise MetricError(f"{name}: mean {mu.shape} and covariance {sigma.shape} must be [D] and [D, D]")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise MetricError(f"{name}: mean or covariance contains NaN or Inf: recompute them from finite features")
    return mu, (sigma + sigma.T) / 2


def _factor(sigma: np.ndarray) -> np.ndarray:
    """``F`` with ``F F^T = sigma``: the Cholesky factor, or for a singular (or numerically indefinite)
    ``sigma`` the symmetric square root with eigenvalues rounding below 0 clipped to 0."""
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(sigma)
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """``||mu1 - mu2||² + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})`` in float64, clipped at 0 (it is >= 0;
    identical statistics give a rounding-level value)."""
    mu1, sigma1 = _check_gaussian("first Gaussian", mu1, sigma1)
    mu2, sigma2 = _check_gaussian("second Gaussian", mu2, sigma2)
    if mu1.shape != mu2.shape:
        raise MetricError(
            f"the Gaussians are {mu1.shape[0]}-d and {mu2.shape[0]}-d: compute both from the same feature network"
        )
    f = _factor(sigma1)
    product = f.T @ sigma2 @ f  # similar to S1 S2 (S1 S2 = F (F^T S2 F) F^-1), symmetric PSD
    eig = np.linalg.eigvalsh((product + product.T) / 2)
    tr_covmean = np.sum(np.sqrt(np.clip(eig, 0.0, None)))
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean
    return float(max(fd, 0.0))


def fid_from_features(real, fake) -> float:
    """Fréchet distance between Gaussians fitted to ``real [N, D]`` and ``fake [M, D]`` features."""
    real, fake = check_feature_pair(real, fake)
    return frechet_distance(*gaussian_statistics(real, name="real features"),
                            *gaussian_statistics(fake, name="fake features"))
