"""Paired translation quality on a held-out split: L1, PSNR, SSIM against the true targets, and KID.

    results = evaluate(fake, target, "test", ("l1", "psnr", "ssim", "kid"), net=feature_net("auto", "emoji_pairs"))
    # {"l1_test": …, "psnr_test": …, "ssim_test": …, "kid304_test_vgg": …}

`fake` and `target` are images float [N, H, W, C] in [-1, 1], row i the translation of source i and its true
target. `l1_<split>` is the mean absolute error in [-1, 1] units (pix2pix's L1 term); `psnr_<split>` and
`ssim_<split>` are the means over images of :mod:`jaxgen.metrics.image_quality`'s per-image values; `kid<N>_<split>
_<features>` compares the translations' and the targets' features as sets (Bińkowski et al. 2018): the unbiased
MMD² of all N rows of each (one subset; no spread to report). Names follow :mod:`jaxgen.metrics.names` (the
split is the reference; every row is used).
"""

from __future__ import annotations

import sys

import jax
import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics import features as features_lib
from jaxgen.metrics import image_quality, kid, names

METRICS = names.TRANSLATION_METRICS


def translate_all(translate, sources: np.ndarray, batch: int, rng) -> np.ndarray:
    """`translate(x [batch, ...], key) -> [batch, ...]` over every row of `sources` [N, ...], `batch` at a time
    (the last batch padded by repeating its rows: one compiled shape), batch i with key ``fold_in(rng, i)``;
    the N translations on the host."""
    fakes = []
    for i, start in enumerate(range(0, len(sources), batch)):
        chunk = sources[start:start + batch]
        out = translate(np.resize(chunk, (batch, *chunk.shape[1:])), jax.random.fold_in(rng, i))
        fakes.append(np.asarray(jax.device_get(out))[:len(chunk)])
    return np.concatenate(fakes)


def parse(metrics: str) -> tuple[str, ...]:
    """The metrics of a comma-separated list of `METRICS`; a MetricError names the unknown ones."""
    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip())
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        raise MetricError(f"config key 'eval.metrics': unknown translation metric(s) {unknown or metrics!r}; choose "
                          f"from {', '.join(METRICS)}")
    return chosen


def feature_net(spec: str, dataset: str) -> features_lib.FeatureNet:
    """KID's feature network: `spec` as `jaxgen eval --features`. "auto" takes whatever
    :func:`jaxgen.metrics.features.get` gives for `dataset` (Inception when its weights are supplied, else the
    dataset's domain classifier: EmojiNet for the emoji datasets, trained on first use), and falls back to VGG-16
    ("vgg", HED's edge-tuned weights) where it has none."""
    try:
        return features_lib.get(spec, dataset)
    except MetricError as e:
        if spec != "auto":
            raise
        print(f"KID features: {e}; using VGG-16 (--features vgg) instead", file=sys.stderr)
        return features_lib.get("vgg", dataset)


def evaluate(fake: np.ndarray, target: np.ndarray, split: str, metrics: tuple[str, ...],
             net: features_lib.FeatureNet | None = None) -> dict[str, float]:
    """{name: float} of `metrics` for translations `fake` against `target` (see the module docstring); `net` is
    needed for "kid"."""
    fake, target = np.asarray(fake, np.float32), np.asarray(target, np.float32)
    if fake.shape != target.shape or fake.ndim != 4:
        raise MetricError(f"translations {fake.shape} and targets {target.shape} must be images [N, H, W, C] of one "
                          f"shape")
    if not np.isfinite(fake).all():
        raise MetricError("the translations contain NaN or Inf pixels: the generator diverged; evaluate an earlier "
                          "checkpoint")
    tag = split.split("[")[0]
    results = {}
    if "l1" in metrics:
        results[f"l1_{tag}"] = float(np.mean(np.abs(fake - target)))
    if "psnr" in metrics:
        results[f"psnr_{tag}"] = float(np.mean(image_quality.psnr(fake, target)))
    if "ssim" in metrics:
        results[f"ssim_{tag}"] = float(np.mean(image_quality.ssim(fake, target)))
    if "kid" in metrics:
        if net is None:
            raise MetricError("KID needs a feature network (translation.feature_net)")
        name = names.metric_name("kid", len(fake), split, net.name)
        results[name], _ = kid.kid(net.extract(target, "targets")["pool"], net.extract(fake, "translations")["pool"],
                                   num_subsets=1, subset_size=len(fake))
    return results
