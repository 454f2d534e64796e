"""PixelCNN, Gated PixelCNN, Row LSTM, Diagonal BiLSTM on tiny random networks: causality (input gradients),
receptive fields, the likelihood, the exact sampler and completion.

PixelCNN (stacked masked 3x3 convs: the blind spot) and Row LSTM (a triangle above the pixel) do not see the
whole past by design; the full-field test covers Gated PixelCNN and the Diagonal BiLSTM only.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import autoregressive as ar
from jaxgen.models import gated_pixelcnn, pixelcnn, pixelrnn
from tests.models.variables import key

MODELS = {  # sizes: `features` and `head_features` are 6 per colour
    "pixelcnn": (pixelcnn, dict(blocks=2)),
    "gated": (gated_pixelcnn, dict(layers=2)),
    "gated_cond": (gated_pixelcnn, dict(layers=2, conditional=True)),
    "row_lstm": (pixelrnn, dict(layers=1, cell="row_lstm")),
    "diagonal_bilstm": (pixelrnn, dict(layers=1, cell="diagonal_bilstm")),
}
DATA = {"binary": 1, "8bit": 3}
CASES = [(m, d) for m in MODELS for d in DATA]
NUM_CLASSES = 4


def _defaults(module):
    """`config.model` of the family whose module is `module`."""
    return model_defaults.config(module.__name__.rsplit(".", 1)[1])


def _build(name, data, shape, **overrides):
    module, sizes = MODELS[name]
    cfg = _defaults(module)
    cfg.update(dict(sizes, data=data, features=6 * DATA[data], head_features=6 * DATA[data], **overrides))
    image_shape = shape + (DATA[data],)
    net = module.model(cfg, image_shape, NUM_CLASSES)
    return net, module.density(cfg, image_shape, NUM_CLASSES), image_shape


def _params(net, image_shape, seed=0, std=0.4):
    """Noise parameters without running init; biases 0.5 + |noise| keep the tiny nets' ReLUs alive."""
    x = jnp.zeros((1,) + image_shape)
    labels = None if net.num_classes is None else jnp.zeros((1,), jnp.int32)
    shapes = jax.eval_shape(lambda: net.init(key(), x, labels)["params"])
    rng = np.random.default_rng(seed)

    def fill(path, s):
        noise = std * rng.standard_normal(s.shape)
        return jnp.asarray(0.5 + np.abs(noise) if "bias" in jax.tree_util.keystr(path) else noise, jnp.float32)

    return jax.tree_util.tree_map_with_path(fill, shapes)


def _labels(net, n):
    return None if net.num_classes is None else jnp.arange(n, dtype=jnp.int32) % NUM_CLASSES


def _data(image_shape, data, n, seed=1):
    rng = np.random.default_rng(seed)
    if data == "binary":
        return jnp.asarray(rng.integers(0, 2, (n,) + image_shape), jnp.float32)
    return jnp.asarray(rng.integers(0, 256, (n,) + image_shape), jnp.int32)


def _input_grads(net, params, image_shape, outputs):
    """|d <logits[0, i, j, c], u> / d input| for each output (i, j, c) -> [len(outputs), H, W, C]."""
    x = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, (1,) + image_shape), jnp.float32)
    logits, vjp = jax.vjp(lambda x: net.apply({"params": params}, x, _labels(net, 1)), x)
    u = jnp.asarray(np.random.default_rng(3).standard_normal(logits.shape), jnp.float32)
    cotangents = []
    for i, j, c in outputs:
        cotangents.append(jnp.zeros_like(logits).at[0, i, j, c].set(u[0, i, j, c]))
    return np.abs(np.asarray(jax.vmap(lambda ct: vjp(ct)[0][0])(jnp.stack(cotangents))))


def _order(image_shape):
    """Raster-then-channel index of every input sub-pixel -> int [H, W, C]."""
    return np.arange(np.prod(image_shape)).reshape(image_shape)


@pytest.mark.parametrize("name,data", [(m, d) for m in ("pixelcnn", "row_lstm") for d in DATA])
def test_autoregressive_property(name, data):
    """The logits of sub-pixel t have zero gradient w.r.t. every input sub-pixel >= t (corners, centre, all colours)
    and some non-zero one before it. (The models without a blind spot: `test_no_blind_spot`, a stronger test.)"""
    net, _, shape = _build(name, data, (8, 8))
    params = _params(net, shape)
    outputs = [(i, j, c) for (i, j) in [(0, 0), (0, 7), (4, 4), (7, 0), (7, 7)] for c in range(shape[-1])]
    grads = _input_grads(net, params, shape, outputs)
    order = _order(shape)
    for (i, j, c), g in zip(outputs, grads):
        t = order[i, j, c]
        assert not g[order >= t].any(), f"output {(i, j, c)} sees the future"
        if t > 0:
            assert g[order < t].any(), f"output {(i, j, c)} sees nothing"


@pytest.mark.parametrize("name,data", [(m, d) for m in ("gated", "gated_cond", "diagonal_bilstm") for d in DATA])
def test_no_blind_spot(name, data):
    """Outputs (corners, centre, all colours) depend on every earlier input sub-pixel and on no later one (5x5
    image; Gated: 5 layers, Diagonal BiLSTM: 1). (4, 0) needs the end of the previous row, the blind spot of the
    paper's Diagonal BiLSTM (see `jaxgen.models.pixelrnn`)."""
    overrides = dict(layers=5) if name.startswith("gated") else {}
    net, _, shape = _build(name, data, (5, 5), **overrides)
    params = _params(net, shape)
    outputs = list(itertools.product([(0, 0), (0, 4), (1, 3), (2, 2), (4, 0), (4, 4)], range(shape[-1])))
    outputs = [(i, j, c) for (i, j), c in outputs]
    grads = _input_grads(net, params, shape, outputs)
    order = _order(shape)
    for (i, j, c), g in zip(outputs, grads):
        t = order[i, j, c]
        assert g[order < t].all() and not g[order >= t].any(), f"output {(i, j, c)}: wrong receptive field"


def _numpy_log_prob(net, params, x, labels):
    """log p(x) [B] from the network's logits, in float64 numpy; checks the 256 probabilities sum to 1."""
    logits = np.asarray(net.apply({"params": params}, ar.preprocess(x, net.data), labels), np.float64)
    if net.data == "binary":
        p1 = 1.0 / (1.0 + np.exp(-logits))
        logp = np.where(np.asarray(x) == 1, np.log(p1), np.log1p(-p1))
    else:
        logits = logits - logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, rtol=1e-6)
        logp = np.take_along_axis(log_probs, np.asarray(x)[..., None], -1)[..., 0]
    return logp.reshape(x.shape[0], -1).sum(1)


# Sampler images are larger than the conv models' receptive fields (PixelCNN with 1 block: 4 rows up and 4
# columns each side; Gated with 1 layer: 2 up, 1 each side), so the sampler runs them on cropped windows.
SAMPLER = dict(blocks=1, layers=1)


@pytest.mark.parametrize("name,data", CASES)
def test_sampler_and_nll(name, data):
    """Samples lie in the data space; the same key gives the same samples; nll == -(the sum of the log-probs
    computed from the logits in numpy) == -(the log-probs of the values the sampler drew): it is exact."""
    size = (4, 4) if name in ("row_lstm", "diagonal_bilstm") else (6, 10) if data == "binary" else (6, 7)
    net, dens, shape = _build(name, data, size, **SAMPLER)
    params = _params(net, shape)
    labels = _labels(net, 3)
    run = ar.sampler(net, shape)
    x, logp = run(params, key(5), jnp.zeros((3,) + shape, jnp.float32 if data == "binary" else jnp.int32),
                  0, labels)
    if data == "binary":
        assert x.dtype == jnp.float32 and set(np.unique(x)) <= {0.0, 1.0}
    else:
        assert x.dtype == jnp.int32 and int(x.min()) >= 0 and int(x.max()) <= 255
    nll, metrics = dens.nll(params, x, None, labels)
    assert nll.shape == (3,) and isinstance(metrics, dict)
    np.testing.assert_allclose(logp, -nll, rtol=1e-4)
    np.testing.assert_allclose(nll, -_numpy_log_prob(net, params, x, labels), rtol=1e-5)
    np.testing.assert_array_equal(dens.sample(params, key(5), 3, labels), x)
    assert not np.array_equal(dens.sample(params, key(6), 3, labels), x)


def test_sampler_distribution_matches_the_model():
    """2x2 binary PixelCNN: the frequencies of 4000 samples vs the model's probabilities of all 16 images."""
    net, dens, shape = _build("pixelcnn", "binary", (2, 2), **SAMPLER)
    params = _params(net, shape, std=1.0)
    images = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4)), jnp.float32).reshape(16, 2, 2, 1)
    probs = np.exp(-np.asarray(dens.nll(params, images)[0], np.float64))
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-5)
    samples = np.asarray(dens.sample(params, key(7), 4000)).reshape(4000, 4)
    freq = np.bincount((samples * [8, 4, 2, 1]).sum(1).astype(int), minlength=16) / 4000
    assert np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / 4000) + 1e-3), (freq, probs)


@pytest.mark.parametrize("name,data", [("pixelcnn", "binary"), ("gated_cond", "8bit"), ("row_lstm", "binary")])
def test_completion_keeps_the_known_pixels(name, data):
    net, dens, shape = _build(name, data, (6, 6), **SAMPLER)
    params = _params(net, shape)
    x = _data(shape, data, 2)
    labels = _labels(net, 2)
    known = np.zeros((6, 6), bool)
    known[:3] = True
    known[3, :2] = True
    out = dens.complete(params, key(8), x, known, labels)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(out)[:, known], np.asarray(x)[:, known])
    assert not np.array_equal(np.asarray(out)[:, ~known], np.asarray(x)[:, ~known])
    np.testing.assert_array_equal(dens.complete(params, key(8), x, np.ones((6, 6), bool), labels), x)
    with pytest.raises(ValueError, match="prefix"):
        dens.complete(params, key(8), x, ~known, labels)


def test_conditioning_uses_the_labels():
    net, dens, shape = _build("gated_cond", "binary", (4, 4))
    params = _params(net, shape)
    x = _data(shape, "binary", 2)
    a = dens.nll(params, x, None, jnp.array([0, 1]))[0]
    b = dens.nll(params, x, None, jnp.array([2, 3]))[0]
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="labels"):
        dens.nll(params, x, None, None)
    plain_net, plain, _ = _build("gated", "binary", (4, 4))  # unconditional models ignore the data's labels
    plain_params = _params(plain_net, shape)
    np.testing.assert_array_equal(plain.nll(plain_params, x, None, jnp.array([0, 1]))[0],
                                  plain.nll(plain_params, x)[0])


@pytest.mark.parametrize("module,overrides,match", [
    (pixelcnn, dict(data="continuous"), "model.data"),
    (pixelcnn, dict(features=9), "model.features"),
    (pixelrnn, dict(cell="gru"), "model.cell"),
    (gated_pixelcnn, dict(kernel_size=4), "model.kernel_size"),
    (gated_pixelcnn, dict(conditional=True), "model.conditional"),
])
def test_config_errors(module, overrides, match):
    cfg = _defaults(module)
    cfg.update(overrides)
    with pytest.raises(ConfigError, match=match):
        module.density(cfg, (8, 8, 1), None)


def test_density_contract():
    for module in (pixelcnn, gated_pixelcnn, pixelrnn):
        dens = module.density(_defaults(module), (4, 4, 1), None)
        assert dens.exact and dens.data == "binary" and dens.complete is not None and dens.log_likelihood is None
