"""DCGAN: shapes, ranges, layouts, errors, parameter parity with the PyTorch reference, the same numbers under
every backend's lowering of its up- and down-sampling."""

import importlib.util
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import models
from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import dcgan
from tests.models.variables import key, noise_variables

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cfg(**kw):
    cfg = model_defaults.dcgan()
    cfg.update(kw)
    return cfg


def _count(tree):
    return sum(math.prod(a.shape) for a in jax.tree.leaves(tree))


def _fake_variables(module, *inputs, seed=0):
    """Noise variables with BatchNorm scales ~1: enough for shape/range/mode tests."""
    return noise_variables(module, *inputs, seed=seed, std=0.05)


def test_get_by_name():
    assert models.get("dcgan") is dcgan
    assert "dcgan" in models.available() and "gan_mlp" in models.available()
    with pytest.raises(ConfigError, match=r"model\.name.*nope.*dcgan"):
        models.get("nope")
    with pytest.raises(ConfigError, match="model.name"):
        models.get("..errors")


@pytest.mark.parametrize(
    "size,expected", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (8, (2, 2)), (16, (4, 2)), (12, (3, 2))]
)
def test_layout(size, expected):
    assert dcgan.layout((size, size, 1)) == expected


@pytest.mark.parametrize("shape", [(7, 7, 1), (28, 32, 1), (3, 3, 3)])
def test_bad_image_size_is_config_error(shape):
    with pytest.raises(ConfigError, match=r"data\.image_size"):
        dcgan.generator(_cfg(), shape, None)


def test_base_size_override():
    assert dcgan.layout((32, 32, 3), base_size=8) == (8, 2)
    with pytest.raises(ConfigError, match="model.base_size"):
        dcgan.layout((28, 28, 1), base_size=4)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (8, 8, 1)])
def test_shapes_and_ranges(shape):
    cfg = _cfg(width=8, z_dim=16)
    g = dcgan.generator(cfg, shape, 10)
    z = jnp.asarray(np.random.default_rng(0).standard_normal((5, 16)), jnp.float32)
    d_batch = dcgan.discriminator(_cfg(width=8, d_norm="batch"), shape, 10)
    d_none = dcgan.discriminator(_cfg(width=8, d_norm="none"), shape, 10)
    x_like = jnp.zeros((5,) + shape)
    gv, dbv, dnv = _fake_variables(g, z), _fake_variables(d_batch, x_like), _fake_variables(d_none, x_like)
    assert "batch_stats" in dbv and "batch_stats" not in dnv

    @jax.jit
    def run(gv, dbv, dnv, z):
        x, g_upd = g.apply(gv, z, train=True, mutable=["batch_stats"])
        logits_b, _ = d_batch.apply(dbv, x, train=True, mutable=["batch_stats"])
        logits_n = d_none.apply(dnv, x, train=True)
        return x, g_upd, logits_b, logits_n

    x, g_upd, logits_b, logits_n = run(gv, dbv, dnv, z)
    assert x.shape == (5,) + shape and x.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(x))) <= 1.0 and float(jnp.std(x)) > 0
    assert set(g_upd) == {"batch_stats"}
    # train mode moved the running statistics
    assert not np.allclose(g_upd["batch_stats"]["project_bn"]["mean"], gv["batch_stats"]["project_bn"]["mean"])
    for logits in (logits_b, logits_n):
        assert logits.shape == (5,) and logits.dtype == jnp.float32


def test_latent():
    z = dcgan.latent(key(1), 500, _cfg(z_dim=16))
    assert z.shape == (500, 16) and z.dtype == jnp.float32
    assert abs(float(jnp.std(z)) - 1.0) < 0.05


def test_eval_mode_uses_running_statistics():
    cfg = _cfg(width=8, z_dim=16)
    g = dcgan.generator(cfg, (8, 8, 1), None)
    z = jnp.asarray(np.random.default_rng(0).standard_normal((6, 16)), jnp.float32)
    gv = _fake_variables(g, z)
    x_eval, upd = jax.jit(lambda v, z: g.apply(v, z, train=False, mutable=["batch_stats"]))(gv, z)
    assert jax.tree.all(jax.tree.map(np.array_equal, upd, {"batch_stats": gv["batch_stats"]}))
    # per-example in eval mode: the first image does not depend on the rest of the batch
    x_one = jax.jit(lambda v, z: g.apply(v, z, train=False))(gv, z[:1])
    np.testing.assert_allclose(x_one[0], x_eval[0], atol=1e-5)


def test_init_statistics():
    cfg = _cfg(width=16)
    g, d = dcgan.generator(cfg, (28, 28, 1), None), dcgan.discriminator(cfg, (28, 28, 1), None)

    @jax.jit
    def init(k):
        return (
            g.init(k, jnp.zeros((1, 100)), train=False)["params"],
            d.init(k, jnp.zeros((1, 28, 28, 1)), train=False)["params"],
        )

    gp, dp = init(key())
    assert abs(float(jnp.std(gp["up0"]["kernel"])) - 0.02) < 1e-3
    assert abs(float(jnp.std(dp["down1"]["kernel"])) - 0.02) < 1e-3
    assert abs(float(jnp.mean(gp["project_bn"]["scale"])) - 1.0) < 0.01
    assert 0.01 < float(jnp.std(gp["project_bn"]["scale"])) < 0.03
    assert "bias" not in gp["project"] and "bias" not in gp["up0"] and "bias" in gp["up1"]
    assert "bias" in dp["down0"] and "bias" not in dp["down1"]


def _on_both_lowerings(fn, monkeypatch):
    """``(fn() traced as the CPU lowers it, fn() traced as TPU lowers it (XLA's own))``: jax.default_backend() patched
    while tracing, so the layers take :func:`jaxgen.nn.upsample.default_impl`'s "fast" and then "lax" forms."""
    out = []
    for backend in ("cpu", "tpu"):
        with monkeypatch.context() as m:
            m.setattr(jax, "default_backend", lambda b=backend: b)
            with jax.default_matmul_precision("highest"):
                out.append(jax.jit(fn)())
    return out


def test_backend_lowerings_give_the_same_numbers(monkeypatch):
    """Same variables, same numbers: the backend only changes the lowering (generator images and parameter
    gradients; discriminator logits, parameter gradients and the gradient-penalty-style second derivative)."""
    shape = (8, 8, 3)  # width 8: every fast lowering is exercised (sub-pixel and lax forwards / input grads)
    g = dcgan.generator(_cfg(width=8), shape, None)
    d = dcgan.discriminator(_cfg(width=8, d_norm="none"), shape, None)
    z = jnp.asarray(np.random.default_rng(0).standard_normal((4, 100)), jnp.float32)
    gv = _fake_variables(g, z)
    x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (4,) + shape), jnp.float32)
    dv = _fake_variables(d, x)
    w = jnp.asarray(np.random.default_rng(2).standard_normal((4,) + shape), jnp.float32)

    def run(g, d):
        def g_loss(v):
            img, _ = g.apply(v, z, train=True, mutable=["batch_stats"])
            return jnp.sum(img * w), img

        def d_penalty(v):
            grad_x = jax.grad(lambda x: jnp.sum(d.apply(v, x, train=True)))(x)
            return jnp.sum(grad_x**2)

        return jax.grad(g_loss, has_aux=True)(gv), d.apply(dv, x, train=True), jax.grad(d_penalty)(dv)

    got, ref = _on_both_lowerings(lambda: run(g, d), monkeypatch)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, atol=1e-4 * (1 + float(jnp.max(jnp.abs(b)))), rtol=1e-4)


def test_spectral_norm_on_both_lowerings_under_nested_grad(monkeypatch):
    """A spectrally normalised projection D (with BatchNorm too) gives the same logits, power-iteration updates
    and R1-style second-order parameter gradients on the CPU's StridedConv lowering as on XLA's own conv."""
    shape = (8, 8, 3)
    cfg = {"width": 8, "d_norm": "batch", "spectral_norm": True, "conditioning": "projection"}
    d = dcgan.discriminator(_cfg(**cfg), shape, 3)
    x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (4,) + shape), jnp.float32)
    y = jnp.asarray([0, 2, 1, 1], jnp.int32)
    dv = _fake_variables(d, x, y)
    assert {"down1_bn", "down0_sn", "down1_sn", "logit_sn", "embed_sn"} <= set(dv["batch_stats"])

    def run(d):
        def penalty(params):
            def total(x):
                logits, upd = d.apply({**dv, "params": params}, x, y, train=True, mutable=["batch_stats"])
                return jnp.sum(logits), upd

            grad_x, upd = jax.grad(total, has_aux=True)(x)
            return jnp.sum(grad_x**2), upd

        return jax.value_and_grad(penalty, has_aux=True)(dv["params"])

    got, ref = _on_both_lowerings(lambda: run(d), monkeypatch)
    (_, upd), grads = got
    u = "down0/kernel/u"
    assert not np.allclose(upd["batch_stats"]["down0_sn"][u], dv["batch_stats"]["down0_sn"][u])  # power iteration ran
    assert all(float(jnp.max(jnp.abs(g))) > 0 for g in jax.tree.leaves(grads) if g.ndim >= 2)  # the matrices
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, atol=1e-4 * (1 + float(jnp.max(jnp.abs(b)))), rtol=1e-4)


def test_bad_config_values():
    with pytest.raises(ConfigError, match="model.d_norm"):
        dcgan.discriminator(_cfg(d_norm="spectral"), (28, 28, 1), None)


# ---------------------------------------------------------------------------------------------------------------
def _torch_reference():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("torch_dcgan", ROOT / "tools" / "torch_dcgan.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("shape,width", [((28, 28, 1), 64), ((32, 32, 3), 64), ((64, 64, 3), 32), ((8, 8, 1), 16)])
@pytest.mark.parametrize("d_norm", ["batch", "none"])
def test_parameter_counts_match_pytorch(shape, width, d_norm):
    ref = _torch_reference()
    tg = ref.Generator(100, width, shape[0], shape[2])
    td = ref.Discriminator(width, shape[0], shape[2], norm=d_norm)
    cfg = _cfg(width=width, d_norm=d_norm)
    g, d = dcgan.generator(cfg, shape, None), dcgan.discriminator(cfg, shape, None)
    gv = jax.eval_shape(lambda: g.init(jax.random.key(0), jnp.zeros((2, 100)), train=False))
    dv = jax.eval_shape(lambda: d.init(jax.random.key(0), jnp.zeros((2,) + shape), train=False))
    n_params = lambda m: sum(p.numel() for p in m.parameters())
    n_buffers = lambda m: sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))
    assert _count(gv["params"]) == n_params(tg)
    assert _count(dv["params"]) == n_params(td)
    assert _count(gv["batch_stats"]) == n_buffers(tg)
    assert _count(dv.get("batch_stats", {})) == n_buffers(td)
    assert ref.layout(shape[0]) == dcgan.layout(shape)


def test_torch_reference_step_runs():
    ref = _torch_reference()
    step = ref.make_step(width=4, z_dim=8, batch=4, threads=1, image_size=8)
    d_loss, g_loss = step()
    assert np.isfinite(float(d_loss)) and np.isfinite(float(g_loss))
