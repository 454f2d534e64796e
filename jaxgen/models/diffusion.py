"""Denoising diffusion (Ho, Jain & Abbeel 2020, DDPM; Song, Meng & Ermon 2021, DDIM) as a `Density` of the
likelihood trainer: an ε-prediction U-Net trained on L_simple, scored by the variational bound in nats.

The U-Net (Ho et al. appendix B, PixelCNN++-style, at any widths): a 3x3 conv stem, then per resolution level
``num_res_blocks`` residual blocks (`jaxgen.nn.GroupNorm` with `norm_groups` groups, swish, 3x3 conv, + the time
embedding, GroupNorm, swish, dropout, 3x3 conv) with single-head self-attention after each block where the side is
<= ``attention_below``, a stride-2 conv down between levels; a middle of block, attention, block; the mirror path up (nearest x2 + 3x3 conv) taking
every skip; GroupNorm, swish and a zero-initialised 3x3 conv to ε [B, H, W, C]. The time embedding is the
sinusoidal embedding of t (width ``width``) through Dense(4 width), swish, Dense(4 width); with
``conditional=True`` a learned class embedding [num_classes, 4 width] is added to it.

The `Density` (data space "8bit": x_0 = level / 127.5 - 1):

* ``loss``: L_simple, ||ε - ε_θ(x_t, t)||² averaged over pixels, t uniform in 1..T (what training minimises);
* ``nll``: the variational bound (`jaxgen.losses.diffusion`) in nats per image, ``model.eval_bound``:
  ``"sampled"`` (reported as ``vlb_sampled``) = L_T + L_0 + (T - 1) L_{t-1} at one t uniform in 2..T per image,
  an unbiased estimate of the bound from two network passes; ``"full"`` (``vlb``) = the sum of all T terms, T
  passes (each at one draw x_t ~ q(x_t | x_0), as the bound's expectation is estimated in Ho et al.);
* ``sample``: ``model.sampler`` ``"ddpm"`` (ancestral, σ_t² = β_t or β̃_t by ``model.variance``) or ``"ddim"``
  (η = ``model.eta``), over ``model.sample_steps`` evenly strided steps (0 = all T), as one `lax.scan`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.losses import diffusion as dl
from jaxgen.losses import likelihood as lik
from jaxgen.models.density import Density
from jaxgen.nn.norms import GroupNorm
from jaxgen.nn.upsample import StridedConv

__all__ = ["UNet", "density", "model", "norm_groups", "sampler", "timestep_embedding"]


def timestep_embedding(t: jax.Array, dim: int) -> jax.Array:
    """The transformer's sinusoidal embedding of t [B] (float or int) -> [B, dim]: sin and cos of t / 10000^(i/half)."""
    half = dim // 2
    freqs = jnp.exp(-math.log(10000.0) * jnp.arange(half, dtype=jnp.float32) / max(half - 1, 1))
    args = t.astype(jnp.float32)[:, None] * freqs[None]
    emb = jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)
    return jnp.pad(emb, ((0, 0), (0, dim - 2 * half)))


def norm_groups(channels: int) -> int:
    """GroupNorm's group count for C channels: the most groups up to 32 (Ho et al.'s count) with >= 4 channels each
    (what 32 groups give at the paper's width 128). 32 groups of a narrow U-Net would hold 1-2 channels each and
    act as instance norm, which erases each channel's spatial mean, i.e. the image's global colour."""
    return max(g for g in range(1, 33) if channels % g == 0 and channels // g >= min(4, channels))


def _norm(channels: int, dtype) -> GroupNorm:
    return GroupNorm(num_groups=norm_groups(channels), dtype=dtype)  # flax's numbers and parameters, faster on CPU


class ResBlock(nn.Module):
    """x [B, H, W, Cin], temb [B, E] -> [B, H, W, features]."""

    features: int
    dropout: float = 0.0
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, temb, train: bool):
        h = nn.Conv(self.features, (3, 3), dtype=self.dtype)(nn.swish(_norm(x.shape[-1], self.dtype)(x)))
        h = h + nn.Dense(self.features, dtype=self.dtype)(nn.swish(temb))[:, None, None, :]
        h = nn.swish(_norm(self.features, self.dtype)(h))
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        h = nn.Conv(self.features, (3, 3), dtype=self.dtype)(h)
        if x.shape[-1] != self.features:
            x = nn.Dense(self.features, dtype=self.dtype, name="skip")(x)
        return x + h


class Attention(nn.Module):
    """Single-head self-attention over the H * W positions with a residual: [B, H, W, C] -> same."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        b, h, w, c = x.shape
        qkv = nn.Dense(3 * c, dtype=self.dtype)(_norm(c, self.dtype)(x)).reshape(b, h * w, 3, c)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        weights = jax.nn.softmax(jnp.einsum("bic,bjc->bij", q, k) / math.sqrt(c), axis=-1)
        out = jnp.einsum("bij,bjc->bic", weights, v).reshape(b, h, w, c)
        return x + nn.Dense(c, dtype=self.dtype, name="proj")(out)


class UNet(nn.Module):
    """ε_θ(x_t, t, labels): x [B, H, W, C] float, t int [B] in 1..T, labels int [B] or None -> ε [B, H, W, C]
    (float32). See the module docstring."""

    channels: int
    width: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_below: int = 16
    dropout: float = 0.0
    num_classes: int | None = None
    dtype: jnp.dtype = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, t, labels=None, train: bool = False):
        block_cls = nn.remat(ResBlock, static_argnums=(3,)) if self.remat else ResBlock
        dt = self.dtype

        def block(features, h, name):
            return block_cls(features, self.dropout, dt, name=name)(h, temb, train)

        temb = timestep_embedding(t, self.width)
        temb = nn.Dense(4 * self.width, dtype=dt, name="temb0")(temb)
        temb = nn.Dense(4 * self.width, dtype=dt, name="temb1")(nn.swish(temb))
        if self.num_classes is not None:
            temb = temb + nn.Embed(self.num_classes, 4 * self.width, dtype=dt, name="label_embed")(labels)

        def attend(h, name):
            return Attention(dt, name=name)(h) if max(h.shape[1], h.shape[2]) <= self.attention_below else h

        h = nn.Conv(self.width, (3, 3), dtype=dt, name="stem")(x.astype(dt))
        skips = [h]
        for level, mult in enumerate(self.channel_mult):
            for i in range(self.num_res_blocks):
                h = attend(block(self.width * mult, h, f"down{level}_{i}"), f"down{level}_attn{i}")
                skips.append(h)
            if level < len(self.channel_mult) - 1:
                h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2), dtype=dt, name=f"downsample{level}")(h)
                skips.append(h)
        h = block(h.shape[-1], h, "mid0")
        h = Attention(dt, name="mid_attn")(h)
        h = block(h.shape[-1], h, "mid1")
        for level in reversed(range(len(self.channel_mult))):
            for i in range(self.num_res_blocks + 1):
                h = jnp.concatenate([h, skips.pop()], axis=-1)
                h = attend(block(self.width * self.channel_mult[level], h, f"up{level}_{i}"), f"up{level}_attn{i}")
            if level > 0:
                h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)  # nearest x2
                h = nn.Conv(h.shape[-1], (3, 3), dtype=dt, name=f"upsample{level}")(h)
        h = nn.swish(_norm(h.shape[-1], dt)(h))
        out = StridedConv(self.channels, (3, 3), dtype=dt, kernel_init=nn.initializers.zeros, name="out")(h)
        return out.astype(jnp.float32)


def _get(cfg, key):
    return cfg[key] if key in cfg else model_defaults.diffusion()[key]


def model(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> UNet:
    """The U-Net of ``cfg`` for images ``(H, W, C)``; ``num_classes`` is used iff ``cfg.conditional``."""
    h, w, c = (int(s) for s in image_shape)
    mult = tuple(int(m) for m in _get(cfg, "channel_mult"))
    width = int(_get(cfg, "width"))
    if width < 1 or not mult or min(mult) < 1:
        raise ConfigError(f"model.width={width} and model.channel_mult={mult} must be positive (and the mult non-empty)")
    factor = 2 ** (len(mult) - 1)
    if h % factor or w % factor:
        raise ConfigError(f"model.channel_mult={mult} down-samples {len(mult) - 1} times, so the image sides must be "
                          f"multiples of {factor}; the data is {h}x{w}: use fewer levels or data.pad / data.image_size")
    classes = None
    if _get(cfg, "conditional"):
        if num_classes is None:
            raise ConfigError("model.conditional=True needs class labels, but the data has none; use labelled data "
                              "or model.conditional=False")
        classes = int(num_classes)
    return UNet(channels=c, width=width, channel_mult=mult, num_res_blocks=int(_get(cfg, "num_res_blocks")),
                attention_below=int(_get(cfg, "attention_below")), dropout=float(_get(cfg, "dropout")),
                num_classes=classes, dtype=dtype, remat=remat)


def _schedule(cfg) -> dl.Schedule:
    get = lambda key: _get(cfg, key)  # noqa: E731
    steps = int(get("num_timesteps"))
    if steps < 2:
        raise ConfigError(f"model.num_timesteps={steps} must be at least 2")
    if get("schedule") not in dl.SCHEDULES:
        raise ConfigError(f"model.schedule={get('schedule')!r} is not a beta schedule; known: {', '.join(dl.SCHEDULES)}")
    if get("variance") not in dl.VARIANCES:
        raise ConfigError(f"model.variance={get('variance')!r} is not a reverse variance; known: "
                          f"{', '.join(dl.VARIANCES)}")
    return dl.schedule(get("schedule"), steps, get("variance"))


def sampler(cfg, net: UNet, sched: dl.Schedule) -> Callable:
    """``run(params, x_T, rng, labels, trajectory=False) -> x_0`` (float, [-1, 1] scale), or ``(x_0, xs)`` with xs
    [S, n, H, W, C] the iterate after each of the S steps when `trajectory`: `model.sampler` over the strided steps
    (`jaxgen.losses.diffusion.strided_steps`) in one `lax.scan`."""
    kind, eta = _get(cfg, "sampler"), float(_get(cfg, "eta"))
    if kind not in ("ddpm", "ddim"):
        raise ConfigError(f"model.sampler={kind!r} is not a sampler; known: ddpm, ddim")
    total = sched.num_steps
    steps = int(_get(cfg, "sample_steps")) or total
    if not 1 <= steps <= total:
        raise ConfigError(f"model.sample_steps={steps} must be in 0..{total} (0 = all model.num_timesteps)")
    if kind == "ddpm" and steps != total:
        raise ConfigError(f"model.sampler='ddpm' takes every one of the {total} steps; set model.sample_steps=0 or "
                          f"use model.sampler='ddim' for {steps} steps")
    if eta < 0:
        raise ConfigError(f"model.eta={eta} must be >= 0")
    ts = jnp.asarray(dl.strided_steps(total, steps))
    prev = jnp.append(ts[1:], 0)

    def run(params, x_t, rng, labels=None, trajectory=False):
        n = x_t.shape[0]

        def body(x, inputs):
            t, t_prev, key = inputs
            tb, pb = jnp.full((n,), t, jnp.int32), jnp.full((n,), t_prev, jnp.int32)
            eps = net.apply({"params": params}, x, tb, labels)
            z = jax.random.normal(key, x.shape, x.dtype)
            x = dl.ddpm_step(sched, x, tb, eps, z) if kind == "ddpm" else dl.ddim_step(sched, x, tb, pb, eps, z, eta)
            return x, (x if trajectory else None)

        x, xs = jax.lax.scan(body, x_t, (ts, prev, jax.random.split(rng, ts.shape[0])))
        return (x, xs) if trajectory else x

    return run


def density(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> Density:
    """DDPM of ``cfg`` on ``image_shape`` as a `Density` (see the module docstring and :func:`model`)."""
    if _get(cfg, "data") != "8bit":
        raise ConfigError(f"model.data={_get(cfg, 'data')!r}: the diffusion model's bound is on 8-bit data (its "
                          f"discretised Gaussian decoder); set model.data='8bit'")
    net = model(cfg, image_shape, num_classes, dtype=dtype, remat=remat)
    sched = _schedule(cfg)
    total = sched.num_steps
    bound = _get(cfg, "eval_bound")
    if bound not in ("sampled", "full"):
        raise ConfigError(f"model.eval_bound={bound!r} is not a bound; known: sampled (one t per image), full (all T)")
    run = sampler(cfg, net, sched)

    def eps_of(params, x_t, t, labels, rng=None):
        train = rng is not None
        return net.apply({"params": params}, x_t, t, labels, train=train, rngs={"dropout": rng} if train else {})

    def init(rng, x, labels=None):
        x0 = x.astype(jnp.float32) / 127.5 - 1.0
        return net.init(rng, x0, jnp.ones((x.shape[0],), jnp.int32), labels)["params"]

    def loss(params, x, rng, labels=None):
        k_t, k_noise, k_drop = jax.random.split(rng, 3)
        x0 = x.astype(jnp.float32) / 127.5 - 1.0
        t = jax.random.randint(k_t, (x.shape[0],), 1, total + 1)
        noise = jax.random.normal(k_noise, x0.shape)
        mse = dl.simple_loss(eps_of(params, dl.q_sample(sched, x0, t, noise), t, labels, k_drop), noise)
        return mse, {"mse": mse}

    def term_at(params, x, t, key, labels):
        x0 = x.astype(jnp.float32) / 127.5 - 1.0
        x_t = dl.q_sample(sched, x0, t, jax.random.normal(key, x0.shape))
        return dl.term(sched, x, x_t, t, eps_of(params, x_t, t, labels))

    def nll(params, x, rng, labels=None):
        b = x.shape[0]
        prior = dl.prior_kl(sched, x.astype(jnp.float32) / 127.5 - 1.0)
        if bound == "full":
            def body(total_kl, inputs):
                t, key = inputs
                return total_kl + term_at(params, x, jnp.full((b,), t, jnp.int32), key, labels), None

            keys = jax.random.split(rng, total - 1)
            diffusion, _ = jax.lax.scan(body, jnp.zeros((b,)), (jnp.arange(2, total + 1), keys))
            k_dec = jax.random.fold_in(rng, total)
        else:
            k_t, k_x, k_dec = jax.random.split(rng, 3)
            t = jax.random.randint(k_t, (b,), 2, total + 1)
            diffusion = (total - 1) * term_at(params, x, t, k_x, labels)
        decoder = term_at(params, x, jnp.ones((b,), jnp.int32), k_dec, labels)
        return prior + diffusion + decoder, {"prior": prior, "diffusion": diffusion, "decoder": decoder}

    def sample(params, rng, n, labels=None):
        k_x, k_run = jax.random.split(rng)
        x_T = jax.random.normal(k_x, (n, *image_shape))
        return lik.to_levels(run(params, x_T, k_run, labels))

    return Density(data="8bit", exact=False, init=init, nll=nll, sample=sample, module=net, loss=loss,
                   bound="vlb" if bound == "full" else "vlb_sampled")
