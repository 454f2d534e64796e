"""The single-image loader: bundled names, files (alpha on white), resizing, one-line errors."""

import numpy as np
import pytest
from PIL import Image

from jaxgen.data import single_image
from jaxgen.errors import ConfigError


def test_bundled_texture_is_grey_on_three_channels():
    image = single_image.read("brick")
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_bundled_photo_shrinks_to_max_size_keeping_aspect():
    image = single_image.load("coffee", max_size=150)  # 400 x 600
    assert image.shape == (100, 150, 3) and image.dtype == np.float32
    assert -1.0 <= image.min() and image.max() <= 1.0


def test_file_alpha_composited_on_white(tmp_path):
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:2, :, 3] = 255  # top half opaque, bottom transparent
    path = tmp_path / "x.png"
    Image.fromarray(rgba).save(path)
    image = single_image.read(str(path))
    np.testing.assert_array_equal(image[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(image[3, 0], [255, 255, 255])
    assert single_image.load(str(path), size=(8, 12)).shape == (8, 12, 3)


def test_missing_and_unreadable_images_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"data.image='nope.png' is neither an image file nor a bundled image"):
        single_image.read("nope.png")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ConfigError, match="style.image=.* is not an image Pillow can read"):
        single_image.read(str(bad), key="style.image")
