"""The grain pipeline on the real bundled data (and mocked catalog datasets)."""

import collections
import itertools
import json

import numpy as np
import pytest
from ml_collections import ConfigDict

from jaxgen import data
from jaxgen.data.pipeline import (
    eval_batches,
    iterator_state_to_json,
    make_loader,
    output_info,
    restore_iterator,
)
from jaxgen.errors import ConfigError, DataError


def cfg(data_dir, name="digits", **overrides):
    defaults = dict(name=name, split="train", data_dir=data_dir, image_size=None, pad=0, num_workers=0,
                    label_key="label", keep_labels=True)
    return ConfigDict({**defaults, **overrides})


def take(loader, n):
    return list(itertools.islice(iter(loader), n))


def to_uint8(images):
    return np.round((images + 1) * 127.5).astype(np.uint8)


def example_counts(images, labels):
    """Multiset of (pixels, label) examples, to compare streams without relying on record ids."""
    return collections.Counter((img.tobytes(), int(lab)) for img, lab in zip(to_uint8(images), labels))


def test_batches_shapes_dtypes_and_range(data_dir):
    (batch,) = take(make_loader(cfg(data_dir, "mnist5k"), global_batch_size=32, seed=0), 1)
    assert set(batch) == {"image", "label"}
    assert batch["image"].shape == (32, 28, 28, 1) and batch["image"].dtype == np.float32
    assert batch["label"].shape == (32,) and batch["label"].dtype == np.int32
    assert batch["image"].min() == -1.0 and batch["image"].max() == 1.0  # MNIST has 0 and 255 pixels
    (batch,) = take(make_loader(cfg(data_dir, keep_labels=False), global_batch_size=8, seed=0), 1)
    assert set(batch) == {"image"}


def test_values_are_the_source_pixels_scaled(data_dir):
    """Unshuffled, the first batch is the first records, mapped by x / 127.5 - 1."""
    src = data.open_source("digits", "test", data_dir)
    (batch,) = take(make_loader(cfg(data_dir, split="test"), global_batch_size=4, seed=0, shuffle=False), 1)
    expected = np.stack([src[i]["image"] for i in range(4)]).astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(batch["image"], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(batch["label"], [src[i]["label"] for i in range(4)])


def test_pad_and_resize(data_dir):
    config = cfg(data_dir, "mnist5k", pad=2)
    info = output_info(config)
    assert info["image_shape"] == (32, 32, 1) and info["num_classes"] == 10 and info["splits"]["test"] == 1000
    (batch,) = take(make_loader(config, global_batch_size=4, seed=0), 1)
    assert batch["image"].shape == (4, 32, 32, 1)
    border = np.concatenate([batch["image"][:, :2].ravel(), batch["image"][:, -2:].ravel(),
                             batch["image"][:, :, :2].ravel(), batch["image"][:, :, -2:].ravel()])
    assert np.all(border == -1.0)
    for size, pad, shape in [(16, 0, (16, 16, 1)), ((12, 20), 1, (14, 22, 1))]:
        config = cfg(data_dir, image_size=size, pad=pad)
        (batch,) = take(make_loader(config, global_batch_size=4, seed=0), 1)
        assert batch["image"].shape == (4, *shape) == (4, *output_info(config)["image_shape"])
        assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
    # Bilinear resizing keeps each image's mean brightness (same seed: the same examples).
    (a,), (b,) = (take(make_loader(cfg(data_dir, image_size=s), global_batch_size=2, seed=5), 1) for s in (8, 32))
    np.testing.assert_allclose(b["image"].mean(axis=(1, 2, 3)), a["image"].mean(axis=(1, 2, 3)), atol=0.05)


def test_seeded_shuffle(data_dir):
    config = cfg(data_dir)
    first = take(make_loader(config, global_batch_size=16, seed=1), 3)
    same = take(make_loader(config, global_batch_size=16, seed=1), 3)
    other = take(make_loader(config, global_batch_size=16, seed=2), 3)
    for a, b in zip(first, same):
        np.testing.assert_array_equal(a["image"], b["image"])
    assert not all(np.array_equal(a["image"], c["image"]) for a, c in zip(first, other))


def test_one_epoch_covers_every_example_once(data_dir):
    src = data.open_source("digits", "test", data_dir)
    batches = list(make_loader(cfg(data_dir, split="test"), global_batch_size=60, seed=3, num_epochs=1))
    assert len(batches) == 5
    images = np.concatenate([b["image"] for b in batches])
    labels = np.concatenate([b["label"] for b in batches])
    source = np.stack([src[i]["image"] for i in range(len(src))]).astype(np.float32) / 127.5 - 1
    assert example_counts(images, labels) == example_counts(source, [src[i]["label"] for i in range(len(src))])


def test_repeats_forever_with_a_new_order_each_epoch(data_dir):
    batches = take(make_loader(cfg(data_dir, split="test"), global_batch_size=100, seed=0), 6)
    epoch1, epoch2 = (np.concatenate([b["label"] for b in batches[i:i + 3]]) for i in (0, 3))
    np.testing.assert_array_equal(np.sort(epoch1), np.sort(epoch2))
    assert not np.array_equal(epoch1, epoch2)


def test_resume_from_state(data_dir):
    config = cfg(data_dir, "mnist5k")
    it = iter(make_loader(config, global_batch_size=32, seed=7))
    for _ in range(3):
        next(it)
    state = json.loads(json.dumps(iterator_state_to_json(it)))  # as stored in a checkpoint
    expected = [next(it) for _ in range(2)]
    resumed = iter(make_loader(config, global_batch_size=32, seed=7))
    restore_iterator(resumed, state)
    for want, got in zip(expected, (next(resumed) for _ in range(2))):
        np.testing.assert_array_equal(want["image"], got["image"])
        np.testing.assert_array_equal(want["label"], got["label"])


def test_per_process_slices(data_dir):
    """Process p's batch holds elements p, p + P, ... of the 1-process global batch of the same step."""
    config = cfg(data_dir)
    single = take(make_loader(config, global_batch_size=16, seed=4, process_index=0, process_count=1), 3)
    local = [take(make_loader(config, global_batch_size=16, seed=4, process_index=p, process_count=2), 3)
             for p in (0, 1)]
    for step in range(3):
        p0, p1 = local[0][step], local[1][step]
        assert p0["image"].shape == (8, 8, 8, 1)
        for key in ("image", "label"):
            interleaved = np.stack([p0[key], p1[key]], axis=1).reshape(single[step][key].shape)
            np.testing.assert_array_equal(interleaved, single[step][key])
    # Over one epoch the two processes read disjoint halves that together make up the split.
    halves = [list(make_loader(cfg(data_dir, split="test"), global_batch_size=20, seed=4, num_epochs=1,
                               process_index=p, process_count=2)) for p in (0, 1)]
    counts = [example_counts(np.concatenate([b["image"] for b in h]), np.concatenate([b["label"] for b in h]))
              for h in halves]
    assert sum(counts[0].values()) == sum(counts[1].values()) == 150
    src = data.open_source("digits", "test", data_dir)
    source = np.stack([src[i]["image"] for i in range(300)]).astype(np.float32) / 127.5 - 1
    assert counts[0] + counts[1] == example_counts(source, [src[i]["label"] for i in range(300)])


def test_config_errors(data_dir):
    with pytest.raises(DataError, match=r"global batch size 400 is larger than split 'test'.*300 examples"):
        make_loader(cfg(data_dir, split="test"), global_batch_size=400, seed=0)
    with pytest.raises(ConfigError, match="process count 3"):
        make_loader(cfg(data_dir), global_batch_size=16, seed=0, process_index=0, process_count=3)
    for bad in (0, -4, (8,), "32", 2.5):
        with pytest.raises(DataError, match="data.image_size"):
            make_loader(cfg(data_dir, image_size=bad), global_batch_size=8, seed=0)
    for bad in (-1, 1.5, "2"):
        with pytest.raises(DataError, match="data.pad"):
            make_loader(cfg(data_dir, pad=bad), global_batch_size=8, seed=0)
    with pytest.raises(DataError, match="no split 'valid'"):
        make_loader(cfg(data_dir, split="valid"), global_batch_size=8, seed=0)


def test_eval_batches_in_stored_order(data_dir):
    src = data.open_source("digits", "test", data_dir)
    batches = list(eval_batches(cfg(data_dir), "test", 128))
    assert [len(b["image"]) for b in batches] == [128, 128, 44]
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]),
                                  [src[i]["label"] for i in range(300)])
    assert [len(b["label"]) for b in eval_batches(cfg(data_dir), "test", 128, limit=150)] == [128, 22]
    assert [len(b["label"]) for b in eval_batches(cfg(data_dir), "test", 512)] == [300]


def test_catalog_datasets_through_the_pipeline(mock_catalog):
    with mock_catalog():
        for name, shape in [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]:
            (batch,) = take(make_loader(cfg(None, name), global_batch_size=16, seed=0), 1)
            assert batch["image"].shape == (16, *shape) and batch["label"].shape == (16,)
            assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
        with pytest.raises(DataError, match="variable size.*data.image_size"):
            make_loader(cfg(None, "tf_flowers"), global_batch_size=8, seed=0)
        (batch,) = take(make_loader(cfg(None, "tf_flowers", image_size=16), global_batch_size=8, seed=0), 1)
        assert batch["image"].shape == (8, 16, 16, 3) and batch["label"].max() < 5


def test_a_toy_name_is_synthetic_data_with_no_loader_state():
    """data.name of jaxgen.data.toy: the game samples the points in its step; the loader yields empty batches."""
    config = cfg(None, name="grid25")
    assert output_info(config)["image_shape"] == (2,) and output_info(config)["num_classes"] is None
    iterator = iter(make_loader(config, global_batch_size=8, seed=0))
    assert take(iterator, 2) == [{}, {}] and iterator_state_to_json(iterator) == {}
    restore_iterator(iterator, {})
    assert next(iterator) == {}
    with pytest.raises(DataError, match="synthetic"):
        next(eval_batches(config, "test", 4))


def test_paired_batches_hold_both_images_of_a_record(emoji_data_dir):
    config = cfg(emoji_data_dir, "edges2emoji", split="test", pair=True)
    assert output_info(config)["images"] == {"a": (64, 64, 1), "b": (64, 64, 3)}
    (batch,) = take(make_loader(config, global_batch_size=4, seed=0, shuffle=False), 1)
    assert set(batch) == {"a", "b", "label"} and batch["a"].shape == (4, 64, 64, 1) and batch["b"].dtype == np.float32
    src = data.open_source("edges2emoji", "test", emoji_data_dir)
    for key in ("a", "b"):
        np.testing.assert_array_equal(to_uint8(batch[key]), np.stack([src[i][key] for i in range(4)]))
    np.testing.assert_array_equal(batch["label"], [src[i]["label"] for i in range(4)])
    assert set(next(eval_batches(config, "test", 2))) == {"a", "b", "label"}


def _window(crop, full):
    """(top, left, flipped) of the window of `full` [H, W, C] that equals `crop` [h, w, C]."""
    (h, w), (height, width) = crop.shape[:2], full.shape[:2]
    for flipped in (False, True):
        image = full[:, ::-1] if flipped else full
        for top in range(height - h + 1):
            for left in range(width - w + 1):
                if np.array_equal(image[top:top + h, left:left + w], crop):
                    return top, (width - w - left if flipped else left), flipped
    raise AssertionError("the crop is no window of the record")


def test_crops_and_flips_are_one_window_for_both_images_and_seeded(emoji_data_dir):
    config = cfg(emoji_data_dir, "emoji_pairs", split="test", pair=True, crop=(40, 48), flip=True)
    assert output_info(config)["images"] == {"a": (40, 48, 3), "b": (40, 48, 3)}
    (batch,) = take(make_loader(config, global_batch_size=12, seed=5, shuffle=False), 1)
    src = data.open_source("emoji_pairs", "test", emoji_data_dir)
    windows = []
    for i in range(12):
        a, b = (to_uint8(batch[k][i]) for k in ("a", "b"))
        top, left, flipped = _window(a, src[i]["a"])
        full_b = src[i]["b"][:, ::-1] if flipped else src[i]["b"]
        start = 64 - 48 - left if flipped else left
        np.testing.assert_array_equal(b, full_b[top:top + 40, start:start + 48])
        windows.append((top, left, flipped))
    assert len(set(windows)) > 6 and {f for _, _, f in windows} == {False, True}
    (again,) = take(make_loader(config, global_batch_size=12, seed=5, shuffle=False), 1)
    (other,) = take(make_loader(config, global_batch_size=12, seed=6, shuffle=False), 1)
    np.testing.assert_array_equal(again["a"], batch["a"])
    assert not np.array_equal(other["a"], batch["a"])
    # Evaluation: centred crops, no flips.
    (centred,) = take(eval_batches(config, "test", 3), 1)
    np.testing.assert_array_equal(to_uint8(centred["b"]), np.stack([src[i]["b"][12:52, 8:56] for i in range(3)]))


def test_photos_are_served_as_crops(emoji_data_dir):
    with pytest.raises(DataError, match="variable size.*data.crop"):
        make_loader(cfg(emoji_data_dir, "photos", split="test"), global_batch_size=2, seed=0)
    config = cfg(emoji_data_dir, "photos", crop=96, flip=True)
    assert output_info(config)["image_shape"] == (96, 96, 3)
    batches = take(make_loader(config, global_batch_size=16, seed=1), 2)
    assert batches[0]["image"].shape == (16, 96, 96, 3) and set(batches[0]) == {"image"}
    assert -1.0 <= batches[0]["image"].min() and batches[0]["image"].max() <= 1.0
    assert not np.array_equal(batches[0]["image"][:8], batches[1]["image"][:8])


def test_unpaired_streams_are_independent_and_resume_exactly(emoji_data_dir):
    config = cfg(emoji_data_dir, "twemoji", unpaired="openmoji", crop=56, flip=True)
    info = output_info(config)
    assert info["images"] == {"a": (56, 56, 3), "b": (56, 56, 3)} and info["num_classes"] is None
    iterator = iter(make_loader(config, global_batch_size=8, seed=7))
    for _ in range(3):
        next(iterator)
    state = json.loads(json.dumps(iterator_state_to_json(iterator)))  # as stored in a checkpoint
    assert set(state) == {"a", "b"}
    expected = [next(iterator) for _ in range(4)]  # past the end of the first epoch (26 records)
    resumed = iter(make_loader(config, global_batch_size=8, seed=7))
    restore_iterator(resumed, state)
    for want, got in zip(expected, (next(resumed) for _ in range(4))):
        assert set(got) == {"a", "b"}
        np.testing.assert_array_equal(want["a"], got["a"])
        np.testing.assert_array_equal(want["b"], got["b"])
    # Each stream is the loader of its own dataset, with its own seed.
    alone = {"a": ("twemoji", 7), "b": ("openmoji", 7 + 2**31)}
    batches = take(make_loader(config, global_batch_size=8, seed=7), 7)
    for key, (name, seed) in alone.items():
        single = take(make_loader(cfg(emoji_data_dir, name, crop=56, flip=True, keep_labels=False),
                                  global_batch_size=8, seed=seed), 7)
        for mixed, own in zip(batches, single):
            np.testing.assert_array_equal(mixed[key], own["image"])


def test_pair_and_augmentation_config_errors(emoji_data_dir):
    for overrides, message in [
        (dict(name="twemoji", pair=True), r"data.pair needs a paired dataset.*'twemoji' has images \['image'\]"),
        (dict(name="emoji_pairs", pair=True, unpaired="openmoji"), "data.pair and data.unpaired exclude each other"),
        (dict(name="twemoji", unpaired=3), "data.unpaired must be the name"),
        (dict(name="twemoji", pair="yes"), "data.pair must be True or False"),
        (dict(name="twemoji", flip=1), "data.flip must be True or False"),
        (dict(name="twemoji", crop=(8,)), "data.crop must be a positive int"),
        (dict(name="twemoji", crop=65), r"data.crop \(65, 65\) is larger than the images \(64, 64\)"),
        (dict(name="twemoji", image_size=32, crop=40), r"data.crop \(40, 40\) is larger than the images \(32, 32\)"),
    ]:
        with pytest.raises(DataError, match=message):
            make_loader(cfg(emoji_data_dir, **overrides), global_batch_size=4, seed=0)
    with pytest.raises(DataError, match="unknown dataset 'no_such_set'"):
        make_loader(cfg(emoji_data_dir, "twemoji", unpaired="no_such_set"), global_batch_size=4, seed=0)
