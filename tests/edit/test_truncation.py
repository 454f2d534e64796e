"""Truncation (jaxgen.edit.truncation, Model.sample(psi=)): the per-layer formula against numpy, the grid's psi = 1
and psi = 0 columns, sampling with psi = 1 against the untruncated samples."""

import jax
import numpy as np
import pytest

from jaxgen.edit import truncation
from jaxgen.errors import ConfigError, JaxgenError


def test_truncation_moves_exactly_the_layers_below_the_cutoff(stylegan):
    ws = np.random.default_rng(0).standard_normal((2, stylegan.num_layers, 8)).astype(np.float32)
    w_avg = np.asarray(stylegan.w_avg)
    assert np.abs(w_avg).max() > 0  # training moved it from its zeros
    for psi, cutoff in [(0.7, None), (-0.5, 2), (0.0, 1)]:
        out = np.asarray(truncation.truncate(stylegan, ws, psi, cutoff))
        k = stylegan.num_layers if cutoff is None else cutoff
        np.testing.assert_allclose(out[:, :k], w_avg + psi * (ws[:, :k] - w_avg), atol=1e-6)
        assert np.array_equal(out[:, k:], ws[:, k:])
    assert np.array_equal(truncation.truncate(stylegan, ws, 1.0), ws)
    with pytest.raises(JaxgenError, match="cutoff must be a layer count in 1..4"):
        truncation.truncate(stylegan, ws, 0.5, 5)


def test_grid_columns(stylegan):
    """psi = 1 is each latent's own image (G alone); psi = 0 is w_avg's image in every row."""
    z = stylegan.latents(jax.random.key(2), 3)
    cells = np.asarray(truncation.grid(stylegan, z, (1.0, 0.5, 0.0)))
    assert cells.shape == (3, 3, 8, 8, 3)
    for r in range(3):
        np.testing.assert_allclose(cells[r, 0], stylegan(z[r:r + 1])[0], atol=1e-5)
    np.testing.assert_allclose(cells[1:, 2], np.broadcast_to(cells[0, 2], cells[1:, 2].shape), atol=1e-5)
    assert np.abs(cells[:, 1] - cells[:, 0]).max() > 1e-3 and np.abs(cells[0, 0] - cells[1, 0]).max() > 1e-3


def test_sample_with_psi(stylegan_model, dcgan):
    plain = stylegan_model.sample(4, seed=3)
    np.testing.assert_allclose(stylegan_model.sample(4, seed=3, psi=1.0), plain, atol=1e-5)
    assert np.abs(stylegan_model.sample(4, seed=3, psi=0.5) - plain).max() > 1e-3
    with pytest.raises(ConfigError, match="no labels or source"):
        stylegan_model.sample(4, psi=0.5, labels=1)
    with pytest.raises(JaxgenError, match="no w to truncate"):
        dcgan.model.sample(2, psi=0.5)
