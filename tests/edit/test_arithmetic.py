"""Latent arithmetic (jaxgen.edit.arithmetic) and the concepts it groups by (jaxgen.edit.concepts): group means
against numpy on hand-made latents and labels, closed loops on hand-drawn images, the figure's cells against G."""

import jax
import numpy as np
import pytest

from jaxgen.edit import arithmetic, concepts
from jaxgen.errors import JaxgenError
from jaxgen.metrics.features import FeatureNet


def test_group_means_take_the_first_members_in_order():
    latents = np.arange(30, dtype=np.float32).reshape(10, 3)
    labels = np.array([2, 0, 1, 2, 0, 2, 1, 0, 2, 1])
    means, indices = arithmetic.group_means(latents, labels, [2, 0, 1], per_group=3)
    assert indices.tolist() == [[0, 3, 5], [1, 4, 7], [2, 6, 9]]
    np.testing.assert_allclose(means, [latents[[0, 3, 5]].mean(0), latents[[1, 4, 7]].mean(0),
                                       latents[[2, 6, 9]].mean(0)])
    np.testing.assert_allclose(arithmetic.combine(means), means[0] - means[1] + means[2])
    with pytest.raises(JaxgenError, match="only 3 of the 10 samples have label 1"):
        arithmetic.group_means(latents, labels, [1], per_group=4)


def test_neighbours_stay_within_the_noise_scale():
    y = np.linspace(-1, 1, 64, dtype=np.float32)
    near = np.asarray(arithmetic.neighbours(y, jax.random.key(0), 200, 0.25))
    assert near.shape == (200, 64) and np.abs(near - y).max() <= 0.25
    assert np.abs(near - y).max() > 0.24 and abs(float((near - y).mean())) < 0.01  # uniform on [-0.25, 0.25]


def _canvas(background=-1.0, ink=1.0, channels=1):
    return np.full((12, 12, channels), background, np.float32), ink


def test_closed_loop_on_hand_drawn_shapes():
    ring, ink = _canvas()
    ring[3:9, 3:9], ring[5:7, 5:7] = ink, -1.0  # a square ring: a 2 x 2 hole
    bar, _ = _canvas()
    bar[2:10, 5:7] = ink
    cup, _ = _canvas()
    cup[3:9, 3:9], cup[3:7, 5:7] = ink, -1.0  # the hole opens to the top: no loop
    diagonal_gap, _ = _canvas()
    diagonal_gap[3:9, 3:9], diagonal_gap[5:7, 5:7] = ink, -1.0
    diagonal_gap[3, 3] = diagonal_gap[4, 4] = -1.0  # background reaches the hole only diagonally: still a loop
    assert concepts.closed_loop(np.stack([ring, bar, cup, diagonal_gap])).tolist() == [1, 0, 0, 1]
    green_on_white, _ = _canvas(1.0, channels=3)
    green_on_white[3:9, 3:9], green_on_white[5:7, 5:7] = (-1.0, 1.0, -1.0), 1.0  # one channel on the background's
    assert concepts.closed_loop(green_on_white[None]).tolist() == [1]
    assert concepts.closed_loop(ring[None], min_hole=5).tolist() == [0]  # the hole has 4 pixels


def test_classifier_concept_resizes_to_the_networks_input():
    """A stub FeatureNet: its logits say which image is brightest on the left half, at its 4 x 4 input."""
    seen = []

    def apply(x):
        seen.append(x.shape)
        left = x[:, :, :2].mean(axis=(1, 2, 3))
        return {"pool": x.reshape(len(x), -1), "logits": np.stack([-left, left], axis=1)}

    label = concepts.classifier(FeatureNet("stub", "0", (4, 4, 1), apply))
    images = np.full((2, 8, 8, 1), -1.0, np.float32)
    images[1, :, :4] = 1.0
    assert label(images).tolist() == [0, 1] and seen == [(2, 4, 4, 1)]
    concept = concepts.Concept("class", ("dark", "light"), label)
    assert concept.index("light") == 1 and concept.index("0") == 0
    with pytest.raises(JaxgenError, match="has no value 'grey'; its values: dark, light"):
        concept.index("grey")


def test_figure_cells_are_the_examples_means_and_result(dcgan):
    """A brightness concept on an untrained DCGAN: rows A, B, C hold the chosen samples and the image of their mean
    z (numpy), the last row the image of A - B + C and its neighbours."""
    def brighter(images):
        means = images.reshape(len(images), -1).mean(axis=1)
        return (means > np.median(means)).astype(np.int32)

    concept = concepts.Concept("brightness", ("dark", "light"), brighter)
    cells, info = arithmetic.figure(dcgan, concept, "light", "dark", "light", pool=16, per_group=2, seed=5)
    cells = np.asarray(cells)
    assert cells.shape == (4, 3, 28, 28, 1) and info["space"] == "z" and info["counts"] == {"dark": 8, "light": 8}
    z = np.asarray(dcgan.latents(jax.random.split(jax.random.key(5))[0], 16))
    a, b, c = (np.asarray(i) for i in info["indices"])
    assert (a == c).all() and not set(a) & set(b)  # A and C both the first two light samples; B dark ones
    for row, chosen in enumerate((a, b, c)):
        for j, index in enumerate(chosen):
            np.testing.assert_allclose(cells[row, j], dcgan(z[index:index + 1])[0], atol=1e-5)
        np.testing.assert_allclose(cells[row, 2], dcgan(z[chosen].mean(0, keepdims=True))[0], atol=1e-5)
    result = z[a].mean(0) - z[b].mean(0) + z[c].mean(0)
    np.testing.assert_allclose(cells[3, 0], dcgan(result[None])[0], atol=1e-5)
    assert info["result"] in ("dark", "light")
    with pytest.raises(JaxgenError, match="only 0 of 16 samples are brightness 'light'"):
        arithmetic.figure(dcgan, concepts.Concept("brightness", ("dark", "light"), lambda x: np.zeros(len(x), int)),
                          "light", "dark", "dark", pool=16)
