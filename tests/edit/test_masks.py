"""Concept masks (jaxgen.edit.masks): CIELAB vs scikit-image, colour names, emoji structure, digit strokes."""

import numpy as np
import pytest
from skimage import color

from jaxgen.edit import masks as masks_lib
from jaxgen.errors import JaxgenError


def _images(rgb255):
    """uint8-valued pixels [..., 3] -> images in [-1, 1]."""
    return np.asarray(rgb255, np.float32) / 127.5 - 1.0


def test_lab_matches_scikit_image():
    rgb = np.random.default_rng(0).uniform(size=(50, 3))
    np.testing.assert_allclose(masks_lib.rgb_to_lab(rgb), color.rgb2lab(rgb), atol=1e-6)


@pytest.mark.parametrize("pixel, name", [
    ((255, 0, 0), "red"), ((200, 20, 30), "red"), ((255, 165, 0), "orange"), ((255, 230, 60), "yellow"),
    ((20, 160, 40), "green"), ((30, 144, 255), "blue"), ((10, 30, 90), "navy"), ((128, 0, 128), "purple"), ((255, 192, 203), "pink"),
    ((140, 70, 20), "brown"), ((120, 120, 125), "grey"), ((12, 10, 15), "black"), ((250, 250, 250), "white"),
])
def test_colour_names_of_hand_made_pixels(pixel, name):
    masks = masks_lib.colour_masks(_images([[[pixel]]]))
    assert [k for k, m in masks.items() if m[0, 0, 0]] == [name]


def test_palette_colours_name_themselves_and_partition():
    pixels = _images(np.array(list(masks_lib.PALETTE.values()))[None, None])  # [1, 1, K, 3]
    masks = masks_lib.colour_masks(pixels)
    for i, name in enumerate(masks_lib.PALETTE):
        assert masks[name][0, 0, i] and sum(m[0, 0, i] for m in masks.values()) == 1


def test_emoji_structure_of_a_hand_made_face():
    """9x9: white around a black ring (rows/cols 1..7), yellow inside with a white "eye" at (4, 4) that does not
    reach the border, and a yellow pixel at (0, 4) on the border itself (rim: it touches the background)."""
    white, black, yellow = (255, 255, 255), (0, 0, 0), (255, 204, 77)
    img = np.full((9, 9, 3), white)
    img[1:8, 1:8] = black
    img[2:7, 2:7] = yellow
    img[4, 4] = white
    img[0, 4] = yellow
    masks = masks_lib.emoji_masks(_images(img[None]))
    ring = np.zeros((9, 9), bool)
    ring[1:8, 1:8] = True
    ring[2:7, 2:7] = False
    inside = np.zeros((9, 9), bool)
    inside[2:7, 2:7] = True
    background = ~(ring | inside)
    background[0, 4] = False
    outline = ring.copy()
    outline[0, 4] = True
    np.testing.assert_array_equal(masks["background"][0], background)
    np.testing.assert_array_equal(masks["outline"][0], outline)
    np.testing.assert_array_equal(masks["interior"][0], inside)  # the white eye included: enclosed


def test_digit_strokes_holes_and_background():
    zero = np.zeros((7, 7))
    zero[1:6, 1:6] = 1
    zero[2:5, 2:5] = 0  # the loop's hole, 3x3
    one = np.zeros((7, 7))
    one[1:6, 3] = 1
    masks = masks_lib.digit_masks(np.stack([zero, one])[..., None] * 2 - 1)
    np.testing.assert_array_equal(masks["stroke"], np.stack([zero, one]) > 0)
    hole = np.zeros((7, 7), bool)
    hole[2:5, 2:5] = True
    np.testing.assert_array_equal(masks["hole"], np.stack([hole, np.zeros_like(hole)]))
    np.testing.assert_array_equal(masks["background"], ~masks["stroke"] & ~masks["hole"])


def test_concepts_by_channels():
    assert set(masks_lib.concept_masks(np.zeros((1, 4, 4, 1)))) == {"stroke", "hole", "background"}
    assert masks_lib.names(1) == ("stroke", "hole", "background") and masks_lib.names(3)[-1] == "interior"
    assert set(masks_lib.concept_masks(np.zeros((1, 4, 4, 3)))) == {*masks_lib.PALETTE, "background", "outline",
                                                                  "interior"}
    with pytest.raises(JaxgenError, match="4 channels"):
        masks_lib.concept_masks(np.zeros((1, 4, 4, 4)))
