"""Inception Score against scipy.stats.entropy, OpenAI's chunking, and its two closed-form extremes."""

import numpy as np
import pytest
from scipy import special, stats

from jaxgen.errors import MetricError
from jaxgen.metrics import inception_score as inc


def reference_split_scores(logits, splits):
    """improved-gan's inception_score.py on softmax probabilities, KL by scipy.stats.entropy."""
    preds = special.softmax(np.asarray(logits, np.float64), axis=1)
    n = preds.shape[0]
    scores = []
    for j in range(splits):
        part = preds[j * n // splits:(j + 1) * n // splits]
        py = part.mean(axis=0)
        scores.append(np.exp(np.mean([stats.entropy(p, py) for p in part])))
    return np.array(scores)


@pytest.mark.parametrize("n, k, splits", [(103, 7, 10), (60, 1000, 3), (5, 4, 1)])
def test_matches_scipy_entropy(n, k, splits):
    logits = np.random.default_rng(n).normal(scale=3.0, size=(n, k)).astype(np.float32)
    expected = reference_split_scores(logits, splits)
    np.testing.assert_allclose(inc.split_scores(logits, splits), expected, rtol=1e-10)
    mean, std = inc.inception_score(logits, splits)
    assert mean == pytest.approx(expected.mean(), rel=1e-10) and std == pytest.approx(expected.std(), rel=1e-8)


@pytest.mark.parametrize("confidence", [40.0, 1e4])  # 1e4: softmax rounds to exact 0s and 1s
def test_confident_uniform_predictions_score_k(confidence):
    """Each chunk holds every class equally often, each predicted with certainty: KL = log K, IS = K."""
    k, splits = 10, 5
    logits = confidence * np.eye(k)[np.arange(k * splits * 3) % k]
    mean, std = inc.inception_score(logits, splits)
    assert mean == pytest.approx(k, rel=1e-9) and std < 1e-9


def test_identical_predictions_score_one():
    logits = np.tile(np.random.default_rng(0).normal(size=(1, 20)), (50, 1))
    np.testing.assert_allclose(inc.split_scores(logits, 10), 1.0, rtol=1e-12)


def test_errors():
    with pytest.raises(MetricError, match="logits: 5 rows, this metric needs at least 10"):
        inc.inception_score(np.zeros((5, 3)))
    with pytest.raises(MetricError, match="splits = 0"):
        inc.inception_score(np.zeros((5, 3)), splits=0)
    logits = np.zeros((20, 4))
    logits[7, 2] = np.inf
    with pytest.raises(MetricError, match="logits: 1 of 20 feature rows contain NaN or Inf"):
        inc.inception_score(logits)


def test_class_sorted_rows_need_the_shuffle():
    """Confident predictions, 100 per class in class order: every consecutive chunk is one class (IS_j = 1);
    a seeded permutation restores the score of i.i.d. rows (close to K = 10)."""
    logits = np.repeat(20.0 * np.eye(10), 100, axis=0)
    assert inc.inception_score(logits)[0] == pytest.approx(1.0, abs=1e-6)
    mean, _ = inc.inception_score(logits, shuffle_seed=0)
    assert mean > 9.0
    np.testing.assert_allclose(inc.inception_score(logits, shuffle_seed=0), inc.inception_score(logits, shuffle_seed=0))
