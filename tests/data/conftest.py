"""Fixtures for the data tests: real bundled datasets prepared once, and mocked catalog datasets (the emoji data
dir, which the game tests share, is in tests/conftest.py)."""

import contextlib

import pytest
import tensorflow_datasets as tfds

from jaxgen import data

# Split sizes written into the fake metadata of mocked catalog datasets.
MOCK_SPLITS = {"train": 48, "test": 16}


@pytest.fixture(scope="session")
def data_dir(data_dir):
    """The session's data dir (tests/conftest.py) with the small bundled datasets (mnist5k, digits, lfw_faces)."""
    for name in ("mnist5k", "digits", "lfw_faces"):
        data.prepare(name, data_dir)
    return data_dir


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
