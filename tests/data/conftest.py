"""Fixtures for the data tests: real bundled datasets prepared once, and mocked catalog datasets."""

import collections
import contextlib

import pytest
import tensorflow_datasets as tfds

from jaxgen import data
from jaxgen.data.builders import emoji

# Split sizes written into the fake metadata of mocked catalog datasets.
MOCK_SPLITS = {"train": 48, "test": 16}
# The emoji tests prepare these codepoints (with the first few of every category and split), not all ~3,800.
EMOJI_SUBSET = ("1f600", "1f44d-1f3fd", "1f1e9-1f1ea", "1f468-200d-1f373", "23-20e3", "2764")
PER_CATEGORY_AND_SPLIT = 3


@pytest.fixture(scope="session")
def data_dir(data_dir):
    """The session's data dir (tests/conftest.py) with the small bundled datasets (mnist5k, digits, lfw_faces)."""
    for name in ("mnist5k", "digits", "lfw_faces"):
        data.prepare(name, data_dir)
    return data_dir


@pytest.fixture(scope="session")
def emoji_subset():
    """The real emoji table cut to `EMOJI_SUBSET` plus `PER_CATEGORY_AND_SPLIT` codepoints per category and split."""
    table, taken, subset = emoji.emoji_table(), collections.Counter(), []
    for entry in table:
        group = (entry.label, emoji.split_of(entry.sequence))
        if entry.sequence in EMOJI_SUBSET or taken[group] < PER_CATEGORY_AND_SPLIT:
            taken[group] += 1
            subset.append(entry)
    return subset


@pytest.fixture(scope="session")
def emoji_data_dir(tmp_path_factory, emoji_subset):
    """A data dir with the emoji datasets prepared from `emoji_subset` (real images) and `photos` (all 11)."""
    directory = str(tmp_path_factory.mktemp("emoji_data"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emoji, "emoji_table", lambda: emoji_subset)
        for name in ("twemoji", "openmoji", "emoji_pairs", "edges2emoji", "photos"):
            data.prepare(name, directory)
    return directory


@pytest.fixture(scope="session")
def mock_catalog(tmp_path_factory):
    """`with mock_catalog(): ...` makes mnist, cifar10 and tf_flowers look prepared, with random records.

    The catalog refuses unprepared datasets, so `tfds.testing.mock_data` is pointed (policy USE_FILES) at a dir
    holding real metadata (features + `MOCK_SPLITS`) for them; every split then serves `MOCK_SPLITS["train"]`
    deterministic random records, without TensorFlow.
    """
    root = tmp_path_factory.mktemp("mock_tfds")
    for name in ("mnist", "cifar10", "tf_flowers"):
        builder = tfds.builder(name, data_dir=str(root))
        builder.info.set_file_format("array_record", override=True)
        builder.info.set_splits(tfds.core.SplitDict([
            tfds.core.SplitInfo(name=s, shard_lengths=[n], num_bytes=0, filename_template=None)
            for s, n in MOCK_SPLITS.items()
        ]))
        builder.data_path.mkdir(parents=True)
        builder.info.write_to_directory(builder.data_path)

    @contextlib.contextmanager
    def mocked():
        with tfds.testing.mock_data(
            num_examples=MOCK_SPLITS["train"], policy=tfds.testing.MockPolicy.USE_FILES, data_dir=str(root)
        ):
            yield

    mocked.data_dir = str(root)  # Outside the mock, a data dir where these datasets look prepared.
    return mocked
