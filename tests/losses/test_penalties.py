"""Gradient penalties against PyTorch autograd (double backward, with the reference step of tools/bench.py) on
the same tiny network, against central finite differences in float64, and through the DCGAN discriminator's
custom_jvp strided conv; the reference step's objectives against jaxgen.losses.gan.

Every check covers the penalty's value *and* its gradient with respect to each of D's parameters: a
penalty that does not train D (a stop_gradient, a detached input gradient) fails here.
"""

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.losses import gan, penalties
from jaxgen.models import dcgan

torch = pytest.importorskip("torch")
_spec = importlib.util.spec_from_file_location(
    "torch_dcgan", pathlib.Path(__file__).parents[2] / "tools" / "torch_dcgan.py")
TORCH_REF = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(TORCH_REF)

SHAPE = (3, 6, 6, 2)  # N, H, W, C


class TinyD(nn.Module):
    """Conv(3, s2) -> softplus -> Dense -> tanh -> Dense(1): smooth, so second derivatives are non-trivial."""

    @nn.compact
    def __call__(self, x):
        x = nn.softplus(nn.Conv(4, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)), name="conv")(x))
        x = jnp.tanh(nn.Dense(5, name="hidden")(x.reshape(x.shape[0], -1)))
        return nn.Dense(1, name="logit")(x)[:, 0]


def _rand(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _random_params(module, shape, **kw):
    """N(0, 0.3^2) for every parameter of ``module`` (biases too, so that each enters the penalty), no compile."""
    shapes = jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape), **kw)["params"])
    return jax.tree.map(lambda p: jnp.asarray(0.3 * _rand(p.size, p.shape)), shapes)


def _init():
    return _random_params(TinyD(), SHAPE)


def _torch_d(params):
    """The same network in PyTorch (NCHW), weights copied from the flax parameters."""
    conv = torch.nn.Conv2d(SHAPE[-1], 4, 3, 2, 1)
    hidden, logit = torch.nn.Linear(36, 5), torch.nn.Linear(5, 1)
    t = lambda a: torch.tensor(np.asarray(a))
    with torch.no_grad():
        conv.weight.copy_(t(params["conv"]["kernel"]).permute(3, 2, 0, 1))  # HWIO -> OIHW
        conv.bias.copy_(t(params["conv"]["bias"]))
        for lin, name in ((hidden, "hidden"), (logit, "logit")):
            lin.weight.copy_(t(params[name]["kernel"]).T)
            lin.bias.copy_(t(params[name]["bias"]))

    def d(x):  # x NCHW; flatten in NHWC order as flax does
        h = torch.nn.functional.softplus(conv(x)).permute(0, 2, 3, 1).flatten(1)
        return logit(torch.tanh(hidden(h))).squeeze(1)

    torch_params = {"conv": {"kernel": conv.weight, "bias": conv.bias},
                    "hidden": {"kernel": hidden.weight, "bias": hidden.bias},
                    "logit": {"kernel": logit.weight, "bias": logit.bias}}
    return d, torch_params


def _torch_penalty(name, params, points):
    """(value, grads in flax layout) of the penalty at ``points [N, H, W, C]`` by torch double backward, with
    the PyTorch reference of ``tools/bench.py`` (``torch_dcgan.penalty_at``)."""
    d, tparams = _torch_d(params)
    value = TORCH_REF.penalty_at(name, d, torch.tensor(np.asarray(points)).permute(0, 3, 1, 2))
    return float(value.detach()), _torch_param_grads(value, tparams)


def _torch_param_grads(value, tparams):
    """d value / d the torch D's parameters, in flax layout ({layer: {kind: array}})."""
    leaves = [(layer, kind, p) for layer, ps in tparams.items() for kind, p in ps.items()]
    # the output bias is not in the graph of an input gradient: materialised as zeros
    dps = torch.autograd.grad(value, [p for *_, p in leaves], materialize_grads=True)
    to_flax = {"conv": lambda w: w.permute(2, 3, 1, 0), "hidden": lambda w: w.T, "logit": lambda w: w.T}
    grads = {layer: {} for layer in tparams}
    for (layer, kind, _), dp in zip(leaves, dps):
        grads[layer][kind] = (to_flax[layer](dp) if kind == "kernel" else dp).numpy()
    return grads


def _penalty_value_and_grad(apply_fn, name, params, real, fake, rng, **kw):
    """``value_and_grad`` over D's parameters of ``penalties.penalty(name, ...)``, ``apply_fn(params, x)``."""
    def loss(p):
        return penalties.penalty(name, lambda x: apply_fn(p, x), real, fake, rng, **kw)

    return jax.jit(jax.value_and_grad(loss))(params)


def _tiny_apply(params, x):
    return TinyD().apply({"params": params}, x)


def _assert_trees_close(got, want, tol, what):
    def check(path, g, w):
        w = np.asarray(w)
        np.testing.assert_allclose(np.asarray(g), w, rtol=tol, atol=tol * (1.0 + float(np.max(np.abs(w)))),
                                   err_msg=f"{what}: d penalty / d params{jax.tree_util.keystr(path)}")

    jax.tree_util.tree_map_with_path(check, got, want)


@pytest.mark.parametrize("name", ["wgan_gp", "dragan", "r1", "r2"])
def test_penalty_and_its_parameter_gradient_match_torch_double_backward(name):
    params = _init()
    real, fake, rng = jnp.asarray(_rand(1, SHAPE)), jnp.asarray(_rand(2, SHAPE)), jax.random.key(3)
    points = {"wgan_gp": lambda: penalties.interpolates(real, fake, rng),
              "dragan": lambda: penalties.perturbed(real, rng, 0.7),
              "r1": lambda: real, "r2": lambda: fake}[name]()
    value, grads = _penalty_value_and_grad(_tiny_apply, name, params, real, fake, rng, dragan_c=0.7)
    want_value, want_grads = _torch_penalty(name, params, points)
    assert float(value) == pytest.approx(want_value, rel=1e-5)
    _assert_trees_close(grads, want_grads, 1e-4, name)
    # the penalty trains D: every weight (not the output bias, which cannot change an input gradient) moves
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        if jax.tree_util.keystr(path) != "['logit']['bias']":
            assert float(jnp.max(jnp.abs(g))) > 1e-3, jax.tree_util.keystr(path)


def test_sampled_points():
    """WGAN-GP: one eps in [0, 1] per example on the segment fake -> real; DRAGAN: noise of std c * std(x),
    no gradient through the std (d sum(points) / d real is all ones)."""
    real, fake = _rand(4, (64, 16, 16, 1)), _rand(5, (64, 16, 16, 1))
    rng = jax.random.key(0)

    def sample(real, fake):
        perturbed = lambda x: penalties.perturbed(x, rng, 0.5)
        return (penalties.interpolates(real, fake, rng), perturbed(real) - real,
                jax.grad(lambda x: jnp.sum(perturbed(x)))(real))

    x_hat, noise, jac_sum = map(np.asarray, jax.jit(sample)(real, fake))
    diff = real - fake
    eps = np.sum((x_hat - fake) * diff, axis=(1, 2, 3), keepdims=True) / np.sum(diff**2, axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(x_hat, fake + eps * diff, atol=1e-5)  # on the segment, one eps per example
    assert 0.0 <= eps.min() and eps.max() <= 1.0 and np.std(eps) > 0.2
    sigma = 0.5 * float(np.std(real))
    assert np.std(noise) == pytest.approx(sigma, rel=0.03)  # 5 standard errors
    assert np.mean(noise) == pytest.approx(0.0, abs=5 * sigma / noise.size**0.5)
    np.testing.assert_allclose(jac_sum, np.ones(real.shape), atol=1e-6)


def test_r1_against_central_differences_float64():
    """The value from finite-difference input gradients, and d R1 / d params along random directions."""
    h = 1e-5

    def check(params, x, directions):
        r1 = lambda p: penalties.r1(lambda y: _tiny_apply(p, y), x)
        # value: input gradients of sum D by central differences (examples do not interact)
        sum_d = lambda y: jnp.sum(_tiny_apply(params, y))
        basis = jnp.eye(x.size, dtype=x.dtype).reshape((x.size,) + x.shape)
        fd = jax.vmap(lambda e: (sum_d(x + h * e) - sum_d(x - h * e)) / (2 * h))(basis).reshape(x.shape[0], -1)
        value, grads = jax.value_and_grad(r1)(params)
        # parameter gradient: <grad, v> against (R1(p + h v) - R1(p - h v)) / 2h for each direction v
        shift = lambda v, s: jax.tree.map(lambda p, u: p + s * u, params, v)
        fd_dir = jax.vmap(lambda v: (r1(shift(v, h)) - r1(shift(v, -h))) / (2 * h))(directions)
        dots = jax.vmap(lambda v: sum(jnp.vdot(g, u) for g, u in zip(jax.tree.leaves(grads), jax.tree.leaves(v))))(
            directions)
        return value, 0.5 * jnp.mean(jnp.sum(fd**2, axis=1)), dots, fd_dir

    with jax.enable_x64(True):
        params = jax.tree.map(lambda p: p.astype(jnp.float64), _init())
        directions = jax.tree.map(lambda p: jnp.asarray(_rand(p.size, (3,) + p.shape), jnp.float64), params)
        value, fd_value, dots, fd_dir = jax.jit(check)(params, jnp.asarray(_rand(7, SHAPE), jnp.float64), directions)
        assert float(value) == pytest.approx(float(fd_value), rel=1e-7)
        np.testing.assert_allclose(dots, fd_dir, rtol=1e-6)
        assert dots.dtype == jnp.float64


@pytest.mark.parametrize("name", ["wgan_gp", "r1"])
def test_dcgan_strided_conv_custom_jvp_under_double_backward(name, monkeypatch):
    """jaxgen.nn.StridedConv's CPU lowering (custom_jvp input gradient) gives the penalty and parameter gradients
    of XLA's own conv (its TPU lowering, traced with jax.default_backend() patched)."""
    shape = (4, 8, 8, 1)
    cfg = model_defaults.dcgan()
    cfg.width, cfg.d_norm = 4, "none"
    module = dcgan.discriminator(cfg, shape[1:])
    params = _random_params(module, shape, train=False)
    real, fake, rng = jnp.asarray(_rand(8, shape)), jnp.asarray(_rand(9, shape)), jax.random.key(2)
    results = {}
    for fast, backend in ((True, "cpu"), (False, "tpu")):
        with monkeypatch.context() as m, jax.default_matmul_precision("highest"):
            m.setattr(jax, "default_backend", lambda b=backend: b)
            results[fast] = _penalty_value_and_grad(lambda p, x: module.apply({"params": p}, x, train=True),
                                                    name, params, real, fake, rng)
    assert float(results[True][0]) == pytest.approx(float(results[False][0]), rel=1e-5)
    assert float(results[False][0]) > 1e-3
    _assert_trees_close(results[True][1], results[False][1], 1e-5, name)


def test_none_and_unknown_penalty():
    params, x = _init(), jnp.asarray(_rand(1, SHAPE))
    value, grads = _penalty_value_and_grad(_tiny_apply, "none", params, x, x, jax.random.key(0))
    assert float(value) == 0.0 and all(float(jnp.max(jnp.abs(g))) == 0.0 for g in jax.tree.leaves(grads))
    with pytest.raises(ConfigError, match="loss.penalty"):
        penalties.penalty("gp", lambda x: x.sum((1, 2, 3)), x, x, jax.random.key(0))


@pytest.mark.parametrize("name", ["mm", "ns", "wgan", "lsgan", "hinge"])
def test_torch_reference_objectives_match(name):
    """The PyTorch step that tools/bench.py times descends the same objectives."""
    real, fake = _rand(20, (9,)), _rand(21, (9,))
    objective = gan.objective(name)
    t = lambda a: torch.tensor(a, dtype=torch.float64)
    want_d, want_g = float(objective.d_loss(real, fake)), float(objective.g_loss(fake))
    assert float(TORCH_REF.D_LOSSES[name](t(real), t(fake))) == pytest.approx(want_d, rel=1e-5)
    assert float(TORCH_REF.G_LOSSES[name](t(fake))) == pytest.approx(want_g, rel=1e-5)


def test_penalties_on_pytrees_take_the_norm_over_every_leaf():
    """A D of two inputs (MSG-GAN's scales, a paired game's source and target): its penalties equal those of the
    same D on the examples' leaves concatenated into one vector; WGAN-GP's eps is shared by the leaves."""
    ka, kb, kw, kr, kf, ke = jax.random.split(jax.random.key(3), 6)
    wa, wb = jax.random.normal(ka, (4, 3)), jax.random.normal(kb, (6,))

    def d_tree(x):  # x = {"a": [N, 2, 2], "b": [N, 6]}
        return jnp.tanh(jnp.reshape(x["a"], (-1, 4)) @ wa).sum(1) + jnp.sin(x["b"] @ wb)

    def d_flat(v):  # the same D on [N, 10]
        return d_tree({"a": jnp.reshape(v[:, :4], (-1, 2, 2)), "b": v[:, 4:]})

    def flat(x):
        return jnp.concatenate([jnp.reshape(x["a"], (-1, 4)), x["b"]], axis=1)

    real = {"a": jax.random.normal(kr, (5, 2, 2)), "b": jax.random.normal(kw, (5, 6))}
    fake = {"a": jax.random.normal(kf, (5, 2, 2)), "b": jax.random.normal(ke, (5, 6))}
    for name in ("r1", "r2"):
        np.testing.assert_allclose(penalties.penalty(name, d_tree, real, fake, kr),
                                   penalties.penalty(name, d_flat, flat(real), flat(fake), kr), rtol=1e-5)
    np.testing.assert_allclose(penalties.two_sided(d_tree, real), penalties.two_sided(d_flat, flat(real)), rtol=1e-5)
    mixed = penalties.interpolates(real, fake, ke)
    eps = (mixed["b"] - fake["b"]) / (real["b"] - fake["b"])  # [5, 6]: one eps per example, in every leaf
    np.testing.assert_allclose(eps, eps[:, :1] * np.ones((1, 6)), rtol=1e-4)
    np.testing.assert_allclose((mixed["a"] - fake["a"]) / (real["a"] - fake["a"]),
                               eps[:, :1, None] * np.ones((1, 2, 2)), rtol=1e-4)
    np.testing.assert_allclose(penalties.wgan_gp(d_tree, real, fake, ke), penalties.two_sided(d_tree, mixed), rtol=1e-6)
    moved = penalties.perturbed(real, ke, c=0.5)
    assert jax.tree.structure(moved) == jax.tree.structure(real) and float(penalties.dragan(d_tree, real, ke)) > 0


def test_pixel_penalty_matches_the_official_singan_formula_in_torch():
    """``wgan_gp_pixel`` at given points is SinGAN's ``((grad.norm(2, dim=1) - 1) ** 2).mean()`` of an NCHW input
    gradient (torch double backward on the same D), value and parameter gradients; it differs from ``wgan_gp``
    (the whole example's norm) on the same points, and refuses inputs that are not images."""
    params, points = _init(), jnp.asarray(_rand(4, SHAPE))
    value, grads = jax.jit(jax.value_and_grad(
        lambda p: penalties.pixelwise_two_sided(lambda x: _tiny_apply(p, x), points)))(params)
    d, tparams = _torch_d(params)
    x = torch.tensor(np.asarray(points)).permute(0, 3, 1, 2).requires_grad_(True)
    grad, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    want = ((grad.norm(2, dim=1) - 1) ** 2).mean()
    want_grads = _torch_param_grads(want, tparams)
    assert float(value) == pytest.approx(float(want.detach()), rel=1e-5)
    _assert_trees_close(grads, want_grads, 1e-4, "wgan_gp_pixel")
    whole = penalties.two_sided(lambda x: _tiny_apply(params, x), points)
    assert abs(float(whole) - float(value)) > 1e-2
    rng = jax.random.key(5)
    np.testing.assert_allclose(  # the named penalty samples WGAN-GP's interpolates
        penalties.penalty("wgan_gp_pixel", lambda x: _tiny_apply(params, x), points, 2 * points, rng),
        penalties.pixelwise_two_sided(lambda x: _tiny_apply(params, x),
                                      penalties.interpolates(points, 2 * points, rng)), rtol=1e-6)
    with pytest.raises(ConfigError, match="wgan_gp_pixel"):
        penalties.penalty("wgan_gp_pixel", lambda x: x.sum(1), points[:, 0, 0], points[:, 0, 0], rng)
