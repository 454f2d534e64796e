"""The input pipeline: `tfds.data_source` → grain (global shuffle, repeat, batch) → host numpy batches.

A batch is `{"image": float32[B_local, H, W, C] in [-1, 1], "label": int32[B_local]}` (no "label" when the
dataset has none or `data.keep_labels` is False). Per example: uint8 → float32 → bilinear resize to
`data.image_size` (if set) → crop to `data.crop` (if set; a random window, centred in `eval_batches`) → mirror
left-right with probability 1/2 (`data.flip`, not in `eval_batches`) → zero-pad `data.pad` pixels per side →
`x / 127.5 - 1` (padding maps to -1). Crops and flips draw from grain's per-record generator (Philox keyed by
the seed and the record's position in the stream), so they are seeded and replay exactly on resume.

Paired examples (`data.pair=True`; datasets with images `a` and `b`: emoji_pairs, edges2emoji): batches
`{"a": float32[B, H, W, Ca], "b": float32[B, H, W, Cb], "label"}`, one crop window and flip for both images.
Unpaired examples (`data.unpaired=NAME`): batches `{"a": data.name's images, "b": NAME's images}` (no labels) from
two loaders of split `data.split` shuffled independently (seeds `seed` and `seed + 2**31`); the iterator state is
`{"a": state, "b": state}`, each stream's own. `eval_batches` reads `data.name` alone.

`data` config keys: `name`, `split` ("train"), `data_dir` (None), `image_size` (None | int | (H, W)), `crop`
(None | int | (H, W)), `flip` (False), `pad` (0), `pair` (False), `unpaired` (None | dataset name), `num_workers`
(0: in-process), `label_key` ("label"), `keep_labels` (True).

Synthetic data. A `data.name` of :mod:`jaxgen.data.toy` (ring8, grid25, mixture1d) names a distribution that a
game samples itself inside its step, from the step's key (a game with `synthetic = True`): `output_info` gives
its point shape `(dim,)` (`data.name="single_image"`: the image `data.image` shrunk to `data.max_size`, which the
SinGAN game holds itself; `output_info` gives its `(H, W, 3)`), and `make_loader` a :class:`NoData` loader whose batches are empty dicts and whose
iterator state is `{}`, so `jaxgen train`, resume, `jaxgen sweep` and `jaxgen research` read it like any other.
"""

import json
import signal
import threading
from collections.abc import Iterator

import grain
import jax
import numpy as np
from absl import flags
from PIL import Image

from jaxgen.data import toy
from jaxgen.data.catalog import dataset_info, open_source
from jaxgen.errors import ConfigError, DataError

# Records are small local array_record entries: one reader thread overlaps reading with the consumer.
_READ_OPTIONS = grain.ReadOptions(num_threads=1, prefetch_buffer_size=256)


def _get(cfg, key: str, default=None):
    value = cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default)
    return default if value is None else value


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _size(cfg, key: str) -> tuple[int, int] | None:
    """`data.<key>` (image_size, crop) as (H, W), or None."""
    size = _get(cfg, key)
    if size is None:
        return None
    pair = (size, size) if _is_int(size) else tuple(size) if isinstance(size, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(s) and s > 0 for s in pair):
        raise DataError(f"data.{key} must be a positive int or an (H, W) pair of them, got {size!r}")
    return int(pair[0]), int(pair[1])


def _flag(cfg, key: str) -> bool:
    value = _get(cfg, key, False)
    if not isinstance(value, (bool, np.bool_)):
        raise DataError(f"data.{key} must be True or False, got {value!r}")
    return bool(value)


def _unpaired(cfg) -> str | None:
    """`data.unpaired`: the dataset of the second domain, or None."""
    name = _get(cfg, "unpaired")
    if name is not None and not (isinstance(name, str) and name):
        raise DataError(f"data.unpaired must be the name of the second domain's dataset, or None; got {name!r}")
    if name and _flag(cfg, "pair"):
        raise DataError("data.pair and data.unpaired exclude each other: a paired dataset holds both images of an "
                        "example, data.unpaired names a second dataset to read independently")
    return name or None


def _pad(cfg) -> int:
    pad = _get(cfg, "pad", 0)
    if not _is_int(pad) or pad < 0:
        raise DataError(f"data.pad must be a non-negative int (pixels added on each side), got {pad!r}")
    return int(pad)


def _info(data_cfg) -> dict:
    return dataset_info(data_cfg.name, _get(data_cfg, "data_dir"), _get(data_cfg, "label_key", "label"))


SINGLE_IMAGE = "single_image"  # data.name of one image (data.image, data.max_size) that a game holds itself


def is_synthetic(data_cfg) -> bool:
    """Whether `data.name` is a toy distribution that a game samples itself, or the single image (`data.image`) a
    game holds itself (SinGAN, InGAN): no stored examples."""
    return _get(data_cfg, "name") in (*toy.TOY_DATASETS, SINGLE_IMAGE)


def _synthetic_info(data_cfg) -> dict:
    if _get(data_cfg, "name") == SINGLE_IMAGE:  # (H, W, 3) of data.image shrunk to data.max_size
        from jaxgen.defaults import singan

        shape = singan.image_shape(_get(data_cfg, "image"), _get(data_cfg, "max_size"))
        return {"image_key": None, "image_shape": (*shape, 3), "label_key": None, "num_classes": None, "splits": {}}
    dim = toy.get(_get(data_cfg, "name")).dim
    return {"image_key": None, "image_shape": (dim,), "label_key": None, "num_classes": None, "splits": {}}


def _image_keys(data_cfg, info: dict) -> dict[str, str]:
    """{batch key: dataset feature} of the images an example gives: `{"image": ...}`, or a and b with data.pair."""
    if not _flag(data_cfg, "pair"):
        return {"image": info["image_key"]}
    if not {"a", "b"} <= set(info["images"]):
        raise DataError(f"data.pair needs a paired dataset (images 'a' and 'b', such as emoji_pairs or edges2emoji); "
                        f"dataset {data_cfg.name!r} has images {sorted(info['images'])}")
    return {"a": "a", "b": "b"}


def _output_shape(data_cfg, name: str, shape: tuple) -> tuple[int, int, int]:
    """The pipeline's (H, W, C) of a stored image shape: resized, cropped, padded."""
    height, width, channels = shape
    size, crop = _size(data_cfg, "image_size"), _size(data_cfg, "crop")
    if size is None and crop is None and (height is None or width is None):
        raise DataError(f"dataset {name!r} has images of variable size {shape}; set data.image_size (e.g. 64) to "
                        "resize them or data.crop to cut windows of one size")
    height, width = size or (height, width)
    if crop is not None and height is not None and (crop[0] > height or crop[1] > width):
        raise DataError(f"data.crop {crop} is larger than the images ({height}, {width}) of dataset {name!r}")
    height, width = crop or (height, width)
    pad = _pad(data_cfg)
    return height + 2 * pad, width + 2 * pad, channels


def output_info(data_cfg, info: dict | None = None) -> dict:
    """`dataset_info` of `data.name` (`info` if given) with the pipeline's shapes: `images` = {batch key: (H, W, C)}
    and `image_shape` = the first of them; each the dataset's, resized to `data.image_size`, cropped to `data.crop`,
    plus 2 * `data.pad`. Unpaired: `images` = {"a": data.name's, "b": data.unpaired's}, no labels. A synthetic
    `data.name`: its points' `(dim,)`."""
    if is_synthetic(data_cfg):
        return _synthetic_info(data_cfg)
    info = info or _info(data_cfg)
    _flag(data_cfg, "flip")
    other = _unpaired(data_cfg)
    if other is None:
        images = {key: _output_shape(data_cfg, data_cfg.name, info["images"][feature])
                  for key, feature in _image_keys(data_cfg, info).items()}
        return {**info, "image_shape": next(iter(images.values())), "images": images}
    try:
        other_info = dataset_info(other, _get(data_cfg, "data_dir"))
    except DataError as e:
        raise DataError(f"data.unpaired (the second domain): {e}") from e
    images = {"a": _output_shape(data_cfg, data_cfg.name, info["image_shape"]),
              "b": _output_shape(data_cfg, other, other_info["image_shape"])}
    return {**info, "image_shape": images["a"], "images": images, "label_key": None, "num_classes": None}


class _Select(grain.transforms.Map):
    """One record → `{key: uint8[h, w, C] (float32[H, W, C] once resized) for key in images, "label": int32}`."""

    def __init__(self, images: dict[str, str], label_key: str | None, size: tuple[int, int] | None):
        self.images, self.label_key, self.size = images, label_key, size

    def _resize(self, image: np.ndarray) -> np.ndarray:
        if self.size is None or image.shape[:2] == self.size:
            return image
        height, width = self.size
        return np.stack(
            [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], np.float32))
                        .resize((width, height), Image.BILINEAR)) for c in range(image.shape[-1])],
            axis=-1,
        )

    def map(self, record):
        out = {key: self._resize(np.asarray(record[feature])) for key, feature in self.images.items()}
        if self.label_key is not None:
            out["label"] = np.int32(record[self.label_key])
        return out


class _CropFlip(grain.transforms.RandomMap):
    """An example's images [H, W, C] cut to `crop` (one window for all of them: random, or centred when not
    `random`) and, with `flip` and `random`, mirrored left-right (all together) with probability 1/2."""

    def __init__(self, keys: tuple[str, ...], crop: tuple[int, int] | None, flip: bool, random: bool):
        self.keys, self.crop, self.flip, self.random = keys, crop, flip, random

    def random_map(self, example, rng: np.random.Generator):
        height, width = example[self.keys[0]].shape[:2]
        crop_h, crop_w = self.crop or (height, width)
        if crop_h > height or crop_w > width:
            raise DataError(f"data.crop {self.crop} is larger than an image of size ({height}, {width})")
        if self.random:
            top, left = int(rng.integers(height - crop_h + 1)), int(rng.integers(width - crop_w + 1))
        else:
            top, left = (height - crop_h) // 2, (width - crop_w) // 2
        step = -1 if self.flip and self.random and rng.random() < 0.5 else 1
        return {**example, **{k: example[k][top:top + crop_h, left:left + crop_w][:, ::step] for k in self.keys}}


class _Normalize(grain.transforms.Map):
    """A batch: images zero-padded by `pad` pixels per side, then mapped to float32 `x / 127.5 - 1`."""

    def __init__(self, keys: tuple[str, ...], pad: int):
        self.keys, self.pad = keys, pad

    def _normalize(self, image: np.ndarray) -> np.ndarray:
        image = image.astype(np.float32)
        if self.pad:
            image = np.pad(image, ((0, 0), (self.pad, self.pad), (self.pad, self.pad), (0, 0)))
        return image / np.float32(127.5) - np.float32(1.0)

    def map(self, batch):
        return {**batch, **{k: self._normalize(batch[k]) for k in self.keys}}


def _loader(data_cfg, split, **kwargs):
    """The loader of `data.name` (its image, or a and b with data.pair; labels unless data.keep_labels=False)."""
    info = _info(data_cfg)
    output_info(data_cfg, info)  # Validates the data keys against the dataset.
    label_key = info["label_key"] if _get(data_cfg, "keep_labels", True) else None
    return _stream(data_cfg, data_cfg.name, split, _image_keys(data_cfg, info), label_key, **kwargs)


def _stream(data_cfg, name, split, images, label_key, *, batch_size, seed, shuffle, num_epochs, drop_remainder,
            shard, augment):
    """A grain loader of dataset `name`'s `images` ({batch key: feature}) and `label_key` (or None); crops and
    flips are random with `augment` (training), crops centred and no flips otherwise (evaluation)."""
    source = open_source(name, split, _get(data_cfg, "data_dir"))
    # With data.crop every read is a new window, so a batch may hold several crops of one (large) image.
    if drop_remainder and batch_size * shard.shard_count > len(source) and _size(data_cfg, "crop") is None:
        raise DataError(
            f"global batch size {batch_size * shard.shard_count} is larger than split {split!r} of "
            f"dataset {name!r} ({len(source)} examples)"
        )
    num_workers = _get(data_cfg, "num_workers", 0)
    if num_workers and not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # grain's worker processes read absl flags; outside absl.app, use defaults.
    loader = grain.DataLoader(
        data_source=source,
        # Unsharded global stream; the loader gives process p the stream positions p, p + P, p + 2P, ...
        sampler=grain.samplers.IndexSampler(len(source), shuffle=shuffle, num_epochs=num_epochs,
                                             seed=seed % 2**32),
        operations=[
            _Select(images, label_key, _size(data_cfg, "image_size")),
            *_augment(data_cfg, tuple(images), random=augment),
            grain.transforms.Batch(batch_size, drop_remainder=drop_remainder),
            _Normalize(tuple(images), _pad(data_cfg)),
        ],
        worker_count=num_workers,
        shard_options=shard,
        read_options=_READ_OPTIONS,
    )
    return _WorkersIgnoreSignals(loader) if num_workers else loader


class _WorkersIgnoreSignals:
    """A grain loader whose worker processes ignore Ctrl-C and SIGTERM: the process that owns the loader decides
    (the trainer saves a checkpoint, then closes the workers). `timeout`, SLURM and a terminal's Ctrl-C signal a
    whole process group, and a worker killed mid-run would make the next batch fail before the save.

    grain spawns its workers at the first batch (after `set_state` too); they inherit the ignored dispositions
    that are set around that one call (a signal to this process during that call is lost)."""

    def __init__(self, loader: grain.DataLoader):
        self.loader = loader

    def __iter__(self):
        return _IgnoringIterator(iter(self.loader))


class _IgnoringIterator:
    def __init__(self, iterator):
        self.iterator, self.started = iterator, False

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.started or threading.current_thread() is not threading.main_thread():
            return next(self.iterator)
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            batch = next(self.iterator)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.started = True
        return batch

    def get_state(self) -> bytes:
        return self.iterator.get_state()

    def set_state(self, state: bytes) -> None:
        self.iterator.set_state(state)
        self.started = False  # grain restarts its workers at the next batch


def _augment(data_cfg, keys: tuple[str, ...], random: bool) -> list:
    """The crop/flip transform of `data.crop` / `data.flip`, if either applies."""
    crop, flip = _size(data_cfg, "crop"), _flag(data_cfg, "flip") and random
    return [_CropFlip(keys, crop, flip, random)] if crop or flip else []


def make_loader(data_cfg, *, global_batch_size: int, seed: int, split: str | None = None,
                process_index: int | None = None, process_count: int | None = None,
                num_epochs: int | None = None, shuffle: bool = True, drop_remainder: bool = True):
    """A grain loader of this process's batches: `{"image": float32[B/P, H, W, C], "label": int32[B/P]}`
    (`{"a", "b", "label"}` with data.pair; an `Unpaired` loader of `{"a", "b"}` with data.unpaired).

    One global example stream is defined by `seed` alone: a seeded global shuffle of the split (reshuffled each
    epoch, repeated forever unless `num_epochs`). With P processes, process p reads stream positions
    p, p + P, p + 2P, ... (`ShardOptions(p, P, drop_remainder=True)` on the loader) and batches B/P of them. The
    global batch of a step is the concatenation of the process-local batches in process order; it holds the
    same examples as the single-process batch of that step, whose element m is element m // P of process m % P
    (exactly so with `data.num_workers` <= 1; more workers batch their own slices, which changes which
    examples share a batch but stays deterministic).

    The iterator is checkpointable: see `iterator_state_to_json` / `restore_iterator`. `split` overrides
    `data.split`; process index/count default to `jax.process_index()` / `jax.process_count()`.
    """
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    if global_batch_size <= 0 or global_batch_size % process_count:
        raise ConfigError(
            f"global batch size {global_batch_size} must be a positive multiple of the process count {process_count}"
        )
    if is_synthetic(data_cfg):
        return NoData()
    split = split or _get(data_cfg, "split", "train")
    options = dict(
        batch_size=global_batch_size // process_count, shuffle=shuffle, num_epochs=num_epochs,
        drop_remainder=drop_remainder, augment=True,
        shard=grain.sharding.ShardOptions(shard_index=process_index, shard_count=process_count, drop_remainder=True),
    )
    other = _unpaired(data_cfg)
    if other is None:
        return _loader(data_cfg, split, seed=seed, **options)
    info = output_info(data_cfg)  # Validates both datasets.
    return Unpaired(
        _stream(data_cfg, data_cfg.name, split, {"a": info["image_key"]}, None, seed=seed, **options),
        _stream(data_cfg, other, split, {"b": dataset_info(other, _get(data_cfg, "data_dir"))["image_key"]}, None,
                seed=seed + 2**31, **options))


class Unpaired:
    """The loader of unpaired examples: batches `{**next(a), **next(b)}` of two independent loaders (`{"a"}` and
    `{"b"}` batches); its iterator's state is `{"a": a's state, "b": b's state}` (JSON bytes, as grain's)."""

    def __init__(self, a, b):
        self.loaders = {"a": a, "b": b}

    def __iter__(self):
        return _UnpairedIterator({k: iter(loader) for k, loader in self.loaders.items()})


class _UnpairedIterator:
    def __init__(self, iterators: dict):
        self.iterators = iterators

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        return {k: v for it in self.iterators.values() for k, v in next(it).items()}

    def get_state(self) -> bytes:
        return json.dumps({k: json.loads(it.get_state().decode()) for k, it in self.iterators.items()}).encode()

    def set_state(self, state: bytes) -> None:
        for k, s in json.loads(state.decode()).items():
            self.iterators[k].set_state(json.dumps(s).encode())


class NoData:
    """The loader of synthetic data: every batch is `{}` (the game draws its points from the step's key)."""

    def __iter__(self):
        return _NoDataIterator()


class _NoDataIterator:
    def __iter__(self):
        return self

    def __next__(self) -> dict:
        return {}

    def get_state(self) -> bytes:
        return b"{}"

    def set_state(self, state: bytes) -> None:
        del state


def eval_batches(data_cfg, split: str, batch_size: int, limit: int | None = None) -> Iterator[dict]:
    """Every example of `split` once, in stored order, as batches like `make_loader`'s (last one may be
    smaller; crops centred, no flips; `data.name` alone when data.unpaired is set); stops after `limit` examples
    if given (the last batch is then cut to fit)."""
    if is_synthetic(data_cfg):
        raise DataError(f"data.name={_get(data_cfg, 'name')!r} is a synthetic distribution (jaxgen.data.toy) with no "
                        f"stored split {split!r} to read")
    loader = _loader(data_cfg, split, batch_size=batch_size, seed=0, shuffle=False, num_epochs=1,
                     drop_remainder=False, shard=grain.sharding.NoSharding(), augment=False)
    seen = 0
    for batch in loader:
        size = len(next(iter(batch.values())))
        if limit is not None and seen + size >= limit:
            yield {k: v[: limit - seen] for k, v in batch.items()}
            return
        seen += size
        yield batch


def read_split(data_cfg, split: str, limit: int | None = None) -> dict[str, np.ndarray]:
    """The first `limit` examples of `split` (all if None) in stored order, on the host: every key of
    `eval_batches`' batches (`"image"` float32 [N, H, W, C] in [-1, 1], `"label"` int32 [N] if kept)."""
    batches = list(eval_batches(data_cfg, split, 1000, limit))
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def iterator_state_to_json(iterator) -> dict:
    """The iterator's position as a JSON-serialisable dict (grain returns JSON bytes)."""
    return json.loads(iterator.get_state().decode())


def restore_iterator(iterator, state: dict | str | bytes) -> None:
    """Moves `iterator` (a fresh `iter(make_loader(...))` with the same arguments) to a saved `state`."""
    if isinstance(state, dict):
        state = json.dumps(state)
    iterator.set_state(state.encode() if isinstance(state, str) else state)
