"""The input pipeline: `tfds.data_source` → grain (global shuffle, repeat, batch) → host numpy batches.

A batch is `{"image": float32[B_local, H, W, C] in [-1, 1], "label": int32[B_local]}` (no "label" when the
dataset has none or `data.keep_labels` is False). Per example: uint8 → float32 → bilinear resize to
`data.image_size` (if set) → zero-pad `data.pad` pixels per side → `x / 127.5 - 1` (padding maps to -1).

`data` config keys: `name`, `split` ("train"), `data_dir` (None), `image_size` (None | int | (H, W)),
`pad` (0), `num_workers` (0: in-process), `label_key` ("label"), `keep_labels` (True).

Synthetic data. A `data.name` of :mod:`jaxgen.data.toy` (ring8, grid25, mixture1d) names a distribution that a
game samples itself inside its step, from the step's key (a game with `synthetic = True`): `output_info` gives
its point shape `(dim,)`, and `make_loader` a :class:`NoData` loader whose batches are empty dicts and whose
iterator state is `{}`, so `jaxgen train`, resume, `jaxgen sweep` and `jaxgen research` read it like any other.
"""

import json
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


def _image_size(cfg) -> tuple[int, int] | None:
    size = _get(cfg, "image_size")
    if size is None:
        return None
    pair = (size, size) if _is_int(size) else tuple(size) if isinstance(size, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(s) and s > 0 for s in pair):
        raise DataError(f"data.image_size must be a positive int or an (H, W) pair of them, got {size!r}")
    return int(pair[0]), int(pair[1])


def _pad(cfg) -> int:
    pad = _get(cfg, "pad", 0)
    if not _is_int(pad) or pad < 0:
        raise DataError(f"data.pad must be a non-negative int (pixels added on each side), got {pad!r}")
    return int(pad)


def _info(data_cfg) -> dict:
    return dataset_info(data_cfg.name, _get(data_cfg, "data_dir"), _get(data_cfg, "label_key", "label"))


def is_synthetic(data_cfg) -> bool:
    """Whether `data.name` is a toy distribution that a game samples itself (no stored examples)."""
    return _get(data_cfg, "name") in toy.TOY_DATASETS


def _synthetic_info(data_cfg) -> dict:
    dim = toy.get(_get(data_cfg, "name")).dim
    return {"image_key": None, "image_shape": (dim,), "label_key": None, "num_classes": None, "splits": {}}


def output_info(data_cfg, info: dict | None = None) -> dict:
    """`dataset_info` of `data.name` (`info` if given) with `image_shape` = the pipeline's (H, W, C): the
    dataset's, resized to `data.image_size`, plus 2 * `data.pad`. A synthetic `data.name`: its points' `(dim,)`."""
    if is_synthetic(data_cfg):
        return _synthetic_info(data_cfg)
    info = info or _info(data_cfg)
    height, width, channels = info["image_shape"]
    size = _image_size(data_cfg)
    if size is None and (height is None or width is None):
        raise DataError(
            f"dataset {data_cfg.name!r} has images of variable size {info['image_shape']}; "
            "set data.image_size (e.g. 64) to resize them"
        )
    height, width = size or (height, width)
    pad = _pad(data_cfg)
    return {**info, "image_shape": (height + 2 * pad, width + 2 * pad, channels)}


class _Select(grain.transforms.Map):
    """One record → `{"image": uint8[h, w, C] (float32[H, W, C] once resized), "label": int32}`."""

    def __init__(self, image_key: str, label_key: str | None, size: tuple[int, int] | None):
        self.image_key, self.label_key, self.size = image_key, label_key, size

    def map(self, record):
        image = np.asarray(record[self.image_key])
        if self.size is not None and image.shape[:2] != self.size:
            height, width = self.size
            image = np.stack(
                [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], np.float32))
                            .resize((width, height), Image.BILINEAR)) for c in range(image.shape[-1])],
                axis=-1,
            )
        out = {"image": image}
        if self.label_key is not None:
            out["label"] = np.int32(record[self.label_key])
        return out


class _Normalize(grain.transforms.Map):
    """A batch: images zero-padded by `pad` pixels per side, then mapped to float32 `x / 127.5 - 1`."""

    def __init__(self, pad: int):
        self.pad = pad

    def map(self, batch):
        image = batch["image"].astype(np.float32)
        if self.pad:
            image = np.pad(image, ((0, 0), (self.pad, self.pad), (self.pad, self.pad), (0, 0)))
        return {**batch, "image": image / np.float32(127.5) - np.float32(1.0)}


def _loader(data_cfg, split, *, batch_size, seed, shuffle, num_epochs, drop_remainder, shard) -> grain.DataLoader:
    name = data_cfg.name
    info = _info(data_cfg)
    output_info(data_cfg, info)  # Validates data.image_size / data.pad against the dataset.
    source = open_source(name, split, _get(data_cfg, "data_dir"))
    if drop_remainder and batch_size * shard.shard_count > len(source):
        raise DataError(
            f"global batch size {batch_size * shard.shard_count} is larger than split {split!r} of "
            f"dataset {name!r} ({len(source)} examples)"
        )
    label_key = info["label_key"] if _get(data_cfg, "keep_labels", True) else None
    num_workers = _get(data_cfg, "num_workers", 0)
    if num_workers and not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # grain's worker processes read absl flags; outside absl.app, use defaults.
    return grain.DataLoader(
        data_source=source,
        # Unsharded global stream; the loader gives process p the stream positions p, p + P, p + 2P, ...
        sampler=grain.samplers.IndexSampler(len(source), shuffle=shuffle, num_epochs=num_epochs,
                                             seed=seed % 2**32),
        operations=[
            _Select(info["image_key"], label_key, _image_size(data_cfg)),
            grain.transforms.Batch(batch_size, drop_remainder=drop_remainder),
            _Normalize(_pad(data_cfg)),
        ],
        worker_count=num_workers,
        shard_options=shard,
        read_options=_READ_OPTIONS,
    )


def make_loader(data_cfg, *, global_batch_size: int, seed: int, split: str | None = None,
                process_index: int | None = None, process_count: int | None = None,
                num_epochs: int | None = None, shuffle: bool = True, drop_remainder: bool = True) -> grain.DataLoader:
    """A grain loader of this process's batches: `{"image": float32[B/P, H, W, C], "label": int32[B/P]}`.

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
    return _loader(
        data_cfg, split or _get(data_cfg, "split", "train"),
        batch_size=global_batch_size // process_count, seed=seed, shuffle=shuffle, num_epochs=num_epochs,
        drop_remainder=drop_remainder,
        shard=grain.sharding.ShardOptions(shard_index=process_index, shard_count=process_count, drop_remainder=True),
    )


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
    smaller); stops after `limit` examples if given (the last batch is then cut to fit)."""
    if is_synthetic(data_cfg):
        raise DataError(f"data.name={_get(data_cfg, 'name')!r} is a synthetic distribution (jaxgen.data.toy) with no "
                        f"stored split {split!r} to read")
    loader = _loader(data_cfg, split, batch_size=batch_size, seed=0, shuffle=False, num_epochs=1,
                     drop_remainder=False, shard=grain.sharding.NoSharding())
    seen = 0
    for batch in loader:
        if limit is not None and seen + len(batch["image"]) >= limit:
            yield {k: v[: limit - seen] for k, v in batch.items()}
            return
        seen += len(batch["image"])
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
