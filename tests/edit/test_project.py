"""The StyleGAN2 projector (jaxgen.edit.project): noise images given to G (the "noise" collection of
jaxgen.nn.style.NoiseInput, through Generator.noise / synthesize(noise=)), the noise regulariser against a
loop-by-loop hand computation, the objective's terms, the renormalisation, the schedules against the official formulas' values, and inversion of a generated image on a tiny
random StyleGAN (tests/edit/style_generator.py): from w_avg it finds the image's own w in W, and with noise inputs on
it optimises the noise maps too. A pixel distance stands in for VGG here (the VGG distance:
tests/metrics/test_vgg_distance.py); W+ through `jaxgen edit project`: tests/edit/test_project_command.py."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.edit import project
from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.metrics.image_quality import psnr
from tests.edit import style_generator

FAST = project.Schedule(steps=200, w_samples=2000)


def _hand_regularization(maps):
    """Loops over positions: sum over maps and pyramid levels of (mean_xy n[x, y] n[x - 1, y])^2 + (... n[x, y - 1])^2,
    indices wrapping around; each level above 8 x 8 halved by 2 x 2 means."""
    total = 0.0
    for n in maps:
        while True:
            r = n.shape[0]
            right = sum(n[y, x] * n[y, (x - 1) % r] for y in range(r) for x in range(r)) / r**2
            down = sum(n[y, x] * n[(y - 1) % r, x] for y in range(r) for x in range(r)) / r**2
            total += right**2 + down**2
            if r <= 8:
                break
            n = np.array([[n[2 * y:2 * y + 2, 2 * x:2 * x + 2].mean() for x in range(r // 2)] for y in range(r // 2)])
    return total


def test_noise_regularization_against_a_hand_computation():
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(2, 4, 4, 1)), rng.normal(size=(2, 16, 16, 1)) + 0.3 * np.arange(16)[:, None, None]]
    noise = {"synthesis": {"noise0": {"noise": jnp.asarray(maps[0], jnp.float32)},
                           "noise1": {"noise": jnp.asarray(maps[1], jnp.float32)}}}
    got = np.asarray(project.noise_regularization(noise))
    expected = [_hand_regularization([m[i, ..., 0] for m in maps]) for i in range(2)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got.min() > 1e-3  # the correlated 16 x 16 map weighs in


def test_objective_adds_the_weighted_pixel_mse_and_noise_regularisation():
    rng = np.random.default_rng(2)
    images, targets = (jnp.asarray(rng.normal(size=(2, 4, 4, 3)), jnp.float32) for _ in range(2))
    noise = {"n": jnp.asarray(rng.normal(size=(2, 4, 4, 1)), jnp.float32)}
    d = jnp.asarray([0.5, 2.0])
    mse = np.mean((np.asarray(images) - np.asarray(targets)) ** 2, axis=(1, 2, 3))
    reg = [_hand_regularization([np.asarray(noise["n"])[i, ..., 0]]) for i in range(2)]
    np.testing.assert_allclose(project.objective(d, images, targets, noise, 3.0, 10.0), d + 3 * mse + 10 * np.array(reg),
                               rtol=1e-5)
    np.testing.assert_allclose(project.objective(d, images, targets, noise, 0.0, 0.0), d)  # the paper's, no noise


def test_renormalize_gives_every_map_of_every_image_mean_0_and_mean_square_1():
    rng = np.random.default_rng(1)
    noise = {"a": jnp.asarray(3 + 2 * rng.normal(size=(3, 8, 8, 1)), jnp.float32),
             "b": jnp.asarray(rng.uniform(size=(3, 4, 4, 1)), jnp.float32)}
    for n in jax.tree.leaves(project.renormalize(noise)):
        np.testing.assert_allclose(n.mean(axis=(1, 2, 3)), 0, atol=1e-6)
        np.testing.assert_allclose(np.square(n).mean(axis=(1, 2, 3)), 1, rtol=1e-5)


def test_given_noise_images_replace_the_draw():
    g, quiet = style_generator.generator(noise=1.0, seed=1), style_generator.generator(noise=0.0, seed=1)
    assert "noise" not in g.variables  # training's init makes no such collection
    ws = g.broadcast(g.mapping(g.latents(jax.random.key(8), 2)))
    drawn = g.noise(2, jax.random.key(3))
    assert {k: m["noise"].shape for k, m in drawn["synthesis"].items()} == {
        "noise0": (2, 4, 4, 1), "noise1": (2, 4, 4, 1), "noise2": (2, 8, 8, 1), "noise3": (2, 8, 8, 1)}
    images = np.asarray(g.synthesize(ws, jax.random.key(3)))
    np.testing.assert_allclose(g.synthesize(ws, noise=drawn), images, rtol=1e-5, atol=1e-5)  # the key's noise
    assert np.abs(np.asarray(g.synthesize(ws, jax.random.key(4))) - images).max() > 0.1
    zeros = jax.tree.map(np.zeros_like, drawn)  # no noise: as if the strengths were 0, whatever the key
    np.testing.assert_allclose(g.synthesize(ws, noise=zeros), quiet.synthesize(ws, jax.random.key(5)), rtol=1e-5,
                               atol=1e-5)


def test_schedules_against_the_official_formulas():
    s = project.Schedule()  # 1000 steps: up over 50, down over the last 250, latent noise over the first 750
    lr = [float(project.learning_rate(s, i)) for i in (0, 25, 50, 500, 750, 875, 1000)]
    np.testing.assert_allclose(lr, [0, 0.05, 0.1, 0.1, 0.1, 0.05, 0], atol=1e-7)
    scale = [float(project.latent_noise_scale(s, i, 2.0)) for i in (0, 375, 750, 900)]
    np.testing.assert_allclose(scale, [0.1, 0.025, 0, 0], atol=1e-8)
    with pytest.raises(ConfigError, match="'steps' must be positive"):
        project.Schedule(steps=0)
    with pytest.raises(ConfigError, match="'noise_weight' must not be negative"):
        project.Schedule(noise_weight=-1)


def test_a_generator_without_w_is_a_one_line_error():
    dcgan = types.SimpleNamespace(style_based=False, model=types.SimpleNamespace(
        config=config_lib.from_dict({"model": {"name": "dcgan"}})))
    with pytest.raises(JaxgenError, match="needs a style-based generator .* model is 'dcgan'"):
        project.project(dcgan, np.zeros((1, 8, 8, 3)), distance=style_generator.PixelDistance())


@pytest.fixture(scope="module")
def quiet():
    """The tiny StyleGAN with its noise inputs off (strength 0), and two images of known w."""
    g = style_generator.generator(noise=0.0)
    w = g.mapping(g.latents(jax.random.key(3), 2))
    return g, w, g.synthesize(g.broadcast(w))


def test_projection_into_w_recovers_a_generated_images_own_latent(quiet):
    g, w, images = quiet
    result = project.project(g, images, space="w", schedule=FAST, distance=style_generator.PixelDistance())
    assert result.ws.shape == (2, g.num_layers, w.shape[-1]) and result.space == "w"
    np.testing.assert_array_equal(result.ws, np.broadcast_to(result.ws[:, :1], result.ws.shape))  # one w ...
    np.testing.assert_allclose(result.ws[:, 0], w, atol=0.01 * np.abs(np.asarray(w)).max())  # ... the target's
    assert result.psnr.min() > 50 and result.history.shape == (200, 2)
    assert result.history[0].min() > 100 * result.distance.max()  # from w_avg's image, far off
    np.testing.assert_allclose(result.distance, np.sum(np.square(result.images - np.asarray(images)), axis=(1, 2, 3)),
                               rtol=1e-4)


def test_projection_with_noise_inputs_optimises_the_noise_maps_too():
    # with the regulariser off (at 1e5 it holds 4 and 8 px maps white): the maps take what w does not explain
    g = style_generator.generator(noise=1.0, seed=1)
    w = g.mapping(g.latents(jax.random.key(4), 2))
    images = g.synthesize(g.broadcast(w), jax.random.key(5))
    schedule = project.Schedule(steps=200, w_samples=2000, noise_weight=0.0)
    result = project.project(g, images, schedule=schedule, distance=style_generator.PixelDistance(),
                             key=jax.random.key(6))
    for n in jax.tree.leaves(result.noise):  # renormalised after the last step
        np.testing.assert_allclose(n.mean(axis=(1, 2, 3)), 0, atol=1e-5)
        np.testing.assert_allclose(np.square(n).mean(axis=(1, 2, 3)), 1, rtol=1e-4)
    fresh = psnr(g.synthesize(result.ws, jax.random.key(7)), images)  # the found w with other noise images
    assert result.psnr.min() > 25 and np.min(result.psnr - fresh) > 15
