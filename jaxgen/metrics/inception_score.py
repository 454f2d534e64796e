"""Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs").

From classifier logits ``[N, K]``: the rows are cut into ``splits`` consecutive chunks (chunk ``j`` is rows
``j N // splits`` to ``(j + 1) N // splits``, as OpenAI's ``improved-gan`` ``inception_score.py``), and
``IS_j = exp(mean_i KL(p(y | x_i) || p_j(y)))`` with ``p_j(y)`` the mean prediction over chunk ``j``;
the score is ``(mean, std)`` of the ``IS_j`` (``np.std``, ddof = 0, as the reference). It lies in
``[1, K]``: 1 when every prediction is the same, K for confident predictions spread evenly over K classes.

Computed in log space in float64 on the host, one chunk at a time: ``log p(y|x) = log_softmax(logits)``,
``log p_j(y) = logsumexp_i log p(y|x_i) - log n_j``, so no probability is rounded to 0 before its log.
The usual protocol: 50,000 samples, Inception-v3 logits of the 1008 (TF) or 1000 (torchvision) classes, 10 splits.

The chunks assume the rows come in random order. Rows sorted by class (a dataset stored class by class,
samples generated label by label) make every chunk nearly one class and the score nearly 1: pass
``shuffle_seed`` to permute the rows first (``jaxgen eval`` always does, with its seed).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, logsumexp

from jaxgen.errors import MetricError
from jaxgen.metrics.checks import check_features


def split_scores(logits, splits: int = 10) -> np.ndarray:
    """``IS_j`` of each of the ``splits`` consecutive chunks of ``logits [N, K]``, ``[splits]`` float64."""
    if splits < 1:
        raise MetricError(f"splits = {splits}: the Inception Score needs at least one split (10 is usual)")
    logits = check_features("logits", logits, min_samples=splits)
    n = logits.shape[0]
    scores = []
    for j in range(splits):
        log_p = log_softmax(np.asarray(logits[j * n // splits:(j + 1) * n // splits], np.float64), axis=1)
        log_marginal = logsumexp(log_p, axis=0) - np.log(log_p.shape[0])
        kl = np.sum(np.exp(log_p) * (log_p - log_marginal), axis=1)
        scores.append(np.exp(np.mean(kl)))
    return np.asarray(scores)


def inception_score(logits, splits: int = 10, shuffle_seed: int | None = None) -> tuple[float, float]:
    """``(mean, std)`` of :func:`split_scores` of ``logits [N, K]`` (``N >= splits``), after a seeded random
    permutation of the rows if ``shuffle_seed`` is given."""
    if shuffle_seed is not None:
        logits = np.asarray(logits)[np.random.default_rng(shuffle_seed).permutation(len(logits))]
    scores = split_scores(logits, splits)
    return float(np.mean(scores)), float(np.std(scores))
