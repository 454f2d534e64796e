"""Gaussian diffusion's math (jaxgen.losses.diffusion) against independent computations: the forward process by
iterating its one-step kernel, the posterior by Gaussian conditioning, the KLs by torch.distributions, the
discretised decoder by scipy's normal CDF; DDIM's η = 0 determinism and its η = 1 identity with DDPM (σ² = β̃);
both samplers, fed the closed-form ideal ε of Gaussian data, draw that Gaussian."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import torch

from jaxgen.losses import diffusion as dl

T = 20


def test_schedules_match_the_papers():
    np.testing.assert_allclose(dl.betas("linear", 1000)[[0, -1]], [1e-4, 0.02])
    b = dl.betas("cosine", 50)
    f = lambda t: math.cos((t / 50 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    np.testing.assert_allclose(np.cumprod(1 - b)[[0, 24, 48]], [f(1) / f(0), f(25) / f(0), f(49) / f(0)], rtol=1e-9)
    assert b.max() <= 0.999 and dl.betas("linear", 10).max() <= 0.999
    np.testing.assert_array_equal(dl.strided_steps(10, 10), np.arange(10, 0, -1))
    np.testing.assert_array_equal(dl.strided_steps(1000, 4), [1000, 667, 334, 1])


@pytest.mark.parametrize("kind", dl.SCHEDULES)
def test_closed_form_marginal_equals_the_iterated_one_step_process(kind):
    s = dl.schedule(kind, T)
    b = dl.betas(kind, T)
    # Exactly: x_t = sqrt(1 - b_t) x_{t-1} + sqrt(b_t) z keeps x_t | x_0 Gaussian with mean m_t x_0 and variance v_t.
    m, v = 1.0, 0.0
    for t in range(1, T + 1):
        m, v = math.sqrt(1 - b[t - 1]) * m, (1 - b[t - 1]) * v + b[t - 1]
        np.testing.assert_allclose([math.sqrt(float(s.alphas_cumprod[t - 1])), 1 - float(s.alphas_cumprod[t - 1])],
                                   [m, v], rtol=1e-5, atol=1e-7)
    # Monte Carlo: q_sample's draws of x_t against the one-step chain's, per pixel, for x_0 = 0.7 at t = T / 2.
    n, t = 200_000, T // 2
    rng = np.random.default_rng(0)
    x = np.full(n, 0.7)
    for i in range(t):
        x = np.sqrt(1 - b[i]) * x + np.sqrt(b[i]) * rng.standard_normal(n)
    xt = np.asarray(dl.q_sample(s, jnp.full((n, 1), 0.7), jnp.full((n,), t), jax.random.normal(jax.random.key(0), (n, 1))))
    np.testing.assert_allclose([xt.mean(), xt.var()], [x.mean(), x.var()], atol=0.01)


def test_posterior_is_gaussian_conditioning():
    s = dl.schedule("linear", T)
    rng = np.random.default_rng(1)
    x0, xt = rng.uniform(-1, 1, (3, 4)), rng.standard_normal((3, 4))
    t = np.array([2, 7, T])
    mean, var = dl.posterior(s, jnp.asarray(x0, jnp.float32), jnp.asarray(xt, jnp.float32), jnp.asarray(t))
    b = dl.betas("linear", T)[t - 1]
    ab_prev = np.cumprod(1 - dl.betas("linear", T))[t - 2]
    # prior x_{t-1} ~ N(sqrt(ab_prev) x0, 1 - ab_prev), likelihood x_t ~ N(sqrt(1 - b) x_{t-1}, b)
    precision = 1 / (1 - ab_prev) + (1 - b) / b
    want_mean = (np.sqrt(ab_prev)[:, None] * x0 / (1 - ab_prev)[:, None] + np.sqrt(1 - b)[:, None] * xt / b[:, None]) \
        / precision[:, None]
    np.testing.assert_allclose(mean, want_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(var)[:, 0], 1 / precision, rtol=1e-4)
    # the reverse mean of Ho et al. eq. 11 is the posterior mean at the x_0 its noise implies
    eps = jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
    x0_hat = dl.predict_x0(s, jnp.asarray(xt, jnp.float32), jnp.asarray(t), eps)
    np.testing.assert_allclose(dl.reverse_mean(s, jnp.asarray(xt, jnp.float32), jnp.asarray(t), eps),
                               dl.posterior(s, x0_hat, jnp.asarray(xt, jnp.float32), jnp.asarray(t))[0], rtol=1e-4,
                               atol=1e-4)


def _torch_kl(m1, v1, m2, v2):
    p = torch.distributions.Normal(torch.tensor(np.array(m1), dtype=torch.float64), torch.tensor(np.array(v1), dtype=torch.float64).sqrt())
    q = torch.distributions.Normal(torch.tensor(np.array(m2), dtype=torch.float64), torch.tensor(np.array(v2), dtype=torch.float64).sqrt())
    return torch.distributions.kl_divergence(p, q).numpy()


def test_kls_match_torch():
    rng = np.random.default_rng(2)
    m1, m2 = rng.standard_normal(5), rng.standard_normal(5)
    v1, v2 = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    np.testing.assert_allclose(dl.normal_kl(m1, np.log(v1), m2, np.log(v2)), _torch_kl(m1, v1, m2, v2), rtol=1e-6)
    s = dl.schedule("linear", T)
    x0 = rng.uniform(-1, 1, (2, 3, 3, 1))
    ab = float(s.alphas_cumprod[-1])
    want = _torch_kl(np.sqrt(ab) * x0, 1 - ab, 0.0, 1.0).reshape(2, -1).sum(1)
    np.testing.assert_allclose(dl.prior_kl(s, jnp.asarray(x0, jnp.float32)), want, rtol=1e-4)


def test_discretised_gaussian_decoder_matches_scipy_and_normalises():
    rng = np.random.default_rng(3)
    levels = np.array([0, 1, 77, 128, 254, 255])
    log_var = np.log(rng.uniform(1e-4, 0.1, 6))
    x, sd = levels / 127.5 - 1, np.exp(0.5 * log_var)
    mean = x + sd * rng.uniform(-3, 3, 6)  # within a few sd: scipy's CDF difference is representable
    upper = np.where(levels == 255, np.inf, x + 1 / 255)
    lower = np.where(levels == 0, -np.inf, x - 1 / 255)
    want = np.log(scipy.stats.norm.cdf(upper, mean, sd) - scipy.stats.norm.cdf(lower, mean, sd))
    got = jax.vmap(dl.discretized_gaussian_log_prob)(jnp.asarray(levels)[:, None, None], jnp.asarray(mean, jnp.float32)[:, None, None],
                                                    jnp.asarray(log_var, jnp.float32)[:, None, None])[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    all_levels = jnp.arange(256)[:, None]  # every level at one mean: probabilities sum to one
    logp = dl.discretized_gaussian_log_prob(all_levels, jnp.full((256, 1), 0.3), jnp.full((256, 1), math.log(0.01)))
    np.testing.assert_allclose(float(jnp.sum(jnp.exp(logp))), 1.0, rtol=1e-5)


def test_bound_terms_are_the_kl_and_the_decoder():
    s = dl.schedule("linear", T, "beta")
    rng = np.random.default_rng(4)
    levels = jnp.asarray(rng.integers(0, 256, (3, 2, 2, 1)))
    x0 = np.asarray(levels) / 127.5 - 1
    xt = rng.standard_normal((3, 2, 2, 1))
    eps = jnp.asarray(rng.standard_normal((3, 2, 2, 1)), jnp.float32)
    b1, ab1 = float(s.betas[0]), float(s.alphas_cumprod[0])  # row 0 (t = 1): an x_1 whose reverse mean is near x_0
    xt[0] = math.sqrt(1 - b1) * (x0[0] + 0.02 * rng.standard_normal(x0[0].shape)) + b1 / math.sqrt(1 - ab1) * eps[0]
    xt = jnp.asarray(xt, jnp.float32)
    t = jnp.asarray([1, 5, T])
    got = np.asarray(dl.term(s, levels, xt, t, eps))
    b = dl.betas("linear", T)
    mean = np.asarray(dl.reverse_mean(s, xt, t, eps))
    for i, ti in enumerate([5, T]):
        q_mean, q_var = dl.posterior(s, jnp.asarray(x0, jnp.float32), xt, t)
        want = _torch_kl(np.asarray(q_mean)[i + 1], float(q_var[i + 1, 0, 0, 0]), mean[i + 1], b[ti - 1]).sum()
        np.testing.assert_allclose(got[i + 1], want, rtol=1e-4)
    var1 = float(s.posterior_variance[1])  # t = 1: the decoder's variance is beta-tilde_2 (Ho et al.'s code)
    x = x0[0]
    upper = np.where(np.asarray(levels[0]) == 255, np.inf, x + 1 / 255)
    lower = np.where(np.asarray(levels[0]) == 0, -np.inf, x - 1 / 255)
    p = scipy.stats.norm.cdf(upper, mean[0], math.sqrt(var1)) - scipy.stats.norm.cdf(lower, mean[0], math.sqrt(var1))
    np.testing.assert_allclose(got[0], -np.log(p).sum(), rtol=1e-4)
    np.testing.assert_allclose(dl.simple_loss(eps, xt), np.mean((np.asarray(eps) - np.asarray(xt)) ** 2, axis=(1, 2, 3)),
                               rtol=1e-6)


def _fake_eps(x, t):
    return jnp.tanh(x * (t[:, None, None, None] / T)) * 0.5


@functools.partial(jax.jit, static_argnums=(1, 5))
def _run(s, sampler, eta, x, key, steps=None):
    """x_0 from x_T by `sampler` over `steps` strided steps, the noise of step i drawn with fold_in(key, i)."""
    ts = dl.strided_steps(T, steps or T)
    prev = np.append(ts[1:], 0)

    def body(x, inputs):
        i, t, t_prev = inputs
        tb, pb = jnp.full((x.shape[0],), t), jnp.full((x.shape[0],), t_prev)
        z = jax.random.normal(jax.random.fold_in(key, i), x.shape)
        eps = _fake_eps(x, tb)
        return (dl.ddpm_step(s, x, tb, eps, z) if sampler == "ddpm" else dl.ddim_step(s, x, tb, pb, eps, z, eta)), None

    return jax.lax.scan(body, x, (jnp.arange(len(ts)), jnp.asarray(ts), jnp.asarray(prev)))[0]


def test_ddim_eta0_is_deterministic_and_eta1_is_ddpm_with_beta_tilde():
    s = dl.schedule("linear", T, "beta_tilde")
    x = jax.random.normal(jax.random.key(0), (2, 4, 4, 1))
    a, b = _run(s, "ddim", 0.0, x, jax.random.key(1)), _run(s, "ddim", 0.0, x, jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(_run(s, "ddim", 1.0, x, jax.random.key(1)), _run(s, "ddim", 1.0, x, jax.random.key(2)))
    np.testing.assert_allclose(_run(s, "ddim", 1.0, x, jax.random.key(3)), _run(s, "ddpm", 0.0, x, jax.random.key(3)),
                               atol=2e-5)
    few = _run(s, "ddim", 0.0, x, jax.random.key(1), steps=5)  # strided: still in the data range, deterministic
    assert few.shape == x.shape and float(jnp.abs(few).max()) <= 1.0


@pytest.mark.parametrize("sampler,variance,steps,tol", [("ddpm", "beta", 1000, 0.03), ("ddpm", "beta_tilde", 1000, 0.03),
                                                        ("ddim", "beta", 1000, 0.03), ("ddim", "beta", 100, 0.08)])
def test_samplers_with_the_exact_noise_of_gaussian_data_draw_that_gaussian(sampler, variance, steps, tol):
    """For x_0 ~ N(m, v) the ideal ε(x_t, t) = E[ε | x_t] = sqrt(1 - ᾱ) (x_t - sqrt(ᾱ) m) / (ᾱ v + 1 - ᾱ) in closed
    form; fed to the samplers at T = 1000 (linear), 20,000 draws must have mean m and standard deviation sqrt(v)."""
    m, sd = 0.3, 0.2  # well inside [-1, 1]: clipping x̂_0 never binds near the end
    s = dl.schedule("linear", 1000, variance)
    ts = dl.strided_steps(1000, steps)
    prev = np.append(ts[1:], 0)

    def body(x, inputs):
        t, t_prev, key = inputs
        ab = s.alphas_cumprod[t - 1]
        eps = jnp.sqrt(1 - ab) * (x - jnp.sqrt(ab) * m) / (ab * sd**2 + 1 - ab)
        tb, pb, z = jnp.full(x.shape[:1], t), jnp.full(x.shape[:1], t_prev), jax.random.normal(key, x.shape)
        return (dl.ddpm_step(s, x, tb, eps, z) if sampler == "ddpm" else dl.ddim_step(s, x, tb, pb, eps, z, 0.0)), None

    x_T = jax.random.normal(jax.random.key(0), (20_000, 1))
    x = jax.jit(lambda x: jax.lax.scan(body, x, (jnp.asarray(ts), jnp.asarray(prev),
                                                 jax.random.split(jax.random.key(1), len(ts))))[0])(x_T)
    assert abs(float(x.mean()) - m) < 0.01
    assert abs(float(x.std()) / sd - 1) < tol
