"""GAN Dissection: the top-1 % threshold against numpy, IoU against a per-pixel loop, the captured layer against
flax's own `capture_intermediates`, ablation against closed forms (a DCGAN with its last hidden layer zeroed
draws tanh(bias), a StyleGAN its toRGB's bias), and interventions on a toy generator whose unit 0 paints red and unit 1 blue."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.edit import dissect, masks
from jaxgen.errors import JaxgenError
from jaxgen.models import dcgan, stylegan
from tests.models.variables import noise_variables

RED, BLUE, WHITE = (np.array(masks.PALETTE[c]) / 255.0 for c in ("red", "blue", "white"))


class NetGen:
    """What dissection needs of a `jaxgen.edit.generator.Generator`, for a bare module called with `args` and
    `kwargs` after z (the noise inputs from the "dropout" stream, as the games call G)."""

    def __init__(self, module, variables, z_dim, *args, **kwargs):
        self.module, self.variables, self.z_dim, self.args, self.kwargs = module, variables, z_dim, args, kwargs

    def latents(self, key, n):
        return jax.random.normal(key, (n, self.z_dim))

    def apply(self, variables, z, key, labels=None):
        return self.module.apply(variables, z, *self.args, rngs={"dropout": key}, **self.kwargs)


class Features(nn.Module):
    """``z [N, 2] -> [N, 4, 4, 2]``: unit 0 = 3 relu(z_0) on the left half, unit 1 = 3 relu(z_1) on the right."""

    def __call__(self, z):
        left = jnp.broadcast_to(jnp.arange(4) < 2, (4, 4))
        return 3 * nn.relu(z)[:, None, None, :] * jnp.stack([left, ~left], axis=-1)


class Painter(nn.Module):
    """8x8 images: white, blue painted with opacity min(unit 1, 1), red over it with min(unit 0, 1) (nearest x2)."""

    @nn.compact
    def __call__(self, z):
        a = jnp.clip(jnp.repeat(jnp.repeat(Features(name="features")(z), 2, axis=1), 2, axis=2), 0, 1)
        image = WHITE + a[..., 1:] * (BLUE - WHITE)
        return 2 * (image + a[..., :1] * (RED - image)) - 1


@pytest.fixture(scope="module")
def painter():
    gen = NetGen(Painter(), {}, 2)
    d = dissect.dissect(gen, "features", num=96, key=jax.random.key(1), batch_size=40)  # 3 batches, last padded
    return gen, d, dissect.Layer(gen, "features")


def test_threshold_is_numpys_quantile_over_padded_batches():
    rng = np.random.default_rng(0)
    acts = rng.standard_normal((10, 3, 3, 4)).astype(np.float32)
    for q in (0.99, 0.9, 0.5):
        total = 10 * 9
        top = jnp.full((4, dissect.top_count(total, q)), -jnp.inf)
        for start in range(0, 10, 4):  # batches of 4, the last one padded with 2 invalid rows of large values
            batch = np.full((4, 3, 3, 4), 1e6, np.float32)
            batch[:len(acts[start:start + 4])] = acts[start:start + 4]
            top = dissect.top_values(top, batch, np.arange(start, start + 4) < 10)
        expected = np.quantile(acts.reshape(-1, 4), q, axis=0)
        np.testing.assert_allclose(dissect.quantile_threshold(top, total, q), expected, rtol=1e-6)


def _bilinear(m, size):
    """One map [h, w] up-sampled by hand: half-pixel centres, source coordinates clamped to the map."""
    h, w = m.shape

    def coord(i, n_in, n_out):
        s = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        lo = math.floor(s)
        return lo, min(lo + 1, n_in - 1), s - lo

    out = np.zeros(size)
    for i in range(size[0]):
        y0, y1, fy = coord(i, h, size[0])
        for j in range(size[1]):
            x0, x1, fx = coord(j, w, size[1])
            top = (1 - fx) * m[y0, x0] + fx * m[y0, x1]
            bottom = (1 - fx) * m[y1, x0] + fx * m[y1, x1]
            out[i, j] = (1 - fy) * top + fy * bottom
    return out


@pytest.mark.parametrize("small, big", [((3, 3), (7, 7)), ((2, 4), (8, 8))])
def test_iou_counts_match_a_per_pixel_loop(small, big):
    rng = np.random.default_rng(1)
    n, units, k = 3, 3, 2
    acts = rng.standard_normal((n, *small, units)).astype(np.float32)
    masks = rng.uniform(size=(n, *big, k)) < 0.4
    thresholds = np.array([0.2, -0.3, 0.8], np.float32)
    valid = np.array([True, True, False])
    inter, area = dissect.iou_counts(acts, thresholds, masks, valid)
    loop_inter, loop_area = np.zeros((units, k)), np.zeros(units)
    for s in range(2):  # the valid samples
        for u in range(units):
            on = _bilinear(acts[s, ..., u].astype(np.float64), big) > thresholds[u]
            loop_area[u] += on.sum()
            for c in range(k):
                loop_inter[u, c] += (on & masks[s, ..., c]).sum()
    np.testing.assert_array_equal(np.asarray(area), loop_area)
    np.testing.assert_array_equal(np.asarray(inter), loop_inter)


@pytest.fixture(scope="module")
def dcgan_gen():
    module = dcgan.Generator(image_shape=(8, 8, 1), width=4, base=2, n_up=2)
    z = jnp.zeros((1, 6))
    variables = noise_variables(module, z, seed=3, std=0.3)
    variables["params"]["up1"]["bias"] = jnp.asarray([0.7])  # tanh(0.7): what G draws with up0_bn zeroed
    return NetGen(module, variables, 6, train=False)


@pytest.fixture(scope="module")
def dcgan_layer(dcgan_gen):
    return dissect.Layer(dcgan_gen, "up0_bn")


def test_layers_and_capture_match_flax_intermediates(dcgan_gen, dcgan_layer):
    assert dissect.layers(dcgan_gen) == {"project_bn": (2, 2, 8), "up0": (4, 4, 4), "up0_bn": (4, 4, 4),
                                         "up1": (8, 8, 1)}
    z = dcgan_gen.latents(jax.random.key(0), 5)
    images, acts = dcgan_layer(z, jax.random.key(0))
    direct, state = dcgan_gen.module.apply(dcgan_gen.variables, z, train=False, capture_intermediates=True,
                                           mutable=["intermediates"])
    np.testing.assert_allclose(np.asarray(images), np.asarray(direct), rtol=1e-5, atol=1e-6)  # jit vs eager
    np.testing.assert_allclose(np.asarray(acts), np.asarray(state["intermediates"]["up0_bn"]["__call__"][0]),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(JaxgenError, match=r"no layer 'up9'.*project_bn 2x2x8, up0 4x4x4, up0_bn 4x4x4, up1 8x8x1$"):
        dissect.Layer(dcgan_gen, "up9")


def test_ablating_every_unit_is_zeroing_the_layer(dcgan_gen, dcgan_layer):
    """up0_bn zeroed -> ReLU(0) = 0 -> the last transposed conv draws its bias: every pixel tanh(0.7)."""
    z = dcgan_gen.latents(jax.random.key(0), 5)
    images, acts = dcgan_layer(z, jax.random.key(0), units=np.arange(4))
    np.testing.assert_array_equal(np.asarray(acts), 0.0)
    np.testing.assert_allclose(np.asarray(images), np.tanh(0.7), rtol=1e-6)
    partial, _ = dcgan_layer(z, jax.random.key(0), units=[1])  # one unit: the image depends on the others still
    assert np.ptp(np.asarray(partial)) > 1e-3


def test_stylegan_layers_and_ablation_of_the_last_adain_output():
    """8x8 StyleGAN at its last stage: zeroing every unit of synthesis/style3 (the last AdaIN output) leaves
    to_rgb8, a 1x1 conv, only its bias at every pixel."""
    cfg = model_defaults.stylegan()
    cfg.z_dim, cfg.width, cfg.width_base, cfg.mapping_layers = 6, 8, 64, 2
    module = stylegan.generator(cfg, (8, 8, 3))
    shapes = jax.eval_shape(lambda k: module.init(k, jnp.zeros((2, 6)), 1, jnp.ones(()), train=False),
                            jax.random.key(0))
    rng = np.random.default_rng(0)
    variables = jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), shapes)
    gen = NetGen(module, variables, 6, 1, jnp.ones(()), train=False)
    found = dissect.layers(gen)
    assert {f"synthesis/style{i}": found[f"synthesis/style{i}"] for i in range(4)} == {
        "synthesis/style0": (4, 4, 8), "synthesis/style1": (4, 4, 8), "synthesis/style2": (8, 8, 8),
        "synthesis/style3": (8, 8, 8)}
    images, _ = dissect.Layer(gen, "synthesis/style3")(gen.latents(jax.random.key(1), 3), jax.random.key(2),
                                                       units=np.arange(8))
    bias = np.asarray(variables["params"]["synthesis"]["to_rgb8"]["bias"])
    np.testing.assert_allclose(np.asarray(images), np.broadcast_to(bias, (3, 8, 8, 3)), rtol=1e-6)


def test_toy_units_match_their_colours(painter):
    _, d, _ = painter
    assert d.top_units("red", 1)[0] == 0 and d.top_units("blue", 1)[0] == 1
    assert d.table()[0]["unit"] in (0, 1)
    np.testing.assert_allclose(d.thresholds, np.quantile(_features(d.z), 0.99, axis=(0, 1, 2)), rtol=1e-5)
    with pytest.raises(JaxgenError, match="no concept 'teal'"):
        d.top_units("teal", 1)


def _features(z):
    return np.asarray(Features().apply({}, jnp.asarray(z)))


def test_toy_interventions_remove_and_add_red(painter):
    gen, d, layer = painter
    direct = masks.colour_masks(np.asarray(Painter().apply({}, jnp.asarray(d.z))))["red"].mean()
    result = dissect.intervene(gen, d, "red", units=1, layer=layer)
    assert result["units"] == [0]
    assert result["before"] == pytest.approx(direct) and 0.05 < direct < 0.5
    assert result["ablated"] == 0.0 and result["inserted"] == 1.0  # insert value > 1: every pixel fully red
    assert result["ablate_effect"] == pytest.approx(-direct) and result["insert_effect"] == pytest.approx(1 - direct)


def test_toy_insertion_in_a_region(painter):
    gen, d, layer = painter
    region = dissect.box_region(d.shape, (0, 0, 0.5, 0.5))  # the top-left 2x2 cells of the 4x4 map
    np.testing.assert_array_equal(region, (np.arange(4)[:, None] < 2) & (np.arange(4) < 2))
    rows = dissect.intervention_images(gen, d, "red", units=1, region=region, count=6, layer=layer)
    red = 2 * RED - 1
    np.testing.assert_allclose(rows["inserted"][:, :4, :4], np.broadcast_to(red, (6, 4, 4, 3)), atol=1e-6)
    np.testing.assert_array_equal(rows["inserted"][:, 4:], rows["before"][:, 4:])  # elsewhere unchanged
    np.testing.assert_array_equal(rows["inserted"][:, :, 4:], rows["before"][:, :, 4:])
    np.testing.assert_array_equal(rows["before"], np.asarray(Painter().apply({}, jnp.asarray(d.z[:6]))))
    assert not masks.colour_masks(rows["ablated"])["red"].any()
