"""Interpolation (jaxgen.edit.interpolation): slerp and lerp against their closed forms, strips against G alone."""

import jax
import numpy as np
import pytest

from jaxgen.edit import interpolation
from jaxgen.errors import JaxgenError


def _pair(d=16, seed=0):
    a, b = np.random.default_rng(seed).standard_normal((2, d)).astype(np.float32)
    return a, b


def test_ends_are_exact():
    a, b = _pair()
    for fn in (interpolation.slerp, interpolation.lerp):
        assert np.array_equal(fn(a, b, 0.0), a) and np.array_equal(fn(a, b, 1.0), b)


def test_lerp_is_the_straight_line():
    a, b = _pair()
    t = np.linspace(0, 1, 7, dtype=np.float32)
    np.testing.assert_allclose(interpolation.lerp(a[None], b[None], t), (1 - t)[:, None] * a + t[:, None] * b,
                               atol=1e-6)


def test_slerp_keeps_equal_norms_and_turns_at_a_constant_rate():
    """|a| = |b| = r: |slerp(t)| = r and the angle from a is t * omega (closed form), unlike lerp's shorter chord."""
    a, b = _pair(64)
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    r, omega = np.linalg.norm(a), np.arccos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    t = np.linspace(0, 1, 9, dtype=np.float32)
    points = np.asarray(interpolation.slerp(a[None], b[None], t), np.float64)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), r, rtol=1e-5)
    np.testing.assert_allclose(points @ a / (r * r), np.cos(t * omega), atol=1e-5)
    middle = np.linalg.norm(interpolation.lerp(a, b, 0.5))
    np.testing.assert_allclose(middle, r * np.cos(omega / 2), rtol=1e-5)  # the chord's middle is shorter


def test_slerp_of_parallel_vectors_is_lerp():
    a, _ = _pair()
    np.testing.assert_allclose(interpolation.slerp(a, 3 * a, 0.25), 1.5 * a, rtol=1e-6)


def test_path_has_even_steps_and_both_ends():
    a, b = _pair()
    p = np.asarray(interpolation.path(np.stack([a, b]), np.stack([b, a]), 5, "lerp"))
    assert p.shape == (2, 5, 16)
    assert np.array_equal(p[0, 0], a) and np.array_equal(p[0, -1], b) and np.array_equal(p[1, 0], b)
    np.testing.assert_allclose(p[0, 2], (a + b) / 2, atol=1e-6)
    with pytest.raises(JaxgenError, match="at least 2"):
        interpolation.path(a[None], b[None], 1)


@pytest.mark.parametrize("which, space", [("stylegan", "w"), ("dcgan", "z")])  # StyleGAN in Z: tests/edit/test_commands
def test_strip_ends_are_the_generators_images(which, space, request):
    """Each strip's first and last images are G(z0), G(z1), each drawn alone (a batch of one): strips give every
    image the same noise, so an image does not depend on its place in the grid."""
    g = request.getfixturevalue(which)
    z = g.latents(jax.random.key(1), 4)
    strips = np.asarray(interpolation.strips(g, z[:2], z[2:], 3, space))
    assert strips.shape == (2, 3, *g(z[:1]).shape[1:])
    for i in range(2):
        np.testing.assert_allclose(strips[i, 0], g(z[i:i + 1])[0], atol=1e-5)
        np.testing.assert_allclose(strips[i, -1], g(z[2 + i:3 + i])[0], atol=1e-5)
    assert np.abs(strips[:, 1] - strips[:, 0]).max() > 1e-3  # the middle moves


def test_defaults_and_refusals(stylegan, dcgan):
    assert interpolation.resolve(stylegan, None, None) == ("w", "lerp")
    assert interpolation.resolve(stylegan, "z", None) == ("z", "slerp")
    assert interpolation.resolve(dcgan, None, "lerp") == ("z", "lerp")
    with pytest.raises(JaxgenError, match="slerp is for Gaussian z"):
        interpolation.resolve(stylegan, "w", "slerp")
    with pytest.raises(JaxgenError, match="needs a style-based generator"):
        interpolation.resolve(dcgan, "w", None)
