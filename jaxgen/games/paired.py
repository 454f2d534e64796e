"""pix2pix's game (Isola et al. 2017): G translates a source image into its target, D judges (source, target) pairs.

Players ``g`` and ``d`` are the family's `generator(cfg, source_shape, target_shape)` and `discriminator(...)`
(`model.name`, default :mod:`jaxgen.models.pix2pix`: U-Net and PatchGAN). Data: a paired dataset read with
`data.pair=True` (emoji_pairs, edges2emoji), batches ``{"a", "b"}``; `data.direction` ``"a_to_b"`` (default:
source a, target b) or ``"b_to_a"``.

Terms. D is conditional, on ``concat(source, image)`` along the channels: ``{"d": (D([x, y]), D([x, G(x)]))}``
under `loss.objective` (the paper's vanilla GAN: `ns`, its G loss non-saturating), one logit per patch, averaged.
G: ``{"d": D([x, G(x)])}`` weighted by `loss.weights.adversarial` (1; 0 trains G on L1 alone, the paper's "L1"
ablation, while D still trains beside it), plus ``l1 = mean |G(x) - y|`` weighted by `loss.weights.l1` (the
paper's lambda = 100; 0 gives its "cGAN" ablation). The paper halves D's loss; under Adam that scale changes
nothing (up to epsilon), so the trainer's objective is used as it is. G's noise is the U-Net's dropout (in every
pass, sampling included), no z.

Samples: `sample(players, key, n, source=...)` translates the given sources ``[n, H, W, Cs]`` (dropout drawn from
`key`). Without a source (the training loop's grids, `jaxgen sample` without ``--source``) the trainer takes
`default_source(n)`: the first n sources of the held-out `test` split (tiled if it has fewer), read once.

Evaluation (`config.eval.every` > 0, and `jaxgen eval --workdir`; `evaluator`): every source of `eval.split`
translated (in batches of `num_samples`, the grids' compiled size), against its true target: `eval.metrics` of
:mod:`jaxgen.metrics.translation` (``l1_test``, ``psnr_test``, ``ssim_test``, ``kid304_test_vgg``; KID's features
from `eval.features` via :func:`jaxgen.metrics.translation.feature_net`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import models
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game

OWN_EVALUATION = True  # `jaxgen eval --workdir` runs `Paired.evaluator` (held-out pairs), not the sample-set metrics
DIRECTIONS = {"a_to_b": ("a", "b"), "b_to_a": ("b", "a")}


def _direction(data) -> tuple[str, str]:
    direction = data.get("direction", "a_to_b")
    if direction not in DIRECTIONS:
        raise ConfigError(f"config key 'data.direction' must be one of {tuple(DIRECTIONS)}, got {direction!r}")
    return DIRECTIONS[direction]


class Paired(Game):
    weights = game_defaults.WEIGHTS["paired"]
    options = accelerator.NETWORK_OPTIONS

    def __init__(self, config, info: dict, mesh):
        del mesh  # no noise to shard: the batch brings every input
        if not config.data.get("pair", False):
            raise ConfigError(f"the paired game (pix2pix) trains on (source, target) pairs: set data.pair=True and a "
                              f"paired data.name (emoji_pairs, edges2emoji); got data.name={config.data.name!r} "
                              f"with data.pair=False")
        if config.model.get("conditioning", "none") != "none":
            raise ConfigError("the paired game conditions D on the source image, not on labels: set "
                              "model.conditioning='none'")
        self.source_key, self.target_key = _direction(config.data)
        self.source_shape = tuple(info["images"][self.source_key])
        target_shape = tuple(info["images"][self.target_key])
        family = models.get(config.model.name)
        self.modules = {role: accelerator.network(build, config, config.model, self.source_shape, target_shape)
                        for role, build in (("g", family.generator), ("d", family.discriminator))}
        self.d_players, self.g_players = ("d",), ("g",)
        self.batch_keys = ("a", "b")
        self.data_cfg, self.eval_cfg = config.data, config.get("eval")
        self.shapes = (self.source_shape, target_shape)
        self._held_out = {}  # split -> {"a", "b"} on the host, read once

    def init(self, rng):
        kg, kd = jax.random.split(rng)
        source, target = (jnp.zeros((2, *shape)) for shape in self.shapes)
        g_vars = dict(self.modules["g"].init({"params": kg, "dropout": kg}, source, train=False))
        d_vars = dict(self.modules["d"].init({"params": kd}, jnp.concatenate([source, target], -1), train=False))
        return {"g": g_vars.pop("params"), "d": d_vars.pop("params")}, {"g": g_vars, "d": d_vars}

    def _pair(self, batch):
        return batch[self.source_key], batch[self.target_key]

    @staticmethod
    def _judge(players, source, image, rng, update=True):
        """D's patch logits [N, h, w] of (source, image) pairs."""
        return players("d", jnp.concatenate([source, image], axis=-1), rng=rng, update=update)

    def d_inputs(self, players, batch, key):
        source, target = self._pair(batch)
        return {"source": source, "real": target, "fake": players("g", source, rng=key)}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        source = inputs["source"]
        return {"d": (self._judge(players, source, inputs["real"], kr),
                      self._judge(players, source, inputs["fake"], kf))}, {}

    def critics(self, players, inputs, key):
        def critic(image):  # one value per example: the mean of its patch logits
            return jnp.mean(self._judge(players, inputs["source"], image, key, update=False), axis=(1, 2))

        return {"d": (critic, inputs["real"], inputs["fake"])}

    def g_inputs(self, players, batch, keys):
        del players, keys
        source, target = self._pair(batch)
        return {"source": source, "target": target}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        fake = players("g", inputs["source"], rng=kg)
        return ({"d": self._judge(players, inputs["source"], fake, kd)},
                {"l1": jnp.mean(jnp.abs(fake - inputs["target"]))})

    def held_out(self, split: str) -> dict:
        """`split`'s {"a", "b"} images on the host (centred crops, no flips), read once."""
        if split not in self._held_out:
            from jaxgen.data import pipeline

            self._held_out[split] = pipeline.read_split(self.data_cfg, split)
        return self._held_out[split]

    def default_source(self, n: int) -> np.ndarray:
        """The first `n` sources of the test split (repeated when it has fewer): what grids translate."""
        sources = self.held_out("test")[self.source_key]
        return np.resize(sources, (n, *sources.shape[1:]))

    def sample(self, players, key, n, labels=None, source=None):
        """Translations [n, H, W, Ct] of `source` [n, H, W, Cs] (the U-Net's dropout drawn from `key`)."""
        del labels
        if source is None or tuple(source.shape) != (n, *self.source_shape):
            raise ConfigError(f"a pix2pix model translates source images: give source=[{n}, "
                              f"{', '.join(map(str, self.source_shape))}] in [-1, 1], got "
                              f"{None if source is None else tuple(source.shape)}")
        return players("g", source, rng=key, train=False)

    def evaluator(self, config, task):
        """(state, rng) -> `eval.metrics` of every pair of `eval.split` (see the module docstring)."""
        from jaxgen.metrics import translation

        ev, batch = config.eval, int(config.num_samples)  # the grids' batch: their compiled program translates
        metrics = translation.parse(ev.metrics)
        nets = []  # KID's feature network, resolved at the first evaluation

        def run(state, rng):
            if "kid" in metrics and not nets:
                nets.append(translation.feature_net(ev.features, config.data.name))
            pairs = self.held_out(ev.split)
            fakes = translation.translate_all(lambda x, key: task.generate(state, key, batch, source=x),
                                              pairs[self.source_key], batch, rng)
            return translation.evaluate(fakes, pairs[self.target_key], ev.split, metrics, nets[0] if nets else None)

        return run


def build(config, info: dict, mesh) -> Paired:
    return Paired(config, info, mesh)
