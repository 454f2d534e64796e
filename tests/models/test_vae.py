"""(V)AEs: shapes for every encoder and data space, the ELBO's parts, the IWAE bound, and the linear-Gaussian
VAE whose optimum is probabilistic PCA (its ELBO reaches the exact PPCA maximum likelihood)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.losses import likelihood as lik
from jaxgen.models import vae

SHAPE = (8, 8, 1)


def _cfg(**kw):
    cfg = model_defaults.vae()
    cfg.update({"hidden": (32,), "widths": (4, 8), "latent_dim": 3, **kw})
    return cfg


def _data(kind, n=5, shape=SHAPE, seed=0):
    images = jax.random.uniform(jax.random.key(seed), (n, *shape), minval=-1, maxval=1)
    return lik.to_data_space(images, kind, jax.random.key(seed + 1))


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
@pytest.mark.parametrize("data", ["binary", "8bit", "continuous"])
def test_every_encoder_and_data_space_gives_a_finite_elbo_and_valid_samples(encoder, data):
    cfg = _cfg(encoder=encoder, data=data, decoder_scale="diagonal" if data == "continuous" else "fixed")
    dens = vae.density(cfg, SHAPE)
    x = _data(data)
    params = dens.init(jax.random.key(0), x)
    nll, metrics = dens.nll(params, x, jax.random.key(1))
    assert nll.shape == (5,) and np.all(np.isfinite(nll))
    np.testing.assert_allclose(nll, metrics["reconstruction"] + metrics["kl"], rtol=1e-6)
    samples = np.asarray(dens.sample(params, jax.random.key(2), 4))
    assert samples.shape == (4, *SHAPE)
    if data == "binary":
        assert set(np.unique(samples)) <= {0.0, 1.0}
    elif data == "8bit":
        assert samples.dtype == np.int32 and samples.min() >= 0 and samples.max() <= 255
    grads = jax.grad(lambda p: jnp.mean(dens.nll(p, x, jax.random.key(1))[0]))(params)
    assert all(np.any(g != 0) for g in jax.tree.leaves(grads["encoder"]))  # through the reparameterisation


def test_kl_term_is_the_closed_form_of_the_encoder_gaussian():
    cfg = _cfg()
    dens = vae.density(cfg, SHAPE)
    x = _data("binary")
    params = dens.init(jax.random.key(0), x)
    mu, logvar = vae.encode(cfg, SHAPE, params, x)
    _, metrics = dens.nll(params, x, jax.random.key(1))
    expected = 0.5 * np.sum(np.exp(logvar) + np.asarray(mu) ** 2 - 1 - np.asarray(logvar), axis=1)
    np.testing.assert_allclose(metrics["kl"], expected, rtol=1e-5)


def test_importance_weighted_bound_tightens_with_k_and_k1_is_the_elbo():
    cfg = _cfg(latent_dim=2)
    dens = vae.density(cfg, SHAPE)
    x = _data("binary", n=8)
    params = dens.init(jax.random.key(0), x)
    keys = jax.random.split(jax.random.key(5), 400)

    def bound(k):  # 400 independent estimates: [400, B]
        return np.asarray(jax.jit(jax.vmap(lambda key: dens.log_likelihood(params, x, key, num_samples=k,
                                                                              chunk=25)))(keys))

    elbo = np.asarray(jax.jit(jax.vmap(lambda key: -dens.nll(params, x, key)[0]))(keys))
    draws = {k: bound(k) for k in (1, 10, 100)}
    # K = 1 is the ELBO with a Monte-Carlo KL: the same expectation (within 4 standard errors).
    se = np.sqrt((elbo.var(0) + draws[1].var(0)) / len(keys))
    assert np.all(np.abs(draws[1].mean(0) - elbo.mean(0)) < 4 * se)
    means = {k: v.mean(0) for k, v in draws.items()}
    assert np.all(means[1] < means[10]) and np.all(means[10] < means[100])  # E[bound_K] grows with K


def test_autoencoder_has_no_density_and_trains_on_reconstruction():
    dens = vae.density(_cfg(kind="ae"), SHAPE)
    assert not dens.is_density and dens.log_likelihood is None
    x = _data("binary")
    params = dens.init(jax.random.key(0), x)
    a, metrics = dens.nll(params, x, jax.random.key(1))
    b, _ = dens.nll(params, x, jax.random.key(2))
    np.testing.assert_array_equal(a, b)  # deterministic: no sampled latent
    np.testing.assert_array_equal(a, metrics["reconstruction"])


@pytest.mark.parametrize("key,value,message", [
    ("encoder", "resnet", "model.encoder"), ("data", "float", "model.data"),
    ("decoder_scale", "full", "model.decoder_scale"), ("latent_dim", 0, "model.latent_dim")])
def test_bad_model_keys_are_named(key, value, message):
    with pytest.raises(ConfigError, match=message):
        vae.density(_cfg(**{key: value}), SHAPE)


def test_conv_vae_has_the_same_numbers_on_every_backend_lowering(monkeypatch):
    """The conv VAE's strided and transposed convs take the backend's lowering (no config key): the negative
    ELBO and its parameter gradients on the CPU's fast forms equal those of XLA's own convs (TPU)."""
    dens = vae.density(_cfg(encoder="conv"), SHAPE)
    x = _data("binary")
    params = dens.init(jax.random.key(0), x)
    loss = lambda p: jnp.mean(dens.nll(p, x, jax.random.key(1))[0])  # noqa: E731
    out = []
    for backend in ("cpu", "tpu"):
        with monkeypatch.context() as m, jax.default_matmul_precision("highest"):
            m.setattr(jax, "default_backend", lambda b=backend: b)
            out.append(jax.jit(jax.value_and_grad(loss))(params))
    for a, b in zip(jax.tree.leaves(out[0]), jax.tree.leaves(out[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * (1 + float(jnp.max(jnp.abs(b)))))


def test_conv_vae_needs_divisible_image_size():
    with pytest.raises(ConfigError, match="divisible by 4"):
        vae.density(_cfg(encoder="conv"), (10, 10, 1))


def _ppca_mean_log_likelihood(x, q):
    """Exact maximum log-likelihood per point of PPCA with q components (Tipping & Bishop 1999, eq. 4-8)."""
    d = x.shape[1]
    eig = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1]
    sigma2 = eig[q:].mean()
    return -0.5 * (d * math.log(2 * math.pi) + np.log(eig[:q]).sum() + (d - q) * math.log(sigma2) + d), sigma2


def _linear_elbo(params, x):
    """The linear-Gaussian VAE's expected ELBO per point in closed form (no sampling), float64."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    q = p["decoder"]["Dense_0"]["kernel"].shape[0]
    # The encoder sees the data as images in [-1, 1]: 2x - 1.
    enc = (2 * x - 1) @ p["encoder"]["Dense_0"]["kernel"] + p["encoder"]["Dense_0"]["bias"]
    dec = p["decoder"]["Dense_0"]
    m, logvar = enc[:, :q], enc[:, q:]
    w, b, s2 = dec["kernel"], dec["bias"], math.exp(2 * p["log_scale"])
    residual = np.sum((x - m @ w - b) ** 2, 1) + np.exp(logvar) @ np.sum(w**2, 1)
    expected_log_px = -0.5 * x.shape[1] * math.log(2 * math.pi * s2) - residual / (2 * s2)
    kl = 0.5 * np.sum(np.exp(logvar) + m**2 - 1 - logvar, 1)
    return float(np.mean(expected_log_px - kl))


def test_linear_gaussian_vae_reaches_the_ppca_maximum_likelihood():
    """Trained on its own stochastic ELBO, the linear VAE's ELBO equals the exact PPCA log-likelihood at the
    optimum, and its noise variance is PPCA's (Lucas et al. 2019, "Don't blame the ELBO")."""
    rng = np.random.default_rng(0)
    n, d, q = 500, 6, 2
    x = 0.5 + rng.normal(size=(n, q)) @ (0.1 * rng.normal(size=(q, d))) + 0.03 * rng.normal(size=(n, d))
    images = jnp.asarray(x.reshape(n, 1, d, 1), jnp.float32)
    cfg = model_defaults.vae()
    cfg.update(dict(data="continuous", encoder="linear", latent_dim=q, decoder_scale="shared"))
    dens = vae.density(cfg, (1, d, 1))
    params = dens.init(jax.random.key(0), images[:2])
    steps = 20000
    tx = optax.adam(optax.cosine_decay_schedule(3e-2, steps, alpha=1e-3))

    def train(carry, key):
        params, opt = carry
        grads = jax.grad(lambda p: jnp.mean(dens.nll(p, images, key)[0]))(params)
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), None

    (params, _), _ = jax.jit(lambda c, k: jax.lax.scan(train, c, k))((params, tx.init(params)),
                                                                     jax.random.split(jax.random.key(1), steps))
    ppca, sigma2 = _ppca_mean_log_likelihood(x, q)
    elbo = _linear_elbo(params, x)
    assert elbo <= ppca + 1e-4  # a lower bound on the maximum likelihood
    assert elbo == pytest.approx(ppca, abs=2e-3)
    assert math.exp(2 * float(params["log_scale"])) == pytest.approx(sigma2, rel=1e-2)
    # The model's Monte-Carlo ELBO estimates the same closed form.
    draws = np.array([-float(jnp.mean(dens.nll(params, images, jax.random.key(10**6 + i))[0])) for i in range(100)])
    assert abs(draws.mean() - elbo) < 4 * draws.std() / math.sqrt(len(draws)) + 1e-4


def test_latent_grid_is_the_normal_quantile_grid():
    grid = vae.latent_grid(3, extent=0.9)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(sorted(set(np.round(grid[:, 0], 5))), [-1.28155, 0.0, 1.28155], atol=1e-4)
