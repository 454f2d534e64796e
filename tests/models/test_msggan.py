"""MSG-GAN's networks (jaxgen.models.msggan) on 16 x 16 images (levels 4, 8, 16; widths 8, 8, 4): G's image of
every level against ProGAN's G at that level's stage (the same parameters; ProGAN's is checked against numpy in
test_progan.py); D's gradient reaching every scale's image; and G's gradient as the sum of one path per scale, the
low-resolution images carrying gradient straight to G's early levels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.models import msggan, progan

SHAPE = (16, 16, 3)


@pytest.fixture(scope="module")
def nets():
    cfg = model_defaults.msggan()
    cfg.z_dim, cfg.width, cfg.width_base = 6, 8, 64  # 4: min(8, 16) = 8, 8: 8, 16: 4
    g, d = msggan.generator(cfg, SHAPE), msggan.discriminator(cfg, SHAPE)
    z = jnp.asarray(np.random.default_rng(0).normal(size=(4, 6)), jnp.float32)
    images = [jnp.zeros((4, r, r, 3)) for r in (4, 8, 16)]
    g_shapes = jax.eval_shape(lambda k: g.init(k, z, train=False), jax.random.key(0))
    d_shapes = jax.eval_shape(lambda k: d.init(k, images, train=False), jax.random.key(1))
    rng = np.random.default_rng(1)  # the parameters' shapes from init, random values (biases too: every path shows)
    g_params, d_params = (jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), v["params"])
                          for v in (g_shapes, d_shapes))
    return cfg, g, d, g_params, d_params, z


def test_g_returns_every_level_image_as_progan_at_that_stage(nets):
    cfg, g, _, g_params, _, z = nets
    images = jax.jit(lambda p: g.apply({"params": p}, z, train=False))(g_params)
    assert [x.shape for x in images] == [(4, 4, 4, 3), (4, 8, 8, 3), (4, 16, 16, 3)]
    pg = progan.generator(cfg, SHAPE)
    for stage, x in enumerate(images):  # ProGAN's G after its fade-in (alpha 1) is level `stage`'s toRGB alone
        np.testing.assert_allclose(x, pg.apply({"params": g_params}, z, stage, jnp.float32(1), train=False),
                                   rtol=1e-5, atol=1e-5)


def test_d_takes_every_scale(nets):
    _, _, d, _, d_params, _ = nets
    assert d_params["conv16_0"]["kernel"].shape == (3, 3, 4, 4)  # fromRGB's features only at the top
    assert d_params["conv8_0"]["kernel"].shape == (3, 3, 8 + 3, 8)  # + the 8 x 8 image
    assert d_params["conv4"]["kernel"].shape == (3, 3, 8 + 3 + 1, 8)  # + the 4 x 4 image, + minibatch stddev
    rng = np.random.default_rng(2)
    images = [jnp.asarray(rng.normal(size=(4, r, r, 3)), jnp.float32) for r in (4, 8, 16)]
    grads = jax.jit(jax.grad(lambda xs: jnp.sum(d.apply({"params": d_params}, xs, train=False))))(images)
    for x in grads:  # D's score depends on every scale's image, every pixel of it
        assert np.all(np.abs(np.asarray(x)).sum(-1) > 0)
    with pytest.raises(ValueError, match="resolutions \\[4, 8, 16\\]"):
        d.apply({"params": d_params}, images[1:], train=False)


def test_g_gradient_is_one_path_per_scale(nets):
    _, g, d, g_params, d_params, z = nets

    def score(params, live):  # D(G(z)) with the gradient through the images of the scales in `live` only
        images = g.apply({"params": params}, z, train=False)
        images = [x if s in live else jax.lax.stop_gradient(x) for s, x in enumerate(images)]
        return jnp.sum(d.apply({"params": d_params}, images, train=False))

    grads = jax.jit(lambda p: {live: jax.grad(score)(p, live) for live in ((0, 1, 2), (0,), (1,), (2,))})(g_params)
    jax.tree.map(lambda a, b, c, e: np.testing.assert_allclose(a, b + c + e, rtol=1e-4, atol=1e-4),
                 grads[(0, 1, 2)], grads[(0,)], grads[(1,)], grads[(2,)])  # the chain rule over the scales

    def norm(tree):
        return float(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))

    low = grads[(0,)]  # the 4 x 4 image alone reaches G's first level, and nothing above it
    assert norm(low["conv4"]) > 0 and norm(low["dense"]) > 0 and norm(low["to_rgb4"]) > 0
    assert norm({k: low[k] for k in ("conv8_0", "conv8_1", "conv16_0", "conv16_1", "to_rgb8", "to_rgb16")}) == 0
    top = grads[(2,)]  # the H x H image alone: every level but the lower toRGBs (ProGAN's G at its last stage)
    assert norm(top["to_rgb4"]) == 0 and norm(top["to_rgb8"]) == 0 and norm(top["conv4"]) > 0
