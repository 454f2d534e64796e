"""Metric names that carry their protocol (NVIDIA's convention): `fid5k_test_lenet`, not `fid`.

    <metric><number of generated samples>_<reference split>_<feature network>
    fid5k_test_lenet      FID of 5,000 samples against the test split, LeNet features
    kid5k_test_inception  KID, InceptionV3 (FID variant) features
    is5k_lenet            Inception Score of 5,000 samples (no reference split) with LeNet's classes
    parzen10k_test_pixels Parzen-window log-likelihood of the test split under 10,000 samples, in pixel space
    ppl_w_end_n10k_vgg16hed  perceptual path length in W, end-point sampling, 10,000 paths, VGG-16 (HED) distance
    sifid_vgg16hed_relu2_2   single-image FID, per-position features of VGG-16 (HED) relu2_2 (jaxgen.metrics.sifid)

A number of samples is written `5k` when it is a multiple of 1,000, else in full (`fid500_test_lenet`).
"""

from __future__ import annotations

from jaxgen.errors import MetricError

METRICS = ("fid", "kid", "is", "pr", "parzen", "nn")  # what `jaxgen eval --metrics` takes (see metrics.evaluate)
TRANSLATION_METRICS = ("l1", "psnr", "ssim", "kid")  # a translation workdir's (see metrics.translation)

# Metrics (name prefixes) for which a larger value is better; every other metric is better smaller.
_HIGHER = ("is", "precision", "recall", "density", "coverage", "parzen", "psnr", "ssim")


def parse(metrics: str) -> tuple[str, ...]:
    """The metrics of a comma-separated list of `METRICS` ("all": every one); a MetricError for unknown names."""
    chosen = METRICS if metrics.strip() == "all" else tuple(m.strip() for m in metrics.split(",") if m.strip())
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        raise MetricError(f"unknown metric(s) {unknown or metrics!r}: choose from {', '.join(METRICS)} or 'all'")
    return chosen


def count(num: int) -> str:
    return f"{num // 1000}k" if num % 1000 == 0 else str(num)


def metric_name(metric: str, num_samples: int, split: str | None, features: str) -> str:
    """`metric_name("fid", 5000, "test", "lenet")` -> "fid5k_test_lenet"; `split=None` for IS."""
    split_part = f"_{split.split('[')[0]}" if split else ""
    return f"{metric}{count(num_samples)}{split_part}_{features}"


def ppl_name(space: str, sampling: str, num_samples: int, features: str) -> str:
    """`ppl_name("w", "end", 10000, "vgg16hed")` -> "ppl_w_end_n10k_vgg16hed" (jaxgen.metrics.ppl)."""
    return f"ppl_{space}_{sampling}_n{count(num_samples)}_{features}"


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric `name` is better (accuracy, IS, precision, Parzen log-likelihood …)."""
    if name.endswith("accuracy"):
        return True
    head = name.split("_")[0].rstrip("0123456789k")
    return head in _HIGHER
