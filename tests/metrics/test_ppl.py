"""Perceptual path length (jaxgen.metrics.ppl): the 1/eps^2 scaling on a pair computed by hand, the 1 %/99 %
percentile filter by hand, PPL of generators linear in w (and in z) against their closed forms, both sampling modes,
the protocol name; on a tiny random StyleGAN (tests/edit/style_generator.py) with noise inputs, the two images of a
pair share their noise; VGG (tests/metrics/test_vgg_distance.py) is the default distance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.errors import MetricError
from jaxgen.metrics import names, ppl, vgg_distance
from tests.edit import style_generator


class Linear:
    """A style-based stand-in: ``w = M z``, ``G(ws) = A w`` (``ws[:, 0]``) as [N, 2, 2, 1] images, z fixed rows."""

    style_based = True

    def __init__(self, z, m, a):
        self.z, self.m, self.a = (jnp.asarray(v, jnp.float32) for v in (z, m, a))
        self.variables = {"m": self.m, "a": self.a}

    def with_variables(self, variables):
        return Linear(self.z, variables["m"], variables["a"])

    def latents(self, key, n):
        return self.z[:n]

    def mapping(self, z):
        return z @ self.m.T

    def broadcast(self, w):
        return jnp.stack([w, w], axis=1)

    def synthesize(self, ws, key=None):
        return (ws[:, 0] @ self.a.T).reshape(-1, 2, 2, 1)

    def __call__(self, z, key=None):
        return self.synthesize(self.broadcast(self.mapping(z)))


PIXELS = style_generator.PixelDistance()


@pytest.mark.parametrize("eps", [1e-2, 1e-4])
def test_distance_is_scaled_by_one_over_eps_squared(eps):
    # w0 = 0, w1 = (3, 4, 0, 0), G the identity: the images differ by eps * (3, 4, 0, 0), squared distance 25 eps^2
    g = Linear([[0, 0, 0, 0], [3, 4, 0, 0]], np.eye(4), np.eye(4))
    for sampling in ("end", "full"):
        d = ppl.path_distances(g, PIXELS, jax.random.key(0), 1, space="w", sampling=sampling, eps=eps)
        np.testing.assert_allclose(d, [25.0], rtol=1e-3)


def test_percentile_filter_by_hand():
    d = np.random.default_rng(0).permutation(np.arange(1.0, 201.0))
    d[d == 200.0] = 1e9  # an outlier at the top
    # 200 values: the 1st percentile (lower) is the 2nd smallest (2), the 99th (higher) the 199th smallest (199)
    assert ppl.filtered_mean(d) == pytest.approx(np.mean(np.arange(2.0, 200.0)))
    assert ppl.filtered_mean(np.full(150, 7.0)) == 7.0


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(1)
    return Linear(rng.normal(size=(400, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 4)))


@pytest.mark.parametrize("sampling", ["end", "full"])
def test_ppl_of_a_generator_linear_in_w_is_its_closed_form(linear, sampling):
    result = ppl.ppl(linear, jax.random.key(0), space="w", sampling=sampling, num_samples=200, batch_size=200,
                     distance=PIXELS)
    z0, z1 = np.asarray(linear.z[0:400:2]), np.asarray(linear.z[1:400:2])
    exact = np.sum(np.square((z1 - z0) @ np.asarray(linear.m).T @ np.asarray(linear.a).T), axis=1)  # |A M dz|^2
    np.testing.assert_allclose(result.distances, exact, rtol=2e-2)  # float32 differences of eps 1e-4 (1.04 % seen)
    assert result.value == pytest.approx(ppl.filtered_mean(exact), rel=1e-2)
    assert result.name == "ppl_w_" + sampling + "_n200_pixels"


def test_ppl_in_z_is_the_squared_speed_along_the_slerp(linear):
    # at t = 0 the path r(t) slerp(t) has velocity (|z1| - |z0|) u0 + |z0| theta c (c: the unit tangent toward z1)
    d = np.asarray(ppl.path_distances(linear, PIXELS, jax.random.key(0), 200, space="z", eps=1e-3))
    z0, z1 = np.asarray(linear.z[0:400:2], np.float64), np.asarray(linear.z[1:400:2], np.float64)
    r0, r1 = np.linalg.norm(z0, axis=1, keepdims=True), np.linalg.norm(z1, axis=1, keepdims=True)
    u0, u1 = z0 / r0, z1 / r1
    cos = np.sum(u0 * u1, axis=1, keepdims=True)
    c = (u1 - cos * u0) / np.linalg.norm(u1 - cos * u0, axis=1, keepdims=True)
    velocity = (r1 - r0) * u0 + r0 * np.arccos(cos) * c
    exact = np.sum(np.square(velocity @ np.asarray(linear.m, np.float64).T @ np.asarray(linear.a, np.float64).T), 1)
    np.testing.assert_allclose(d, exact, rtol=2e-2)


def test_protocol_name_and_errors(linear):
    assert names.ppl_name("w", "end", 10000, "vgg16hed") == "ppl_w_end_n10k_vgg16hed"
    assert not names.higher_is_better("ppl_w_end_n10k_vgg16hed")
    with pytest.raises(MetricError, match="at least 100 samples"):
        ppl.ppl(linear, jax.random.key(0), num_samples=50, distance=PIXELS)
    with pytest.raises(MetricError, match="space must be one of z, w"):
        ppl.ppl(linear, jax.random.key(0), space="x", distance=PIXELS)
    with pytest.raises(MetricError, match="sampling must be one of full, end"):
        ppl.ppl(linear, jax.random.key(0), sampling="middle", distance=PIXELS)


def test_tiny_stylegan_pairs_share_their_noise_and_vgg_is_the_default_distance(monkeypatch):
    g = style_generator.generator(noise=1.0, seed=1)
    loads = []
    monkeypatch.setattr(vgg_distance.VGGDistance, "load", classmethod(lambda cls: loads.append(1) or PIXELS))
    shared = ppl.ppl(g, jax.random.key(0), num_samples=100, batch_size=50)  # the program `jaxgen edit ppl`'s test runs
    assert loads == [1] and shared.name == "ppl_w_end_n100_pixels"
    # other noise for the second image of a pair would add |strength * (noise - noise')|^2 / eps^2
    other = np.sum(np.square(np.asarray(g.synthesize(g.broadcast(g.w_avg[None]), jax.random.key(1))
                                        - g.synthesize(g.broadcast(g.w_avg[None]), jax.random.key(2)))))
    assert 0 < shared.value < 1e-3 * other / ppl.EPSILON**2
