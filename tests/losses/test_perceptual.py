"""jaxgen.losses.perceptual against numpy by hand, Gatys et al.'s unnormalised formula, and PyTorch (NCHW Gram
by ``bmm`` and ``F.mse_loss``) on random features; jit and no-jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jaxgen.errors import ConfigError
from jaxgen.losses import perceptual


def _features(seed, shapes):
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=shape).astype(np.float32) for name, shape in shapes.items()}


SHAPES = {"relu1_2": (2, 8, 6, 4), "relu2_2": (2, 4, 3, 8)}
WEIGHTS = {"relu1_2": 0.5, "relu2_2": 2.0}


@pytest.mark.parametrize("jit", [False, True])
def test_gram_is_the_mean_outer_product_over_positions(jit):
    f = _features(0, {"x": (2, 5, 3, 4)})["x"]
    fn = jax.jit(perceptual.gram) if jit else perceptual.gram
    ref = np.stack([sum(np.outer(v, v) for v in img.reshape(-1, 4)) / 15 for img in f])
    np.testing.assert_allclose(fn(jnp.asarray(f)), ref, rtol=1e-5, atol=1e-6)


def test_style_loss_is_four_times_gatys_e_l():
    x, a = _features(1, {"l": (1, 6, 5, 3)})["l"], _features(2, {"l": (1, 6, 5, 3)})["l"]
    g_raw, a_raw = (m.reshape(30, 3).T.astype(np.float64) @ m.reshape(30, 3) for m in (x, a))
    e_l = np.sum((g_raw - a_raw) ** 2) / (4 * 3**2 * 30**2)
    np.testing.assert_allclose(perceptual.style_loss({"l": x}, {"l": a}, {"l": 1.0}), 4 * e_l, rtol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_style_loss_matches_pytorch_and_broadcasts_one_style_image(jit):
    feats = _features(3, SHAPES)
    style = _features(4, {k: (1, *s[1:]) for k, s in SHAPES.items()})
    fn = jax.jit(perceptual.style_loss) if jit else perceptual.style_loss

    def torch_gram(x):  # NHWC numpy -> [N, C, C] from the NCHW layout
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        n, c, h, w = t.shape
        t = t.reshape(n, c, h * w)
        return torch.bmm(t, t.transpose(1, 2)) / (h * w)

    ref = sum(w * F.mse_loss(torch_gram(feats[k]), torch_gram(style[k]).expand(2, -1, -1)) for k, w in WEIGHTS.items())
    np.testing.assert_allclose(fn(feats, style, WEIGHTS), ref.item(), rtol=1e-5)


@pytest.mark.parametrize("distance, power", [("mse", 2), ("l1", 1)])
def test_feature_loss_is_the_weighted_mean_distance(distance, power):
    feats, targets = _features(5, SHAPES), _features(6, SHAPES)
    ref = sum(w * np.mean(np.abs(feats[k] - targets[k]) ** power) for k, w in WEIGHTS.items())
    out = jax.jit(perceptual.feature_loss, static_argnums=3)(feats, targets, WEIGHTS, distance)
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    only = perceptual.feature_loss(feats, targets, {"relu2_2": 1.0}, distance)  # the weights choose the layers
    np.testing.assert_allclose(only, np.mean(np.abs(feats["relu2_2"] - targets["relu2_2"]) ** power), rtol=1e-5)


def test_total_variation_by_hand():
    x = jnp.asarray([[0.0, 1.0], [3.0, 5.0]])[None, :, :, None]  # down: 3, 4; right: 1, 2
    assert float(perceptual.total_variation(x)) == pytest.approx(3.5 + 1.5)
    assert float(jax.jit(perceptual.total_variation)(x, 2.0)) == pytest.approx((9 + 16) / 2 + (1 + 4) / 2)
    assert float(perceptual.total_variation(jnp.ones((2, 4, 4, 3)))) == 0.0


def test_bad_layers_and_distance_are_config_errors():
    feats = _features(0, SHAPES)
    with pytest.raises(ConfigError, match=r"name layers \['relu3_3'\] that the features lack"):
        perceptual.style_loss(feats, feats, {"relu3_3": 1.0})
    with pytest.raises(ConfigError, match="must be 'mse' or 'l1', got 'l3'"):
        perceptual.feature_loss(feats, feats, WEIGHTS, "l3")


@pytest.mark.parametrize("jit", [False, True])
def test_normalized_distance_is_lpips_with_uniform_weights_by_hand(jit):
    f, t = _features(3, SHAPES), _features(4, SHAPES)
    fn = jax.jit(perceptual.normalized_distance) if jit else perceptual.normalized_distance
    expected = np.zeros(2)
    for layer, (n, h, w, _) in SHAPES.items():
        for i in range(n):
            for y in range(h):
                for x in range(w):
                    a, b = f[layer][i, y, x], t[layer][i, y, x]
                    expected[i] += np.sum((a / np.linalg.norm(a) - b / np.linalg.norm(b)) ** 2) / (h * w)
    np.testing.assert_allclose(fn(f, t), expected, rtol=1e-5)
    np.testing.assert_allclose(fn(f, {k: 3 * v for k, v in f.items()}), 0, atol=1e-6)  # scale-free per position
    with pytest.raises(ConfigError, match="features have layers"):
        perceptual.normalized_distance(f, {"relu1_2": t["relu1_2"]})


def test_normalized_style_loss_divides_each_layer_by_its_target_gram():
    feats, targets = _features(7, SHAPES), _features(8, SHAPES)
    grams = {k: np.stack([t.reshape(-1, t.shape[-1]).T @ t.reshape(-1, t.shape[-1]) / np.prod(t.shape[:2])
                          for t in targets[k]]) for k in SHAPES}
    ref = sum(w * perceptual.style_loss({k: feats[k]}, {k: targets[k]}, {k: 1.0}) / np.mean(grams[k] ** 2)
              for k, w in WEIGHTS.items())
    out = jax.jit(perceptual.style_loss, static_argnums=3)(feats, targets, WEIGHTS, True)
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    zeros = {k: np.zeros_like(v) for k, v in feats.items()}  # features of zeros: each term is exactly 1
    np.testing.assert_allclose(perceptual.style_loss(zeros, targets, WEIGHTS, True), sum(WEIGHTS.values()), rtol=1e-6)
    scaled = {k: 10.0 * v for k, v in feats.items()}, {k: 10.0 * v for k, v in targets.items()}
    np.testing.assert_allclose(perceptual.style_loss(*scaled, WEIGHTS, True), out, rtol=1e-5)
