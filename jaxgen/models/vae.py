"""Autoencoders and variational autoencoders (Kingma & Welling 2014, arXiv:1312.6114), MLP or convolutional.

VAE: ``q(z|x) = N(mu(x), diag exp(logvar(x)))``, prior ``N(0, I)``, decoder ``p(x|z)`` by data space:

* ``"binary"`` -> Bernoulli logits per pixel;
* ``"continuous"`` (dequantised [0, 1)) -> Gaussian with mean in [0, 1] (sigmoid) and ``cfg.decoder_scale``
  ``"fixed"`` (``exp(cfg.fixed_log_scale)``), ``"shared"`` (one learned scale, isotropic) or ``"diagonal"``
  (one learned scale per sub-pixel, independent of z);
* ``"8bit"`` -> a logistic per sub-pixel (mean, log-scale from the decoder) discretised into 256 bins.

The negative ELBO per image is ``-E_q[log p(x|z)] + KL(q(z|x) || p(z))``: one reparameterised sample of z
(``cfg.train_samples`` to average more) and the closed-form KL. ``log_likelihood(..., num_samples=K)`` is the
importance-weighted estimate ``log 1/K sum_k p(x, z_k) / q(z_k|x)`` (Burda et al. 2016); K = 1 is the ELBO
itself (a stochastic estimate of it).

``cfg.kind = "ae"``: a deterministic autoencoder, ``z = mu(x)``, trained on ``-log p(x|z)`` alone; it has no
density (``nll`` is the reconstruction loss, ``exact`` False, no ``log_likelihood``); its "samples" decode
``z ~ N(0, I)``.

``cfg.encoder = "linear"`` with data ``"continuous"`` and ``decoder_scale="shared"`` is the linear-Gaussian
VAE whose optimum is probabilistic PCA (Tipping & Bishop 1999; Lucas et al. 2019): both maps are affine.

Shapes: images ``[B, H, W, C]``; ``encode`` -> ``(mu, logvar)`` each ``[B, latent_dim]``; ``decode`` ->
decoder parameters ``[B, H, W, C, P]`` (P = 1 logit / mean, or 2 for mean and log-scale). The networks compute
in ``dtype`` (``config.dtype``; parameters float32) and return float32, so the bounds are float32.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.losses import likelihood as lik
from jaxgen.models.density import Density
from jaxgen.nn.upsample import ConvTranspose, StridedConv

KINDS = ("vae", "ae")
ENCODERS = ("mlp", "conv", "linear")
DECODER_SCALES = ("fixed", "shared", "diagonal")


def _check(cfg, image_shape) -> None:
    if cfg.kind not in KINDS:
        raise ConfigError(f"config key 'model.kind' must be one of {KINDS}, got {cfg.kind!r}")
    if cfg.encoder not in ENCODERS:
        raise ConfigError(f"config key 'model.encoder' must be one of {ENCODERS}, got {cfg.encoder!r}")
    if cfg.data not in lik.KINDS:
        raise ConfigError(f"config key 'model.data' must be one of {lik.KINDS}, got {cfg.data!r}")
    if cfg.decoder_scale not in DECODER_SCALES:
        raise ConfigError(f"config key 'model.decoder_scale' must be one of {DECODER_SCALES}, got {cfg.decoder_scale!r}")
    if cfg.latent_dim < 1 or cfg.train_samples < 1:
        raise ConfigError("config keys 'model.latent_dim' and 'model.train_samples' must be >= 1, got "
                          f"{cfg.latent_dim} and {cfg.train_samples}")
    factor = 2 ** len(cfg.widths)
    if cfg.encoder == "conv" and (image_shape[0] % factor or image_shape[1] % factor):
        raise ConfigError(f"a conv VAE with {len(cfg.widths)} stride-2 layers (model.widths={tuple(cfg.widths)}) "
                          f"needs H and W divisible by {factor}, got image shape {tuple(image_shape)}; "
                          f"pad the data (data.pad) or use model.encoder='mlp'")


def _num_params(data: str) -> int:
    return 2 if data == "8bit" else 1


def _inputs(x: jax.Array, data: str) -> jax.Array:
    """The encoder's view of data-space x: values in [-1, 1]."""
    return lik.to_images(x, data)


class Encoder(nn.Module):
    """x [B, H, W, C] in [-1, 1] -> (mu, logvar) [B, latent_dim]."""

    kind: str
    latent_dim: int
    hidden: tuple[int, ...]
    widths: tuple[int, ...]
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        h = x
        if self.kind == "conv":
            for w in self.widths:
                h = nn.relu(StridedConv(w, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), dtype=self.dtype)(h))
        h = h.reshape(h.shape[0], -1)
        if self.kind != "linear":
            for w in self.hidden:
                h = nn.relu(nn.Dense(w, dtype=self.dtype)(h))
        out = nn.Dense(2 * self.latent_dim, dtype=self.dtype)(h).astype(jnp.float32)
        return out[:, : self.latent_dim], out[:, self.latent_dim:]


class Decoder(nn.Module):
    """z [B, latent_dim] -> decoder parameters [B, H, W, C, P]."""

    kind: str
    image_shape: tuple[int, int, int]
    num_params: int
    hidden: tuple[int, ...]
    widths: tuple[int, ...]
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z):
        h, w, c = self.image_shape
        p = self.num_params
        x = z
        if self.kind != "linear":
            for width in reversed(self.hidden):
                x = nn.relu(nn.Dense(width, dtype=self.dtype)(x))
        if self.kind != "conv":
            return nn.Dense(h * w * c * p, dtype=self.dtype)(x).astype(jnp.float32).reshape(-1, h, w, c, p)
        factor = 2 ** len(self.widths)
        x = nn.relu(nn.Dense((h // factor) * (w // factor) * self.widths[-1], dtype=self.dtype)(x))
        x = x.reshape(-1, h // factor, w // factor, self.widths[-1])
        for i, width in enumerate(reversed(self.widths)):
            last = i == len(self.widths) - 1
            x = ConvTranspose(c * p if last else self.widths[-2 - i], (4, 4), strides=(2, 2), padding="SAME",
                              dtype=self.dtype)(x)
            x = x if last else nn.relu(x)
        return x.astype(jnp.float32).reshape(-1, h, w, c, p)


class VAE(nn.Module):
    """Encoder, decoder and the decoder's learned log-scale (Gaussian decoders); see the module docstring."""

    cfg: ml_collections.ConfigDict
    image_shape: tuple[int, int, int]
    dtype: Any = jnp.float32  # the networks' computation dtype

    def setup(self):
        cfg = self.cfg
        self.encoder = Encoder(cfg.encoder, cfg.latent_dim, tuple(cfg.hidden), tuple(cfg.widths), self.dtype)
        self.decoder = Decoder(cfg.encoder, self.image_shape, _num_params(cfg.data), tuple(cfg.hidden),
                               tuple(cfg.widths), self.dtype)
        shape = {"fixed": None, "shared": (), "diagonal": self.image_shape}[cfg.decoder_scale]
        if cfg.data == "continuous" and shape is not None:
            self.log_scale = self.param("log_scale", nn.initializers.constant(cfg.fixed_log_scale), shape)

    def encode(self, x):
        return self.encoder(_inputs(x, self.cfg.data))

    def decode(self, z):
        return self.decoder(z)

    def log_px_given_z(self, params, x):
        """log p(x | z) [B] from decoder parameters [B, H, W, C, P]."""
        data = self.cfg.data
        if data == "binary":
            return lik.bernoulli_log_prob(params[..., 0], x)
        if data == "8bit":
            return lik.discretized_logistic_log_prob(x, params[..., 0], jnp.maximum(params[..., 1], -7.0))
        log_scale = self.log_scale if self.cfg.decoder_scale != "fixed" else self.cfg.fixed_log_scale
        mean = nn.sigmoid(params[..., 0]) if self.cfg.encoder != "linear" else params[..., 0]
        return lik.gaussian_log_prob(x, mean, jnp.broadcast_to(log_scale, mean.shape))

    def mode(self, params):
        """The most likely data-space x for decoder parameters [B, H, W, C, P] (grids, reconstructions)."""
        data = self.cfg.data
        if data == "binary":
            return (params[..., 0] > 0).astype(jnp.float32)
        if data == "8bit":
            return lik.to_levels(jnp.clip(params[..., 0], -1.0, 1.0))
        return jnp.clip(nn.sigmoid(params[..., 0]) if self.cfg.encoder != "linear" else params[..., 0], 0.0, 1.0)

    def __call__(self, x):  # for init: touches every parameter
        mu, _ = self.encode(x)
        return self.log_px_given_z(self.decode(mu), x)


def density(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> Density:
    """The (V)AE of `cfg` on images of `image_shape` as a `Density` (unconditional: labels are ignored), its
    networks computing in `dtype`."""
    del num_classes
    image_shape = tuple(int(s) for s in image_shape)
    _check(cfg, image_shape)
    model = VAE(cfg, image_shape, dtype)
    is_vae = cfg.kind == "vae"

    def init(rng, x, labels=None):
        return model.init(rng, x)["params"]

    def log_weights(params, x, rng, num_samples):
        """log p(x, z_k) - log q(z_k | x) for z_k ~ q, [K, B]; and KL [B]."""
        mu, logvar = model.apply({"params": params}, x, method=VAE.encode)
        eps = jax.random.normal(rng, (num_samples, *mu.shape), mu.dtype)
        z = mu + jnp.exp(0.5 * logvar) * eps
        dec = model.apply({"params": params}, z.reshape(-1, mu.shape[-1]), method=VAE.decode)
        rep = jnp.broadcast_to(x, (num_samples, *x.shape)).reshape(-1, *x.shape[1:])
        log_px = model.apply({"params": params}, dec, rep, method=VAE.log_px_given_z).reshape(num_samples, -1)
        log_pz = jnp.sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi), axis=-1)
        log_qz = jnp.sum(-0.5 * eps**2 - 0.5 * logvar - 0.5 * math.log(2 * math.pi), axis=-1)
        return log_px + log_pz - log_qz, log_px, lik.gaussian_kl(mu, logvar)

    def nll(params, x, rng, labels=None):
        if not is_vae:
            mu, _ = model.apply({"params": params}, x, method=VAE.encode)
            dec = model.apply({"params": params}, mu, method=VAE.decode)
            rec = -model.apply({"params": params}, dec, x, method=VAE.log_px_given_z)
            return rec, {"reconstruction": rec}
        _, log_px, kl = log_weights(params, x, rng, cfg.train_samples)
        rec = -jnp.mean(log_px, axis=0)
        return rec + kl, {"reconstruction": rec, "kl": kl}

    def log_likelihood(params, x, rng, labels=None, num_samples=1, chunk=50):
        """IWAE estimate of log p(x) [B] with `num_samples` samples, `chunk` samples at a time."""
        chunks = -(-num_samples // chunk)
        sizes = [chunk] * (chunks - 1) + [num_samples - chunk * (chunks - 1)]

        def body(carry, key):
            lw, _, _ = log_weights(params, x, key, chunk)
            return jnp.logaddexp(carry, jax.nn.logsumexp(lw, axis=0)), None

        keys = jax.random.split(rng, chunks)
        total = jnp.full((x.shape[0],), -jnp.inf)
        if chunks > 1:
            total, _ = jax.lax.scan(body, total, keys[:-1])
        lw, _, _ = log_weights(params, x, keys[-1], sizes[-1])
        total = jnp.logaddexp(total, jax.nn.logsumexp(lw, axis=0))
        return total - math.log(num_samples)

    def sample(params, rng, n, labels=None):
        z = jax.random.normal(rng, (n, cfg.latent_dim))
        dec = model.apply({"params": params}, z, method=VAE.decode)
        return model.apply({"params": params}, dec, method=VAE.mode)

    return Density(data=cfg.data, exact=False, init=init, nll=nll, sample=sample,
                   log_likelihood=log_likelihood if is_vae else None, is_density=is_vae, module=model)


def encode(cfg, image_shape, params, x):
    """(mu, logvar) [B, latent_dim] of data-space x (latent maps, interpolations)."""
    return VAE(cfg, tuple(image_shape)).apply({"params": params}, x, method=VAE.encode)


def decode(cfg, image_shape, params, z):
    """The most likely data-space x [B, H, W, C] decoded from z [B, latent_dim]."""
    model = VAE(cfg, tuple(image_shape))
    dec = model.apply({"params": params}, jnp.asarray(z, jnp.float32), method=VAE.decode)
    return model.apply({"params": params}, dec, method=VAE.mode)


def latent_grid(n: int, extent: float = 0.95) -> np.ndarray:
    """[n * n, 2] points of the 2-D latent manifold figure: the standard normal's quantiles on a grid of
    probabilities from 1 - extent to extent (Kingma & Welling 2014, Fig. 4)."""
    q = np.asarray(jax.scipy.special.ndtri(jnp.linspace(1 - extent, extent, n)))
    return np.stack(np.meshgrid(q, q[::-1]), -1).reshape(-1, 2).astype(np.float32)
