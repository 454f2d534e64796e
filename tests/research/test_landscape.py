"""Loss landscapes (Li et al. 2018) on a tiny MLP and a tiny conv net with a fixed batch.

References are independent of the vmapped chunks: plain Python loops of ``loss_fn`` at parameters built
with NumPy, and per-filter norms computed by NumPy. The nets are shared with ``test_hessian.py``.
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn

from jaxgen.research import landscape, plots


class MLP(nn.Module):
    """5 -> 12 -> 10 -> 3, tanh: 235 parameters."""

    @nn.compact
    def __call__(self, x):
        x = jnp.tanh(nn.Dense(12)(x))
        x = jnp.tanh(nn.Dense(10)(x))
        return nn.Dense(3)(x)


class ConvNet(nn.Module):
    """[6, 6, 2] -> conv 3x3 (4) -> conv 3x3 stride 2 (3) -> Dense(2), tanh: 243 parameters."""

    @nn.compact
    def __call__(self, x):
        x = jnp.tanh(nn.Conv(4, (3, 3))(x))
        x = jnp.tanh(nn.Conv(3, (3, 3), strides=2)(x))
        return nn.Dense(2)(x.reshape(len(x), -1))


@functools.cache
def problem(name: str):
    """``(params, loss_fn)``: a net at its random init and ``loss_fn(params) -> {"ce", "mse"}`` on a fixed batch."""
    model, x_shape, classes = {"mlp": (MLP(), (16, 5), 3), "conv": (ConvNet(), (4, 6, 6, 2), 2)}[name]
    k_x, k_y, k_p = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k_x, x_shape)
    y = jax.random.randint(k_y, x_shape[:1], 0, classes)
    params = jax.jit(model.init)(k_p, x)["params"]

    def loss_fn(p):
        logits = model.apply({"params": p}, x)
        return {"ce": optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(),
                "mse": jnp.mean((logits - jax.nn.one_hot(y, classes)) ** 2)}

    return params, loss_fn


def mse_problem(name: str):
    """The same net with the scalar loss ``mse``."""
    params, loss_fn = problem(name)
    return params, lambda p: loss_fn(p)["mse"]


def _np_tree(f, *trees):
    return jax.tree.map(lambda *leaves: f(*map(np.asarray, leaves)), *trees)


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_filter_normalize(name):
    params, _ = problem(name)
    direction = landscape.random_direction(jax.random.key(1), params)
    assert jax.tree.map(lambda d: (d.shape, d.dtype), direction) == jax.tree.map(lambda p: (p.shape, p.dtype), params)
    normalized = landscape.filter_normalize(direction, params)
    kinds = set()
    for d, p in zip(jax.tree.leaves(normalized), jax.tree.leaves(params)):
        d, p = np.asarray(d), np.asarray(p)
        if p.ndim == 1:
            np.testing.assert_array_equal(d, 0.0)
        else:
            kinds.add(p.ndim)
            per_filter = lambda a: np.sqrt((a.reshape(-1, a.shape[-1]) ** 2).sum(0))  # noqa: E731
            np.testing.assert_allclose(per_filter(d), per_filter(p), rtol=1e-5)
    assert kinds == ({2} if name == "mlp" else {2, 4})  # Dense [in, out] and conv [kh, kw, in, out] kernels

    kept = landscape.filter_normalize(direction, params, zero_1d=False)
    for d, p in zip(jax.tree.leaves(kept), jax.tree.leaves(params)):
        if p.ndim == 1:
            np.testing.assert_array_equal(d, p)


def test_filter_normalize_rejects_mismatched_direction():
    params, _ = problem("mlp")
    direction = landscape.random_direction(jax.random.key(1), problem("conv")[0])
    with pytest.raises(ValueError, match="structure"):
        landscape.filter_normalize(direction, params)
    wrong = jax.tree.map(lambda p: p, params)
    wrong["Dense_0"]["kernel"] = jnp.zeros((3, 12))
    with pytest.raises(ValueError, match=r"\['Dense_0'\]\['kernel'\] has shape \(3, 12\)"):
        landscape.filter_normalize(landscape.random_direction(jax.random.key(1), wrong), params)


def test_interpolate_matches_loop_for_any_chunking():
    """Endpoints are loss_fn(a), loss_fn(b); chunk sizes (with or without padding) give the loop's values."""
    params_a, loss_fn = problem("mlp")
    params_b = jax.tree.map(jnp.add, params_a, landscape.random_direction(jax.random.key(2), params_a))
    alphas = np.linspace(-0.5, 1.5, 11)
    loop = {name: np.array([float(loss_fn(_np_tree(lambda a, b: (1 - t) * a + t * b, params_a, params_b))[name])
                            for t in alphas]) for name in ("ce", "mse")}
    lines, traces = [], []

    def counted(p):
        traces.append(1)
        return loss_fn(p)

    for batch_size in (1, 4, 11, 64):  # 11 chunks, 3 chunks padded by 1, one chunk, one chunk of 11
        traces.clear()
        got = landscape.interpolate(counted, params_a, params_b, alphas, batch_size=batch_size, report=lines.append)
        assert len(traces) <= 2  # the output check (eval_shape, cached) and one chunk program for all chunks
        assert set(got) == {"ce", "mse"} and got["ce"].shape == (11,)
        for name in loop:
            np.testing.assert_allclose(got[name], loop[name], rtol=1e-5, atol=1e-6)
    assert lines and all(line.startswith("interpolate: ") for line in lines)

    ends = landscape.interpolate(lambda p: loss_fn(p)["ce"], params_a, params_b, [0.0, 1.0])
    assert ends.shape == (2,)
    np.testing.assert_allclose(ends, [float(loss_fn(params_a)["ce"]), float(loss_fn(params_b)["ce"])], rtol=1e-6)


def test_slice2d_matches_loop_and_interpolation():
    params, loss_fn = mse_problem("conv")
    dir_x, dir_y = (landscape.filter_normalize(landscape.random_direction(jax.random.key(k), params), params)
                    for k in (3, 4))
    xs, ys = np.array([-0.5, 0.0, 0.25, 0.5]), np.array([-0.4, 0.0, 0.4])
    got = landscape.slice2d(loss_fn, params, dir_x, dir_y, xs, ys, batch_size=5)
    assert got.shape == (3, 4)
    loop = np.array([[float(loss_fn(_np_tree(lambda p, u, v: p + x * u + y * v, params, dir_x, dir_y)))
                      for x in xs] for y in ys])
    np.testing.assert_allclose(got, loop, rtol=1e-5, atol=1e-6)
    assert got[1, 1] == pytest.approx(float(loss_fn(params)), rel=1e-6)  # (0, 0) is the checkpoint
    line = landscape.interpolate(loss_fn, params, jax.tree.map(jnp.add, params, dir_x), xs)
    np.testing.assert_allclose(got[1], line, rtol=1e-5, atol=1e-6)  # y = 0 is the 1-D line along dir_x


def test_slice2d_dict_loss():
    params, loss_fn = problem("mlp")
    dx, dy = (landscape.random_direction(jax.random.key(k), params) for k in (5, 6))
    got = landscape.slice2d(loss_fn, params, dx, dy, np.linspace(-1, 1, 3), np.linspace(-1, 1, 2), batch_size=4)
    assert set(got) == {"ce", "mse"} and got["ce"].shape == (2, 3)
    np.testing.assert_allclose(got["mse"][:, 1], landscape.slice2d(lambda p: loss_fn(p)["mse"], params, dx, dy,
                                                                    [0.0], np.linspace(-1, 1, 2))[:, 0], rtol=1e-5)


def test_bad_inputs_are_named():
    params, loss_fn = problem("mlp")
    with pytest.raises(ValueError, match="scalar or a flat dict of scalars"):
        landscape.interpolate(lambda p: jax.tree.leaves(p)[0], params, params, [0.0])
    with pytest.raises(ValueError, match="alphas must be a non-empty 1-D"):
        landscape.interpolate(loss_fn, params, params, [])
    with pytest.raises(ValueError, match="batch_size"):
        landscape.interpolate(loss_fn, params, params, [0.0], batch_size=0)
    assert landscape.loss_names(loss_fn, params) == ("ce", "mse")
    assert landscape.loss_names(mse_problem("mlp")[1], params) is None


def test_plots_write_small_pngs(tmp_path):
    xs, ys = np.linspace(-1, 1, 9), np.linspace(-1, 1, 7)
    z = np.add.outer(ys ** 2, xs ** 2) + 0.1
    grid = np.linspace(-2, 5, 300)
    density = np.exp(-0.5 * grid ** 2) / np.sqrt(2 * np.pi)
    paths = [
        plots.interpolation_png(str(tmp_path / "a" / "interp.png"), xs, {"g_loss": xs ** 2 + 1, "d_loss": np.exp(xs)},
                                log_scale=True, title="interp"),
        plots.contour_png(str(tmp_path / "contour.png"), xs, ys, z, title="slice"),
        plots.surface_png(str(tmp_path / "surface.png"), xs, ys, z),
        plots.spectrum_png(str(tmp_path / "spectrum.png"), grid, density, eigenvalues=[4.0, 3.5]),
        plots.spectrum_png(str(tmp_path / "spectrum_lin.png"), grid, density, log_scale=False),
    ]
    from PIL import Image

    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 100
        assert 0 < os.path.getsize(path) < 200_000
    with pytest.raises(ValueError, match=r"\[len\(ys\), len\(xs\)\]"):
        plots.contour_png(str(tmp_path / "bad.png"), xs, ys, z.T)
    with pytest.raises(ValueError, match="log_scale needs positive"):
        plots.interpolation_png(str(tmp_path / "bad.png"), xs, {"w": xs}, log_scale=True)
