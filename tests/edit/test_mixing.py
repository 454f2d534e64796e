"""Style mixing (jaxgen.edit.mixing, jaxgen.edit.bands): the bands by resolution against the paper's table, mixing
swaps exactly the chosen layers, an image changes only when the copied styles differ, the grid's layout."""

import jax
import numpy as np
import pytest

from jaxgen.edit import bands, mixing
from jaxgen.edit.generator import each
from jaxgen.errors import JaxgenError


@pytest.mark.parametrize("resolution, expected", [
    (8, {"coarse": (0, 2), "fine": (2, 4)}),
    (16, {"coarse": (0, 2), "middle": (2, 4), "fine": (4, 6)}),
    (32, {"coarse": (0, 4), "middle": (4, 6), "fine": (6, 8)}),
    (64, {"coarse": (0, 4), "middle": (4, 8), "fine": (8, 10)}),
    (1024, {"coarse": (0, 4), "middle": (4, 8), "fine": (8, 18)}),  # the paper's: 4-8, 16-32, 64-1024 px
])
def test_bands_by_resolution(resolution, expected):
    num_layers = 2 * (int(np.log2(resolution)) - 1)  # two per resolution 4, 8, ..., resolution
    assert bands.present(num_layers) == tuple(expected)
    assert {b: bands.layer_range(b, num_layers) for b in bands.present(num_layers)} == expected
    if "middle" not in expected:
        with pytest.raises(JaxgenError, match="has no middle band"):
            bands.layer_range("middle", num_layers)


def test_layer_ranges_are_checked():
    assert bands.layer_range((1, 3), 4) == (1, 3)
    for bad in [(2, 2), (-1, 2), (0, 5)]:
        with pytest.raises(JaxgenError, match="layer range"):
            bands.layer_range(bad, 4)
    with pytest.raises(JaxgenError, match="unknown style band 'mid'"):
        bands.layer_range("mid", 4)


def test_mix_swaps_exactly_the_chosen_layers():
    a, b = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    for start, stop in [(0, 2), (2, 6), (3, 4)]:
        out = np.asarray(mixing.mix(a, b, (start, stop)))
        for layer in range(6):
            assert np.array_equal(out[:, layer], (b if start <= layer < stop else a)[:, layer])


def test_image_changes_only_through_the_copied_styles(stylegan):
    """B equal to A on the copied layers (different elsewhere) leaves A's image as it was; B different there
    changes it."""
    ws = stylegan.broadcast(stylegan.mapping(stylegan.latents(jax.random.key(3), 2)))
    a, other = ws[:1], ws[1:]
    same_on_fine = mixing.mix(other, a, (2, 4))  # B: A's w on layers 2-3, another w on 0-1
    render = lambda w: np.asarray(each(stylegan.synthesize, w))  # noqa: E731
    image_a, unchanged, changed = render(np.concatenate([a, mixing.mix(a, same_on_fine, (2, 4)),
                                                         mixing.mix(a, other, (2, 4))]))
    assert np.array_equal(unchanged, image_a)
    assert np.abs(changed - image_a).max() > 1e-3


def test_grid_layout(stylegan):
    """Top row: a blank cell, then each B; then per band, each A and A with that band from each B."""
    z = stylegan.latents(jax.random.key(4), 4)
    z_a, z_b = z[:1], z[1:]
    cells = np.asarray(mixing.grid(stylegan, z_a, z_b, ("coarse", (3, 4))))
    assert cells.shape == (3, 4, 8, 8, 3)
    assert np.array_equal(cells[0, 0], np.ones((8, 8, 3)))
    for j in range(3):
        np.testing.assert_allclose(cells[0, 1 + j], stylegan(z_b[j:j + 1])[0], atol=1e-5)
    for row, layers in ((1, (0, 2)), (2, (3, 4))):
        np.testing.assert_allclose(cells[row, 0], stylegan(z_a)[0], atol=1e-5)
        ws_a, ws_b = (stylegan.broadcast(stylegan.mapping(x)) for x in (z_a, z_b))
        for j in range(3):
            own = stylegan.synthesize(mixing.mix(ws_a, ws_b[j:j + 1], layers))[0]
            np.testing.assert_allclose(cells[row, 1 + j], own, atol=1e-5)


def test_a_non_style_generator_is_refused(dcgan):
    z = dcgan.latents(jax.random.key(0), 2)
    with pytest.raises(JaxgenError, match="style mixing needs a style-based generator"):
        mixing.grid(dcgan, z[:1], z[1:])
