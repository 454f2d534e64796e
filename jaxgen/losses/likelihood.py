"""Likelihood building blocks, pure and batched: data spaces, per-pixel log-probabilities, the Gaussian
KL, importance-weighted bounds and unit conversions (nats per image, bits per dimension).

Data spaces (``kind``), made from the pipeline's images in [-1, 1] by `to_data_space`:

- ``"binary"``: float32 {0, 1}. Training draws a fresh stochastic binarisation every step (each pixel is
  1 with probability its intensity: "dynamically binarised MNIST"); evaluation uses one fixed binarisation
  (seed `EVAL_BINARIZATION_SEED`), so every model is scored on the same bits.
- ``"8bit"``: int32 in 0..255, the stored pixel values.
- ``"continuous"``: float32 (k + u) / 256 in [0, 1) with u ~ U[0, 1) per pixel (uniform dequantisation,
  Theis et al. 2016); a density on it bounds the discrete likelihood: see `dequantized_bits_per_dim`.

Log-probabilities are summed over every axis but the first and returned per example, in nats.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

KINDS = ("binary", "8bit", "continuous")
EVAL_BINARIZATION_SEED = 0
LOG_256 = math.log(256.0)


def _sum_per_example(x: jax.Array) -> jax.Array:
    return jnp.sum(x.reshape(x.shape[0], -1), axis=1)


def intensities(images: jax.Array) -> jax.Array:
    """Pipeline images [-1, 1] -> intensities [0, 1]."""
    return jnp.clip((images + 1.0) * 0.5, 0.0, 1.0)


def to_levels(images: jax.Array) -> jax.Array:
    """Pipeline images [-1, 1] (from uint8 via x / 127.5 - 1) -> the integer levels 0..255 (int32)."""
    return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.int32)


def to_data_space(images: jax.Array, kind: str, rng: jax.Array) -> jax.Array:
    """Pipeline images [B, H, W, C] in [-1, 1] -> the data space `kind` (see the module docstring);
    `rng` draws the binarisation or the dequantisation noise."""
    if kind == "binary":
        return jax.random.bernoulli(rng, intensities(images)).astype(jnp.float32)
    if kind == "8bit":
        return to_levels(images)
    if kind == "continuous":
        return (to_levels(images) + jax.random.uniform(rng, images.shape)) / 256.0
    raise ValueError(f"unknown data space {kind!r}; known: {KINDS}")


def eval_data_space(images: jax.Array, kind: str, index: jax.Array | int = 0) -> jax.Array:
    """`to_data_space` with the fixed evaluation noise of batch `index` (the same bits for every model)."""
    rng = jax.random.fold_in(jax.random.key(EVAL_BINARIZATION_SEED), index)
    return to_data_space(images, kind, rng)


def to_images(x: jax.Array, kind: str) -> jax.Array:
    """Data space -> images in [-1, 1] (for sample grids)."""
    if kind == "8bit":
        return x.astype(jnp.float32) / 127.5 - 1.0
    return jnp.clip(x.astype(jnp.float32), 0.0, 1.0) * 2.0 - 1.0


def bernoulli_log_prob(logits: jax.Array, x: jax.Array) -> jax.Array:
    """log Bernoulli(x | sigmoid(logits)), x in {0, 1}, summed per example -> [B]."""
    return _sum_per_example(x * jax.nn.log_sigmoid(logits) + (1.0 - x) * jax.nn.log_sigmoid(-logits))


def categorical_log_prob(logits: jax.Array, levels: jax.Array) -> jax.Array:
    """log Categorical(levels | softmax(logits)): logits [..., 256], levels int [...] -> [B]."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return _sum_per_example(jnp.take_along_axis(logp, levels[..., None], axis=-1)[..., 0])


def gaussian_log_prob(x: jax.Array, mean: jax.Array, log_scale: jax.Array) -> jax.Array:
    """log N(x | mean, exp(log_scale)^2), diagonal, summed per example -> [B]."""
    z = (x - mean) * jnp.exp(-log_scale)
    return _sum_per_example(-0.5 * z**2 - log_scale - 0.5 * math.log(2.0 * math.pi))


def discretized_logistic_log_prob(levels: jax.Array, mean: jax.Array, log_scale: jax.Array) -> jax.Array:
    """log P(levels) under a logistic (mean, scale on the [-1, 1] pixel scale) discretised into 256 bins
    (Salimans et al. 2017, PixelCNN++): bin k covers [x - 1/255, x + 1/255] around x = k / 127.5 - 1, the
    end bins reach -inf / +inf, so the 256 probabilities sum to one. Summed per example -> [B]."""
    x = levels.astype(jnp.float32) / 127.5 - 1.0
    inv_s = jnp.exp(-log_scale)
    plus, minus = inv_s * (x - mean + 1.0 / 255.0), inv_s * (x - mean - 1.0 / 255.0)
    log_cdf_plus = jax.nn.log_sigmoid(plus)  # log sigma(plus): the lowest bin
    log_one_minus_cdf_minus = jax.nn.log_sigmoid(-minus)  # log (1 - sigma(minus)): the highest bin
    # log(sigma(plus) - sigma(minus)), stable: sigma(a) - sigma(b) = sigma(a)(1-sigma(b))(1 - e^{b-a}).
    log_mid = jax.nn.log_sigmoid(plus) + jax.nn.log_sigmoid(-minus) + jnp.log(-jnp.expm1(minus - plus))
    logp = jnp.where(levels == 0, log_cdf_plus, jnp.where(levels == 255, log_one_minus_cdf_minus, log_mid))
    return _sum_per_example(logp)


def gaussian_kl(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """KL(N(mean, diag exp(log_var)) || N(0, I)) in closed form, summed per example -> [B]."""
    return _sum_per_example(0.5 * (jnp.exp(log_var) + mean**2 - 1.0 - log_var))


def reparameterize(rng: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """z = mean + exp(log_var / 2) * eps, eps ~ N(0, I): a sample of q whose gradient flows to (mean, log_var)."""
    return mean + jnp.exp(0.5 * log_var) * jax.random.normal(rng, mean.shape, mean.dtype)


def importance_weighted_bound(log_weights: jax.Array) -> jax.Array:
    """log (1/K) sum_k w_k from log w [K, B] -> [B]: the IWAE bound (Burda et al. 2016) on log p(x)."""
    return jax.nn.logsumexp(log_weights, axis=0) - math.log(log_weights.shape[0])


def bits_per_dim(nll_nats: jax.Array, num_dims: int) -> jax.Array:
    """Nats per example -> bits per dimension: nll / (D ln 2)."""
    return nll_nats / (num_dims * math.log(2.0))


def dequantized_bits_per_dim(nll_nats: jax.Array, num_dims: int) -> jax.Array:
    """Bits/dim of the 8-bit data from the NLL (nats) of a density on `"continuous"` data in [0, 1)^D.

    Each 8-bit image k is a cube of volume 256^-D, so P(k) = 256^-D E_u[p((k + u) / 256)] and, by Jensen,
    -log P(k) <= E_u[-log p((k + u) / 256)] + D log 256: bits/dim = (nll + D ln 256) / (D ln 2), an upper
    bound on those of the discrete model P.
    """
    return (nll_nats + num_dims * LOG_256) / (num_dims * math.log(2.0))


def data_bits_per_dim(nll_nats, kind: str, num_dims: int):
    """Bits per dimension of the 8-bit images from an NLL (nats) in data space `kind`: `bits_per_dim` for
    "8bit", `dequantized_bits_per_dim` for "continuous"; None for "binary" (reported in nats only)."""
    if kind == "8bit":
        return bits_per_dim(nll_nats, num_dims)
    if kind == "continuous":
        return dequantized_bits_per_dim(nll_nats, num_dims)
    return None


def report(prefix: str, nll_nats: float, kind: str, num_dims: int) -> dict:
    """An evaluation's NLL per image in the literature's units: `{prefix}_nats` and, for 8-bit or dequantised
    data, `{prefix}_bpd` (`data_bits_per_dim`)."""
    bpd = data_bits_per_dim(nll_nats, kind, num_dims)
    return {f"{prefix}_nats": float(nll_nats), **({} if bpd is None else {f"{prefix}_bpd": float(bpd)})}
