"""Gaussian diffusion (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models"), pure and batched:
β schedules, the forward process q(x_t | x_0), the true posterior q(x_{t-1} | x_t, x_0), the reverse step's
mean from a predicted noise ε, and the terms of the variational bound in nats per image.

Time runs t = 1..T; arrays over time are indexed ``t - 1`` (``betas[0]`` is β_1). Images x_0 are on the
[-1, 1] pixel scale (8-bit level k is ``k / 127.5 - 1``). A `Schedule` holds the float32 arrays every function
here reads (computed in float64 by `schedule`). The bound (Ho et al. eq. 5) is

    L = L_T + sum_{t=2}^T L_{t-1} + L_0,
    L_T     = KL(q(x_T | x_0) || N(0, I)),
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),    x_t ~ q(x_t | x_0),
    L_0     = -log p(x_0 | x_1), the discretised Gaussian decoder on 256 levels (eq. 13).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

SCHEDULES = ("linear", "cosine")
VARIANCES = ("beta", "beta_tilde")  # σ_t² of the reverse process: Ho's "fixedlarge" / "fixedsmall"


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Schedule:
    """float32 [T] arrays over t = 1..T: β_t, α_t = 1 - β_t, ᾱ_t = prod_{s<=t} α_s, ᾱ_{t-1} (ᾱ_0 = 1), the
    posterior variance β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t) (β̃_1 = 0), and the reverse process's log σ_t² (at
    t = 1 the log of β̃_2 for either choice, as Ho et al.'s code: β̃_1 = 0 has no log)."""

    betas: jax.Array
    alphas: jax.Array
    alphas_cumprod: jax.Array
    alphas_cumprod_prev: jax.Array
    posterior_variance: jax.Array
    log_variance: jax.Array

    @property
    def num_steps(self) -> int:
        return self.betas.shape[0]


def betas(kind: str, num_steps: int) -> np.ndarray:
    """β_1..β_T, float64 [T]. ``"linear"``: Ho et al.'s 1e-4 .. 0.02 at T = 1000, both ends scaled by 1000 / T
    (Nichol & Dhariwal 2021's rule, so a small T still ends near pure noise), at most 0.999. ``"cosine"``: Nichol & Dhariwal's
    ᾱ_t = f(t) / f(0), f(t) = cos²((t / T + s) / (1 + s) · π / 2), s = 0.008, β_t = 1 - ᾱ_t / ᾱ_{t-1} ≤ 0.999."""
    if kind == "linear":
        scale = 1000.0 / num_steps
        return np.minimum(np.linspace(scale * 1e-4, scale * 0.02, num_steps, dtype=np.float64), 0.999)
    if kind == "cosine":
        f = np.cos((np.arange(num_steps + 1, dtype=np.float64) / num_steps + 0.008) / 1.008 * math.pi / 2) ** 2
        return np.minimum(1.0 - f[1:] / f[:-1], 0.999)
    raise ValueError(f"unknown beta schedule {kind!r}; known: {SCHEDULES}")


def schedule(kind: str, num_steps: int, variance: str = "beta") -> Schedule:
    """The `Schedule` of `betas(kind, num_steps)` with reverse variances σ_t² = β_t (``"beta"``) or β̃_t
    (``"beta_tilde"``)."""
    b = betas(kind, num_steps)
    a = 1.0 - b
    ab = np.cumprod(a)
    ab_prev = np.append(1.0, ab[:-1])
    post = b * (1.0 - ab_prev) / (1.0 - ab)
    if variance == "beta":
        var = b.copy()
    elif variance == "beta_tilde":
        var = post.copy()
    else:
        raise ValueError(f"unknown reverse variance {variance!r}; known: {VARIANCES}")
    var[0] = post[1] if num_steps > 1 else b[0]
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return Schedule(f32(b), f32(a), f32(ab), f32(ab_prev), f32(post), f32(np.log(var)))


def _at(values: jax.Array, t: jax.Array, ndim: int) -> jax.Array:
    """values[t - 1] for t int [B], shaped [B, 1, ...] to broadcast against rank-`ndim` images."""
    return values[t - 1].reshape((-1,) + (1,) * (ndim - 1))


def _sum_per_example(x: jax.Array) -> jax.Array:
    return jnp.sum(x.reshape(x.shape[0], -1), axis=1)


def q_sample(s: Schedule, x0: jax.Array, t: jax.Array, noise: jax.Array) -> jax.Array:
    """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε: a draw of q(x_t | x_0) for x0 [B, ...], t int [B] in 1..T."""
    ab = _at(s.alphas_cumprod, t, x0.ndim)
    return jnp.sqrt(ab) * x0 + jnp.sqrt(1.0 - ab) * noise


def predict_x0(s: Schedule, x_t: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    """x_0 = (x_t - sqrt(1 - ᾱ_t) ε) / sqrt(ᾱ_t): the clean image a noise prediction implies."""
    ab = _at(s.alphas_cumprod, t, x_t.ndim)
    return (x_t - jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(ab)


def posterior(s: Schedule, x0: jax.Array, x_t: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean, variance) of q(x_{t-1} | x_t, x_0) (Ho et al. eq. 6-7): mean = β_t sqrt(ᾱ_{t-1}) / (1 - ᾱ_t) x_0 +
    (1 - ᾱ_{t-1}) sqrt(α_t) / (1 - ᾱ_t) x_t, variance β̃_t ([B, 1, ...])."""
    nd = x0.ndim
    b, a = _at(s.betas, t, nd), _at(s.alphas, t, nd)
    ab, ab_prev = _at(s.alphas_cumprod, t, nd), _at(s.alphas_cumprod_prev, t, nd)
    mean = b * jnp.sqrt(ab_prev) / (1.0 - ab) * x0 + (1.0 - ab_prev) * jnp.sqrt(a) / (1.0 - ab) * x_t
    return mean, _at(s.posterior_variance, t, nd)


def reverse_mean(s: Schedule, x_t: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    """μ_θ(x_t, t) = (x_t - β_t / sqrt(1 - ᾱ_t) ε) / sqrt(α_t) (Ho et al. eq. 11): the posterior mean at the
    x_0 the noise prediction implies."""
    nd = x_t.ndim
    b, a, ab = _at(s.betas, t, nd), _at(s.alphas, t, nd), _at(s.alphas_cumprod, t, nd)
    return (x_t - b / jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(a)


def normal_kl(mean1, log_var1, mean2, log_var2) -> jax.Array:
    """KL(N(mean1, e^log_var1) || N(mean2, e^log_var2)) per element (broadcasting)."""
    return 0.5 * (log_var2 - log_var1 - 1.0 + jnp.exp(log_var1 - log_var2) + (mean1 - mean2) ** 2 * jnp.exp(-log_var2))


def prior_kl(s: Schedule, x0: jax.Array) -> jax.Array:
    """L_T = KL(q(x_T | x_0) || N(0, I)), nats per example [B]."""
    t = jnp.full((x0.shape[0],), s.num_steps, jnp.int32)
    ab = _at(s.alphas_cumprod, t, x0.ndim)
    return _sum_per_example(normal_kl(jnp.sqrt(ab) * x0, jnp.log1p(-ab), 0.0, 0.0))


def _log_normal_cdf_difference(upper: jax.Array, lower: jax.Array) -> jax.Array:
    """log(Φ(upper) - Φ(lower)) for upper > lower, stable in both tails (reflected when both are positive)."""
    flip = (upper + lower) > 0
    hi, lo = jnp.where(flip, -lower, upper), jnp.where(flip, -upper, lower)
    log_hi, log_lo = jax.scipy.special.log_ndtr(hi), jax.scipy.special.log_ndtr(lo)
    return log_hi + jnp.log(-jnp.expm1(log_lo - log_hi))


def discretized_gaussian_log_prob(levels: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """log P(levels) [B] under N(mean, e^log_var) on the [-1, 1] scale discretised into 256 bins (Ho et al. eq.
    13): level k's bin is [x - 1/255, x + 1/255] around x = k / 127.5 - 1, the end bins reach -inf / +inf."""
    x = levels.astype(jnp.float32) / 127.5 - 1.0
    inv_std = jnp.exp(-0.5 * log_var)
    upper = jnp.where(levels == 255, jnp.inf, (x + 1.0 / 255.0 - mean) * inv_std)
    lower = jnp.where(levels == 0, -jnp.inf, (x - 1.0 / 255.0 - mean) * inv_std)
    top = jax.scipy.special.log_ndtr(-lower)  # level 255: 1 - Φ(lower)
    bottom = jax.scipy.special.log_ndtr(upper)  # level 0: Φ(upper)
    mid = _log_normal_cdf_difference(jnp.where(levels == 255, 1.0, upper), jnp.where(levels == 0, -1.0, lower))
    logp = jnp.where(levels == 0, bottom, jnp.where(levels == 255, top, mid))
    return _sum_per_example(jnp.maximum(logp, -1e4))  # a finite floor: -inf would poison gradients


def term(s: Schedule, levels: jax.Array, x_t: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    """The bound's term at t [B] given x_t ~ q(x_t | x_0) and the network's ε(x_t, t): L_{t-1} (the KL of the
    posterior to the reverse step) for t >= 2, L_0 (the decoder's -log p(x_0 | x_1)) for t = 1. Nats [B]."""
    x0 = levels.astype(jnp.float32) / 127.5 - 1.0
    mean = reverse_mean(s, x_t, t, eps)
    log_var = _at(s.log_variance, t, x0.ndim)
    t_safe = jnp.maximum(t, 2)  # the posterior at t = 1 has zero variance: the decoder term replaces it
    q_mean, q_var = posterior(s, x0, x_t, t_safe)
    kl = _sum_per_example(normal_kl(q_mean, jnp.log(q_var), mean, log_var))
    decoder = -discretized_gaussian_log_prob(levels, mean, jnp.broadcast_to(log_var, mean.shape))
    return jnp.where(t == 1, decoder, kl)


def simple_loss(eps_pred: jax.Array, noise: jax.Array) -> jax.Array:
    """L_simple (Ho et al. eq. 14): ||ε - ε_θ||², the mean over pixels, per example [B]."""
    return jnp.mean(((eps_pred - noise) ** 2).reshape(noise.shape[0], -1), axis=1)


def strided_steps(num_steps: int, sample_steps: int) -> np.ndarray:
    """The sampler's timesteps, int32 [S] descending from T to 1: S = `sample_steps` evenly strided steps of 1..T
    (all of them when S = T), as DDIM's "linear" τ."""
    if not 1 <= sample_steps <= num_steps:
        raise ValueError(f"sample_steps={sample_steps} must be in 1..{num_steps}")
    return np.unique(np.round(np.linspace(1, num_steps, sample_steps)).astype(np.int32))[::-1].copy()


def ddim_step(s: Schedule, x_t, t, t_prev, eps, noise, eta: float, clip: bool = True):
    """x_{t_prev} from x_t by DDIM (Song, Meng & Ermon 2021, eq. 12): x̂_0 = `predict_x0` (clipped to [-1, 1] if
    `clip`), σ = η sqrt((1 - ᾱ_prev) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_prev), x_prev = sqrt(ᾱ_prev) x̂_0 +
    sqrt(1 - ᾱ_prev - σ²) ε + σ z. t int [B] >= 1, t_prev int [B] >= 0 (ᾱ_0 = 1). With every step and η = 1,
    σ² = β̃_t and this is the ancestral step with σ_t² = β̃_t."""
    nd = x_t.ndim
    ab = _at(s.alphas_cumprod, t, nd)
    ab_prev = jnp.where(t_prev.reshape(ab.shape) >= 1, _at(s.alphas_cumprod, jnp.maximum(t_prev, 1), nd), 1.0)
    x0 = predict_x0(s, x_t, t, eps)
    if clip:
        x0 = jnp.clip(x0, -1.0, 1.0)
    eps = (x_t - jnp.sqrt(ab) * x0) / jnp.sqrt(1.0 - ab)  # the noise consistent with the (clipped) x̂_0
    sigma = eta * jnp.sqrt((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev))
    return jnp.sqrt(ab_prev) * x0 + jnp.sqrt(jnp.maximum(1.0 - ab_prev - sigma**2, 0.0)) * eps + sigma * noise


def ddpm_step(s: Schedule, x_t, t, eps, noise, clip: bool = True):
    """x_{t-1} from x_t by the ancestral step (Ho et al. Algorithm 2): the posterior mean at x̂_0 (clipped to
    [-1, 1] if `clip`, as Ho et al.'s sampler) plus σ_t z, σ_t² = exp(log_variance), no noise at t = 1."""
    x0 = predict_x0(s, x_t, t, eps)
    if clip:
        x0 = jnp.clip(x0, -1.0, 1.0)
    mean, _ = posterior(s, x0, x_t, t)
    sigma = jnp.exp(0.5 * _at(s.log_variance, t, x_t.ndim))
    return mean + jnp.where(t.reshape(sigma.shape) > 1, sigma, 0.0) * noise
