"""`lfw_faces`: scikit-image's 100 LFW faces as a bundled TFDS builder (records, split, info)."""

import os

import numpy as np
import skimage.data
import tensorflow_datasets as tfds

from jaxgen import data
from jaxgen.data.builders import lfw


def _source_faces():
    return np.load(os.path.join(os.path.dirname(skimage.data.__file__), "lfw_subset.npy"))[:100]


def test_info_and_splits(data_dir):
    builder = tfds.builder("lfw_faces", data_dir=data_dir)
    assert builder.is_prepared() and builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert builder.info.description and builder.info.citation and str(builder.info.version) == "1.0.0"
    assert data.dataset_info("lfw_faces", data_dir) == dict(
        image_key="image", image_shape=(25, 25, 1), images={"image": (25, 25, 1)}, label_key=None, num_classes=None,
        splits={"train": 80, "test": 20})


def test_records_equal_the_source_faces(data_dir):
    faces = _source_faces()
    train, test = lfw.split_rows()
    for split, rows in [("train", train), ("test", test)]:
        src = data.open_source("lfw_faces", split, data_dir)
        assert len(src) == len(rows)
        images = np.stack([src[i]["image"] for i in range(len(src))])
        assert images.shape == (len(rows), 25, 25, 1) and images.dtype == np.uint8
        np.testing.assert_array_equal(images[..., 0], np.round(faces[rows] * 255).astype(np.uint8))


def test_split_is_fixed_disjoint_and_covers_the_faces():
    train, test = lfw.split_rows()
    again_train, again_test = lfw.split_rows()
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert len(train) == 80 and len(test) == 20 and len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    np.testing.assert_array_equal(np.sort(test), np.sort(np.random.default_rng(0).permutation(100)[:20]))
