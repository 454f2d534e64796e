"""The evaluation protocol: generated samples -> named metrics (`jaxgen eval`, and trainers' `eval.every`).

    results = evaluate(samples, data_cfg, Protocol(metrics=("fid", "kid", "is", "pr"), num_samples=5000))
    # {"fid5k_test_lenet": …, "kid5k_test_lenet": …, "kid5k_test_lenet_std": …, "is5k_lenet": …, …}

`samples` are images float [N, H, W, C] in [-1, 1] at the dataset's (pipeline's) resolution. Metrics:

- `fid`: Fréchet distance between Gaussians fitted to the pool features of the samples and of the whole
  reference split (Heusel et al. 2017).
- `kid`: unbiased MMD² with the cubic polynomial kernel over random subsets, mean and `_std` (Bińkowski et
  al. 2018).
- `is`: Inception Score of the samples' class predictions in 10 splits (of the samples in a seeded random
  order, so that class-ordered inputs do not bias it), mean and `_std` (Salimans et al. 2016); with LeNet the
  classes are the ten digits (so at most 10).
- `pr`: improved precision and recall, k = 3 (Kynkäänniemi et al. 2019), and density and coverage, k = 5
  (Naeem et al. 2020), against the reference split's features.
- `parzen`: Gaussian Parzen-window log-likelihood of the reference split under the samples, in pixel space
  scaled to [0, 1], with the window chosen from `parzen_sigmas` on the first `parzen_valid_count` images of
  `parzen_valid_split` (Goodfellow et al. 2014; they chose it on MNIST's validation set, which the GAN had not
  seen; the bundled datasets have no third split, so the default chooses it on the first 1,000 training images,
  all of them in a smaller set, and never on the reported split); mean, `_se` (standard error) and `_sigma`.
- `nn`: the memorisation check: PNG grids of samples beside their nearest training images in pixel and in
  feature space (`out_dir`), and the ratio of the median sample-to-train nearest distance to the median
  test-to-train one (well below 1: samples closer to training images than new real images are).

Names follow `jaxgen.metrics.names`: `fid5k_test_lenet`, `parzen10k_test_pixels`, `nn5k_train_pixels`.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import jax
import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics import features as features_lib
from jaxgen.metrics import frechet, inception_score, kid, names, nearest, parzen, precision_recall, reference
from jaxgen.metrics.checks import non_finite_rows

METRICS = names.METRICS
FEATURE_METRICS = ("fid", "kid", "is", "pr", "nn")


@dataclasses.dataclass
class Protocol:
    """What to compute and how; `metrics` from `METRICS`. Every number it produces is named after it."""

    metrics: tuple[str, ...] = ("fid", "kid", "is", "pr")
    num_samples: int = 5000
    split: str = "test"  # the reference split
    features: str = "auto"  # see jaxgen.metrics.features.get
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    pr_k: int = 3
    dc_k: int = 5
    is_splits: int = 10
    parzen_valid_split: str = "train"
    parzen_valid_count: int = 1000  # (fewer if the split has fewer)
    parzen_sigmas: tuple[float, ...] = tuple(np.logspace(-1, 0, 10))
    nn_samples: int = 8  # rows of the nearest-neighbour grids
    nn_k: int = 5  # training images beside each sample
    seed: int = 0

    @classmethod
    def parse(cls, metrics: str, **kwargs) -> Protocol:
        """`Protocol.parse("fid,kid,pr", num_samples=2000)`; "all" selects every metric."""
        chosen = names.parse(metrics)
        if kwargs.get("num_samples", cls.num_samples) < 2:
            raise MetricError(f"the number of samples must be at least 2, got {kwargs['num_samples']}")
        return cls(metrics=chosen, **kwargs)


def generate_samples(task, state, num: int, key: jax.Array, batch_size: int = 500) -> np.ndarray:
    """`num` images float32 [num, H, W, C] from a trained task, in batches of one compiled size (batch `i`
    draws with `fold_in(key, i)`; classes cycle 0..K-1 if conditional)."""
    if task.generate is None:
        raise MetricError("this workdir's model draws no samples (a classifier): evaluate a generative model")
    out = []
    for i, start in enumerate(range(0, num, batch_size)):
        n = min(batch_size, num - start)
        labels = None if task.num_classes is None else (np.arange(start, start + n) % task.num_classes).astype(np.int32)
        out.append(np.asarray(jax.device_get(task.generate(state, jax.random.fold_in(key, i), batch_size,
                                                           None if labels is None else np.resize(labels, batch_size))))[:n])
    return np.concatenate(out).astype(np.float32)


def load_samples(path: str) -> np.ndarray:
    """Images from an `.npz` (array `images`, or its only array) or `.npy` file: uint8 [N, H, W, C] in 0..255
    or float in [-1, 1] ([N, H, W] grey gets a channel axis) -> float32 in [-1, 1]."""
    if not os.path.exists(path):
        raise MetricError(f"samples file {path!r} not found")
    try:
        loaded = np.load(path)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            keys = loaded.files
            if "images" not in keys and len(keys) != 1:
                raise MetricError(f"{path} holds arrays {keys}: name the images array 'images'")
            loaded = loaded["images" if "images" in keys else keys[0]]  # read (and checked) only here
        images = np.asarray(loaded)
    except MetricError:
        raise
    except Exception as e:  # numpy, zipfile and zlib raise several types for foreign or damaged files
        raise MetricError(f"cannot read samples file {path!r} ({type(e).__name__}: {e}): give an .npz or .npy of "
                          f"images") from e
    images = images[..., None] if images.ndim == 3 else images
    if images.ndim != 4:
        raise MetricError(f"samples in {path} have shape {images.shape}; expected images [N, H, W, C]")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    images = images.astype(np.float32)
    finite = images[np.isfinite(images)]
    if finite.size and (finite.min() < -1.01 or finite.max() > 1.01):
        raise MetricError(f"samples in {path} range over [{finite.min():.3g}, {finite.max():.3g}]; float images must "
                          f"be in [-1, 1] (uint8 images in 0..255 are converted)")
    return images


def _check_samples(samples: np.ndarray, image_shape) -> np.ndarray:
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 4 or tuple(samples.shape[1:]) != tuple(image_shape):
        raise MetricError(f"samples have shape {samples.shape}, but the reference images are {tuple(image_shape)}: "
                          f"give samples [N, {', '.join(map(str, image_shape))}] in [-1, 1]")
    bad = non_finite_rows(samples)
    if bad:
        raise MetricError(f"{bad} of {len(samples)} samples contain NaN or Inf pixels: the generator "
                          f"diverged; evaluate an earlier checkpoint (--step)")
    return samples


def _pixels01(images: np.ndarray) -> np.ndarray:
    return ((images.reshape(len(images), -1) + 1.0) / 2.0).astype(np.float32)


def feature_net(protocol: Protocol, dataset: str) -> features_lib.FeatureNet | None:
    """The feature network `protocol` needs for `dataset` (None if none of its metrics uses features); resolve
    it once before drawing samples, so that a missing weight file is reported at once, and reuse it."""
    if not any(m in FEATURE_METRICS for m in protocol.metrics):
        return None
    return features_lib.get(protocol.features, dataset)


def evaluate(samples: np.ndarray, data_cfg, protocol: Protocol, out_dir: str | None = None,
             tag: str = "", net: features_lib.FeatureNet | None = None) -> dict[str, float]:
    """The metrics of `protocol` for `samples` against `data_cfg`'s reference split, as {name: float}.

    `out_dir` (with `tag`, e.g. "step_0003000") receives the nearest-neighbour PNGs of the `nn` metric;
    `net` is `feature_net(protocol, data_cfg.name)` if the caller has it already.
    """
    from jaxgen import data as data_lib
    from jaxgen.engine import writers

    image_shape = data_lib.output_info(data_cfg)["image_shape"]
    samples = _check_samples(samples, image_shape)
    n, split, p = len(samples), protocol.split, protocol
    results: dict[str, float] = {}
    fake = real = None
    net = net or feature_net(p, data_cfg.name)
    if "is" in p.metrics and "logits" not in net.outputs:
        raise MetricError(f"the Inception Score needs class logits; the {net.name} features have none: use "
                          f"--features lenet or inception")
    if net is not None:
        fake = net.extract(samples, "samples")
        real = reference.real_features(data_cfg, split, net)

    def name(metric, ref_split=split, feats=None):
        return names.metric_name(metric, n, ref_split, feats or net.name)

    if "fid" in p.metrics:
        results[name("fid")] = frechet.fid_from_features(real["pool"], fake["pool"])
    if "kid" in p.metrics:
        mean, std = kid.kid(real["pool"], fake["pool"], num_subsets=p.kid_subsets, subset_size=p.kid_subset_size,
                            seed=p.seed)
        results[name("kid")], results[name("kid") + "_std"] = mean, std
    if "is" in p.metrics:
        mean, std = inception_score.inception_score(fake["logits"], splits=p.is_splits, shuffle_seed=p.seed)
        results[name("is", None)], results[name("is", None) + "_std"] = mean, std
    if "pr" in p.metrics:
        for metric, value in precision_recall.prdc(real["pool"], fake["pool"], k_pr=p.pr_k, k_dc=p.dc_k).items():
            results[name(metric)] = value
    if "parzen" in p.metrics:
        valid = reference.real_images(data_cfg, p.parzen_valid_split, p.parzen_valid_count)
        test = reference.real_images(data_cfg, split)
        out = parzen.parzen_protocol(_pixels01(samples), _pixels01(valid), _pixels01(test), sigmas=p.parzen_sigmas)
        if len(p.parzen_sigmas) > 1 and out["sigma"] in (min(p.parzen_sigmas), max(p.parzen_sigmas)):
            print(f"WARNING: the Parzen bandwidth chosen on {len(valid)} images of {p.parzen_valid_split}, sigma = {out['sigma']:.3g}, is "
                  f"at the edge of the grid [{min(p.parzen_sigmas):.3g}, {max(p.parzen_sigmas):.3g}]: the best "
                  f"window may lie outside it (the default grid is Goodfellow et al.'s for 28x28 MNIST)",
                  file=sys.stderr)
        key = name("parzen", feats="pixels")
        results[key], results[key + "_se"], results[key + "_sigma"] = (
            out["log_likelihood"], out["std_error"], out["sigma"])
    if "nn" in p.metrics:
        train = reference.real_images(data_cfg, "train")
        test = reference.real_images(data_cfg, split)
        train_feats = reference.real_features(data_cfg, "train", net)["pool"]
        spaces = {"pixels": (train.reshape(len(train), -1), samples.reshape(n, -1), test.reshape(len(test), -1)),
                  net.name: (train_feats, fake["pool"], real["pool"])}
        for space, (pool, queries, held_out) in spaces.items():
            _, d_fake = nearest.nearest_neighbours(queries, pool, k=1)
            _, d_test = nearest.nearest_neighbours(held_out, pool, k=1)
            results[names.metric_name("nn", n, "train", space)] = float(
                np.median(np.sqrt(d_fake[:, 0])) / np.median(np.sqrt(d_test[:, 0])))
            if out_dir is not None:
                rows = min(p.nn_samples, n)
                idx, _ = nearest.nearest_neighbours(queries[:rows], pool, k=p.nn_k)
                grid = nearest.neighbour_grid(samples[:rows], train, idx)
                writers.save_grid(os.path.join(out_dir, f"nearest_{space}{'_' + tag if tag else ''}.png"), grid,
                                  ncol=p.nn_k + 1, scale=2)
    return {k: float(v) for k, v in results.items()}
