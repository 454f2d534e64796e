"""`photos`: the colour photographs of the scikit-image and scikit-learn wheels, whole, split by photo."""

import numpy as np
import skimage.data
import tensorflow_datasets as tfds
from sklearn.datasets import load_sample_image

from jaxgen import data
from jaxgen.data.builders import photos

TRAIN = ["astronaut", "rocket", "hubble_deep_field", "retina", "immunohistochemistry", "motorcycle_left",
         "motorcycle_right", "china"]
TEST = ["coffee", "chelsea", "flower"]


def test_info_and_split_by_photo(emoji_data_dir):
    builder = tfds.builder("photos", data_dir=emoji_data_dir)
    assert builder.is_prepared() and builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    info = data.dataset_info("photos", emoji_data_dir)
    assert info["image_shape"] == (None, None, 3) and info["label_key"] is None
    assert info["splits"] == {"train": 8, "test": 3}
    for split, names in [("train", TRAIN), ("test", TEST)]:
        src = data.open_source("photos", split, emoji_data_dir)
        assert [src[i]["name"].decode() for i in range(len(src))] == names
    assert set(photos.TEST) == set(TEST) and set(TRAIN) | set(TEST) == set(photos.PHOTOS)


def test_records_are_the_whole_photos(emoji_data_dir):
    left, right, _ = skimage.data.stereo_motorcycle()
    expected = {"chelsea": skimage.data.chelsea(), "retina": skimage.data.retina(), "motorcycle_right": right,
                "china": load_sample_image("china.jpg"), "flower": load_sample_image("flower.jpg")}
    found = {}
    for split in ("train", "test"):
        src = data.open_source("photos", split, emoji_data_dir)
        for i in range(len(src)):
            image = src[i]["image"]
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            found[src[i]["name"].decode()] = image
    for name, image in expected.items():
        np.testing.assert_array_equal(found[name], image)
    assert found["retina"].shape == (1411, 1411, 3) and found["chelsea"].shape == (300, 451, 3)
