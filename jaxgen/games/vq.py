"""VQ-VAE (van den Oord et al. 2017) and VQ-GAN (Esser et al. 2021): an autoencoding game of the adversarial trainer,
then a prior over its codes, as stages of one run in one workdir.

Players (group "g", `optimizer.g`): ``autoencoder`` (:class:`jaxgen.models.vqvae.VQAutoencoder`: encoder, quantiser
with its EMA codebook in the model state ``"vq"``, decoder) and ``prior`` (over the code grid ``[H/4, W/4]`` of
ints ``0..K-1``: the Gated PixelCNN of :mod:`jaxgen.models.gated_pixelcnn` with ``data="codes"``, or the decoder-only
transformer of :mod:`jaxgen.models.transformer`, `model.prior`; class-conditional with `model.conditional`).
VQ-GAN adds the critic ``d`` (group "d", `optimizer.d`): the PatchGAN of :mod:`jaxgen.nn.patchgan` without
normalisation.

Stages (steps; `model.disc_start` -1 for VQ-VAE, `model.prior_from` -1 for the autoencoder alone):

* autoencoder (from 0): G's extra terms ``rec`` (mean squared error, or L1 with ``model.rec_loss="l1"``, on [-1, 1]
  images), ``commitment`` ``mean |z - sg(e)|^2`` (weight beta = 0.25), ``codebook`` ``mean |sg(z) - e|^2``
  (0 under the EMA update: the codebook then moves by the EMA), ``scale`` (the decoder likelihood's scale, fitted
  with the reconstruction held fixed: it changes nothing else), ``perceptual`` (VQ-GAN: LPIPS with uniform
  weights on `model.vgg_layers` of the embedded VGG-16, :func:`jaxgen.losses.perceptual.normalized_distance`, in
  place of Esser et al.'s learned LPIPS; weight 0 for VQ-VAE), and ``perplexity``, ``usage`` (weight 0:
  metrics). The EMA codebook and dead-code restarts update in G's phase only.
* critic (from `model.disc_start`, VQ-GAN): D's objective `loss.objective` (hinge) on real images against
  reconstructions; G's term ``gan`` = ``lambda * g_objective(D(x_hat))`` with Esser et al.'s adaptive weight
  ``lambda = sg(|grad_W L_rec| / (|grad_W L_gan| + 1e-4))``, clipped to [0, 1e4], ``W`` the decoder's last kernel and
  ``L_rec`` the ``rec`` and weighted ``perceptual`` terms (:func:`adaptive_weight`; reported as
  ``adaptive_weight``). G's objective itself is not used (no ``outs``).
* prior (from `model.prior_from`): the autoencoder frozen (its parameters under ``stop_gradient``, its codebook
  read, not updated), the prior trained on the batch's codes: ``prior`` = NLL in nats per code. ``begin_stage``
  zeroes both optimizer groups' states (optax's initial Adam state), so the frozen players get exactly zero
  updates; the prior, which got zero gradients before, starts fresh.

Samples: in the prior's stage, codes from the prior (exact ancestral sampling, `model.top_k`) decoded; before it,
reconstructions of the test split's first images: pairs (real, reconstruction) in a row.

Evaluation (`game.evaluator`, `eval.every` > 0), on `eval.split`: ``rec_mse_<split>`` (on [-1, 1] images),
``rec_psnr_<split>`` (dB, peak 2), ``code_perplexity_<split>`` and ``code_usage_<split>`` of the split's codes, and
the two-stage bound ``bpd_bound_<split>``: ``-log p(x) <= -log p_prior(z(x)) - log p(x | z(x))`` (one term of the sum
over z), in bits per dimension of the 8-bit images, ``p(x | z)`` a logistic of mean ``x_hat`` and the learned
scale discretised into the 256 levels (:func:`jaxgen.losses.likelihood.discretized_logistic_log_prob`). With
``rfid`` / ``rkid`` in `eval.metrics` also the reconstruction FID and KID (Esser et al.'s rFID): the split's
reconstructions (clipped to [-1, 1]) scored against the split itself on `eval.features`, as
:func:`jaxgen.metrics.evaluate.evaluate` scores samples, named ``rfid<N>_<split>_<features>`` and
``rkid<N>_<split>_<features>`` (N the split's size).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data import pipeline
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game
from jaxgen.losses import gan as gan_losses
from jaxgen.losses import likelihood, perceptual
from jaxgen.metrics import evaluate, image_quality
from jaxgen.models import autoregressive as ar
from jaxgen.models import vqvae
from jaxgen.models.gated_pixelcnn import GatedPixelCNN
from jaxgen.nn import quantizer

PRIORS = ("gated_pixelcnn", "transformer")
REC_LOSSES = ("mse", "l1")
METRICS = ("rec_mse", "rec_psnr", "code_perplexity", "code_usage", "bpd_bound", "rfid", "rkid")  # eval.metrics
LAMBDA_MAX = 1e4  # Esser et al.'s clip of the adaptive weight
DELTA = 1e-4  # ... and its delta


def adaptive_weight(rec_grad, gan_grad):
    """``sg(|rec_grad| / (|gan_grad| + 1e-4))`` clipped to [0, 1e4]: Esser et al.'s lambda from the gradients of the
    reconstruction and GAN losses w.r.t. the decoder's last layer."""
    lam = jnp.linalg.norm(rec_grad.ravel()) / (jnp.linalg.norm(gan_grad.ravel()) + DELTA)
    return jax.lax.stop_gradient(jnp.clip(lam, 0.0, LAMBDA_MAX))


def parse_metrics(metrics: str) -> tuple[str, ...]:
    """The names of a comma-separated `eval.metrics` (empty: none), each one of `METRICS`; a ConfigError names
    the unknown ones. The evaluator reports the reconstruction, code and bound metrics whichever are named
    (they come from one pass over the split); rFID/rKID only when named, as they need a feature network."""
    chosen = tuple(m.strip() for m in str(metrics).split(",") if m.strip())
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise ConfigError(f"config key 'eval.metrics': unknown metric(s) {', '.join(map(repr, unknown))} for the vq "
                          f"game; choose from {', '.join(METRICS)}")
    return chosen


def _stage_starts(prior_from: int, disc_start: int) -> tuple[int, ...]:
    if prior_from < -1 or prior_from == 0:
        raise ConfigError(f"config key 'model.prior_from' must be -1 (no prior) or the step > 0 at which the prior "
                          f"starts, got {prior_from}")
    if disc_start < -1 or (prior_from > 0 and disc_start >= prior_from):
        raise ConfigError(f"config key 'model.disc_start' must be -1 (no critic: VQ-VAE) or a step before "
                          f"model.prior_from={prior_from}, got {disc_start}")
    return tuple(sorted({0, *(s for s in (disc_start, prior_from) if s > 0)}))


class VQ(Game):
    options = ("dtype",)

    def __init__(self, config, info: dict, mesh):
        del mesh
        cfg = self.cfg = config.model
        self.config = config
        self.image_shape = tuple(info["image_shape"])
        if len(self.image_shape) != 3:
            raise ConfigError(f"the vq game needs images [H, W, C], got {self.image_shape} (data.name)")
        self.grid = vqvae.code_shape(self.image_shape)
        self.num_codes = int(cfg.num_codes)
        if cfg.rec_loss not in REC_LOSSES:
            raise ConfigError(f"config key 'model.rec_loss' must be one of {REC_LOSSES}, got {cfg.rec_loss!r}")
        if cfg.prior not in PRIORS:
            raise ConfigError(f"config key 'model.prior' must be one of {PRIORS}, got {cfg.prior!r}")
        if int(cfg.top_k) < 0:
            raise ConfigError(f"config key 'model.top_k' must be >= 0 (0: sample from every code), got {cfg.top_k}")
        self.metrics = parse_metrics(config.eval.get("metrics", ""))
        prior_from, disc_start = int(cfg.prior_from), int(cfg.disc_start)
        self.stage_starts = _stage_starts(prior_from, disc_start)
        self.prior_stage = self.stage_starts.index(prior_from) if prior_from > 0 else None
        self.disc_stage = None if disc_start < 0 else self.stage_starts.index(max(disc_start, 0))
        self.num_classes = None
        if cfg.conditional:
            if not info.get("num_classes"):
                raise ConfigError("model.conditional=True needs class labels, but the data has none; use labelled "
                                  "data or model.conditional=False")
            self.num_classes = int(info["num_classes"])
        self.batch_keys = ("image", "label") if self.num_classes else ("image",)
        weights = {**game_defaults.WEIGHTS["vq"], **dict(config.loss.get("weights") or {})}
        self.perceptual_weight = float(weights["perceptual"])
        self.modules = {"autoencoder": accelerator.network(vqvae.autoencoder, config, cfg, self.image_shape),
                        "prior": self._prior()}
        self.g_players, self.d_players = ("autoencoder", "prior"), ()
        if self.disc_stage is not None:
            from jaxgen.nn import patchgan

            self.modules["d"] = patchgan.sized(self.image_shape[0], int(cfg.d_layers), int(cfg.d_width), "none")
            self.d_players = ("d",)
            self.g_objective = gan_losses.g_loss_fn(config.loss.objective)
        self.features = self._features() if self.perceptual_weight > 0 else None

    weights = game_defaults.WEIGHTS["vq"]

    def _prior(self):
        cfg = self.cfg
        if cfg.prior == "transformer":
            from jaxgen.models import transformer

            return transformer.prior(cfg, self.grid, self.num_codes, self.num_classes)
        k = int(cfg.prior_kernel)
        if k < 3 or k % 2 == 0:
            raise ConfigError(f"config key 'model.prior_kernel' must be odd and >= 3, got {k}")
        return GatedPixelCNN(data="codes", levels=self.num_codes, channels=1, head_features=2 * int(cfg.prior_width),
                             num_classes=self.num_classes, features=int(cfg.prior_width),
                             layers=int(cfg.prior_layers), kernel_size=k)

    def _features(self):
        from jaxgen.nn import vgg

        layers = tuple(self.cfg.vgg_layers)
        unknown = [name for name in layers if name not in vgg.layer_names(16)]
        if unknown:
            raise ConfigError(f"config key 'model.vgg_layers' has {unknown[0]!r}, not a layer of VGG-16; e.g. "
                              f"relu1_2, relu2_2, relu3_3, relu4_3")
        module, variables = vgg.load_vgg(16, "hed", outputs=layers)

        def rgb(x):  # grey images as three equal channels
            return jnp.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x

        return lambda x, y: jnp.mean(perceptual.normalized_distance(module.apply(variables, rgb(x)),
                                                                    module.apply(variables, rgb(y))))

    # -- players ----------------------------------------------------------------------------------------------
    def init(self, rng):
        ka, kp, kd = jax.random.split(rng, 3)
        h, w, c = self.image_shape
        ae = dict(self.modules["autoencoder"].init(ka, jnp.zeros((2, h, w, c)), train=False))
        labels = jnp.zeros((2,), jnp.int32) if self.num_classes else None
        prior = self.modules["prior"].init(kp, jnp.zeros((2, *self.grid, 1), jnp.int32), labels)
        params, state = {"autoencoder": ae.pop("params"), "prior": prior["params"]}, {"autoencoder": ae, "prior": {}}
        if "d" in self.modules:
            d = dict(self.modules["d"].init(kd, jnp.zeros((2, h, w, c)), train=False))
            params["d"], state["d"] = d.pop("params"), d
        return params, state

    def _ae(self, players, method, *args):
        """The autoencoder's `method` (None: ``__call__``) with the players' parameters and model state, read only."""
        variables = {"params": players.params["autoencoder"], **players.model_state["autoencoder"]}
        return self.modules["autoencoder"].apply(variables, *args, method=method)

    def prior_logits(self, params, codes, labels):
        """The prior's logits ``[N, h, w, 1, K]`` for codes ``[N, h, w]``."""
        return self.modules["prior"].apply({"params": params}, codes[..., None], labels)

    def prior_nll(self, params, codes, labels):
        """``-log p_prior(codes)`` in nats per grid ``[N]``."""
        return -likelihood.categorical_log_prob(self.prior_logits(params, codes, labels), codes[..., None])

    def decoder_nll(self, log_scale, x_hat, images):
        """``-log p(x | z)`` in nats per image ``[N]``: the discretised logistic of mean x_hat (module docstring)."""
        return -likelihood.discretized_logistic_log_prob(likelihood.to_levels(images), x_hat, log_scale)

    def _rec(self, x_hat, x):
        err = x_hat - x
        return jnp.mean(jnp.abs(err)) if self.cfg.rec_loss == "l1" else jnp.mean(jnp.square(err))

    def _rec_total(self, x_hat, x):
        """``L_rec`` of the adaptive weight: ``rec`` plus the weighted perceptual term."""
        loss = self._rec(x_hat, x)
        return loss + self.perceptual_weight * self.features(x_hat, x) if self.features is not None else loss

    # -- phases -----------------------------------------------------------------------------------------------
    def critic_on(self, stage: int) -> bool:
        return self.disc_stage is not None and self.disc_stage <= stage and not self.prior_on(stage)

    def prior_on(self, stage: int) -> bool:
        return self.prior_stage is not None and stage >= self.prior_stage

    def d_inputs(self, players, batch, key):
        if not self.critic_on(players.stage):
            return {}
        x = batch["image"]
        return {"real": x, "fake": players("autoencoder", x, rng=key, train=False)[0]}

    def d_terms(self, players, inputs, keys):
        if not self.critic_on(players.stage):
            return {}, {}
        kr, kf = keys
        return {"d": (players("d", inputs["real"], rng=kr), players("d", inputs["fake"], rng=kf))}, {}

    def critics(self, players, inputs, key):
        if not self.critic_on(players.stage):
            return {}
        return {"d": (lambda x: jnp.mean(players("d", x, rng=key, update=False), axis=(1, 2)), inputs["real"],
                      inputs["fake"])}

    def g_inputs(self, players, batch, keys):
        return {k: batch[k] for k in self.batch_keys}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        x = inputs["image"]
        if self.prior_on(players.stage):
            frozen = players.frozen("autoencoder")
            codes = self._ae(frozen, "encode", x)
            nll = self.prior_nll(players.params["prior"], codes, inputs.get("label"))
            return {}, {"prior": jnp.mean(nll) / (self.grid[0] * self.grid[1])}
        x_hat, codes, aux, hidden = players("autoencoder", x, True, rng=kg)
        log_scale = players.params["autoencoder"]["log_scale"]
        extras = {"rec": self._rec(x_hat, x), "commitment": aux["commitment"], "codebook": aux["codebook"],
                  "scale": jnp.mean(self.decoder_nll(log_scale, jax.lax.stop_gradient(x_hat), x)) / x[0].size,
                  "perplexity": aux["perplexity"], "usage": aux["usage"]}
        if self.features is not None:
            extras["perceptual"] = self.features(x_hat, x)
        if self.critic_on(players.stage):
            gan = self.g_objective(players("d", x_hat, rng=kd))
            lam = self.lambda_of(players, hidden, x_hat, x, kd)
            extras.update(gan=lam * gan, adaptive_weight=lam)
        return {}, extras

    def lambda_of(self, players, hidden, x_hat, x, key):
        """The adaptive weight at the decoder's last kernel ``W``: ``dL/dW`` of ``x_hat = W(hidden)`` is the vjp of
        ``W -> last(hidden; W)`` at ``dL/dx_hat`` (gradients through x_hat only: the decoder's last layer)."""
        params = players.params["autoencoder"]
        hidden, x_hat = jax.lax.stop_gradient((hidden, x_hat))

        def last(kernel):
            p = {**params, vqvae.LAST: {**params[vqvae.LAST], "kernel": kernel}}
            return self._ae(players_with(players, p), "last", hidden)

        _, pullback = jax.vjp(last, params[vqvae.LAST]["kernel"])
        d_rec = jax.grad(lambda y: self._rec_total(y, x))(x_hat)
        d_gan = jax.grad(lambda y: self.g_objective(players("d", y, rng=key, update=False)))(x_hat)
        return adaptive_weight(pullback(d_rec)[0], pullback(d_gan)[0])

    def begin_stage(self, state, stage: int):
        if stage != self.prior_stage:
            return state
        return {**state, "opt": jax.tree.map(jnp.zeros_like, state["opt"])}

    # -- samples ----------------------------------------------------------------------------------------------
    @functools.cached_property
    def held_out(self) -> np.ndarray:
        """The first 64 images of the test split (reconstruction grids), read on first use."""
        return pipeline.read_split(self.config.data, "test", limit=64)["image"]

    def sample_codes(self, players, key, n, labels=None):
        """``n`` code grids ``[n, h, w]`` from the prior."""
        if self.cfg.prior == "transformer":
            from jaxgen.models import transformer

            codes = transformer.sample(self.modules["prior"], players.params["prior"], key, n, labels,
                                       int(self.cfg.top_k))
            return codes.reshape(n, *self.grid)
        canvas = jnp.zeros((n, *self.grid, 1), jnp.int32)
        run = ar.sampler(self.modules["prior"], (*self.grid, 1), int(self.cfg.top_k))
        return run(players.params["prior"], key, canvas, 0, labels)[0][..., 0]

    def sample(self, players, key, n, labels=None, source=None):
        """Decoded prior samples in the prior's stage, else (real, reconstruction) pairs (module docstring)."""
        del source
        if self.prior_on(players.stage):
            return self._ae(players, "decode", self.sample_codes(players, key, n, labels))
        real = jnp.asarray(self.held_out[: -(-n // 2)])
        pairs = jnp.stack([real, self._ae(players, None, real)[0]], axis=1)
        return pairs.reshape(-1, *real.shape[1:])[:n]

    # -- evaluation -------------------------------------------------------------------------------------------
    def measures(self, params, model_state, images, labels):
        """Per image: the reconstruction, squared error, PSNR, codes, prior and decoder NLL (nats)."""
        players = players_with_state(self.modules, params, model_state)
        x_hat, codes, _ = self._ae(players, None, images)
        return {"x_hat": jnp.clip(x_hat, -1, 1), "mse": jnp.mean(jnp.square(x_hat - images), axis=(1, 2, 3)),
                "psnr": image_quality.psnr(jnp.clip(x_hat, -1, 1), images), "codes": codes,
                "prior": self.prior_nll(params["prior"], codes, labels),
                "decoder": self.decoder_nll(params["autoencoder"]["log_scale"], x_hat, images)}

    def evaluator(self, config, task):
        """(state, rng) -> the reconstruction, code and bound metrics of `config.eval.split` (module docstring)."""
        del task
        split = config.eval.split
        tag = split.split("[")[0]
        measure = jax.jit(self.measures)
        scored = tuple(m[1:] for m in ("rfid", "rkid") if m in self.metrics)  # "fid", "kid" of the reconstructions
        protocol = evaluate.Protocol(metrics=scored, num_samples=0, split=split, features=config.eval.features)
        net = functools.cache(lambda: evaluate.feature_net(protocol, config.data.name))  # on first use

        def run(state, rng):
            del rng
            data = pipeline.read_split(config.data, split)
            out = []
            for i in range(0, len(data["image"]), 250):
                labels = jnp.asarray(data["label"][i:i + 250]) if self.num_classes else None
                out.append(jax.device_get(measure(state["params"], state["model_state"],
                                                  jnp.asarray(data["image"][i:i + 250]), labels)))
            m = {k: np.concatenate([o[k] for o in out]) for k in out[0]}
            used = quantizer.usage(jnp.asarray(m["codes"]), self.num_codes)
            dims = int(np.prod(self.image_shape))
            results = {f"rec_mse_{tag}": float(m["mse"].mean()), f"rec_psnr_{tag}": float(m["psnr"].mean()),
                       f"code_perplexity_{tag}": float(used["perplexity"]), f"code_usage_{tag}": float(used["usage"]),
                       f"bpd_bound_{tag}": float(likelihood.bits_per_dim(np.mean(m["prior"] + m["decoder"]), dims))}
            if scored:
                scores = evaluate.evaluate(m["x_hat"], config.data,
                                           dataclasses.replace(protocol, num_samples=len(m["x_hat"])), net=net())
                results.update({"r" + name: value for name, value in scores.items()})
            return results

        return run


def players_with(players, autoencoder_params):
    """A read-only view of `players` with the autoencoder's parameters replaced."""
    view = players.frozen()
    view.params = {**players.params, "autoencoder": autoencoder_params}
    return view


def players_with_state(modules, params, model_state):
    from jaxgen.games.base import Players

    return Players(modules, params, model_state)


def build(config, info: dict, mesh) -> VQ:
    return VQ(config, info, mesh)
