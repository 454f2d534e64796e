"""CycleGAN (Zhu et al. 2017): two translators, two critics, cycle consistency; on unpaired toy points or images.

Players: ``g_ab`` translates domain A into B, ``g_ba`` B into A (the family's `generator`); ``d_a`` and ``d_b``
are the critics of each domain (its `discriminator`). ``g_players = ("g_ab", "g_ba")`` step on `optimizer.g`,
``d_players = ("d_a", "d_b")`` on `optimizer.d`. Two variants share every term (`build` picks one by `data.name`):

- Points (a toy `data.name`; `synthetic`: the game samples both domains inside the step from the step's key; no
  data loader; family :mod:`jaxgen.models.translator_mlp`). A is the toy mixture `data.name`
  (:mod:`jaxgen.data.toy`); B is the mixture `data.b` (default: A's) scaled by `data.b_scale` and rotated by
  `data.b_rotation` degrees about the origin (defaults 1 and 0).
- Images (a dataset `data.name`; family :mod:`jaxgen.models.cyclegan`): A is `data.name`'s images, B
  `data.unpaired`'s, two independently shuffled streams with their own resumable iterator states
  (:mod:`jaxgen.data.pipeline`, batches ``{"a", "b"}``); both of one shape.

In both the two samples of a batch are independent: the pairs are unpaired, as in CycleGAN.

Terms. D: ``{"d_a": (D_a(a), D_a(fake_a)), "d_b": (D_b(b), D_b(fake_b))}`` with ``fake_a = g_ba(b)``, ``fake_b =
g_ab(a)`` under `loss.objective` (CycleGAN's least squares, `lsgan`: per critic ``1/2 E (D(x) - 1)^2 + 1/2 E
D(fake)^2``, the paper's D objective divided by 2); `loss.penalty` applies to each critic. G: ``{"d_a":
D_a(g_ba(b)), "d_b": D_b(g_ab(a))}`` under the objective (`lsgan`: ``1/2 E (D(fake) - 1)^2`` each) weighted by
`loss.weights.adversarial`, plus ``cycle`` = mean |g_ba(g_ab(a)) - a| + mean |g_ab(g_ba(b)) - b| (L1, as the paper's
code) and ``identity`` = mean |g_ab(b) - b| + mean |g_ba(a) - a|, weighted by `loss.weights` (defaults `WEIGHTS`:
the paper's lambda = 10, no identity term; configs/cyclegan_emoji.py sets identity 5 = 0.5 lambda and adversarial
2, which makes G's loss exactly the authors' ``MSE(D(fake), 1) + 10 cycle + 5 identity``).

History pool (`loss.pool_size` > 0; the paper's 50, Shrivastava et al. 2017): each critic sees fakes from a
history of `pool_size` earlier fakes, kept in the train state (``state["game_state"]``: ``{"fake_a": pool,
"fake_b": pool}``, pool ``{"images": [P, ...], "count": int32}``), so it is checkpointed and a resumed run
continues exactly. :func:`pool_query` is the authors' ``ImagePool.query``, one fake at a time in batch order:
while the pool holds fewer than P, the fake is stored and returned; once full, with a uniform draw ``u > 0.5`` a
stored fake (slot drawn uniformly) is returned and replaced by the new one, else the new one is returned. The
draws come from D-main's key (:func:`pool_draws`). 0 (the default, and the toy configs): D sees today's fakes.

Samples: points: `sample(players, key, n, source=None)` translates `source` (points of A), or n fresh points of A,
into B: ``[n, D]`` (the loop writes a scatter plot). Images: `sample(..., source=[n, H, W, C])` translates
`source` from A into B (`jaxgen sample --source`); without a source (the training grids) it gives rows
``(a, g_ab(a), g_ba(g_ab(a)))`` of ceil(n / 3) held-out images of A (`data.name`'s test split, evenly spaced
over it), cut to n.

Evaluation (images; `config.eval.every` > 0 and `jaxgen eval --workdir`; `evaluator`): the held-out pairs of
`eval.pairs` (a paired dataset of the two domains, e.g. emoji_pairs: a = Twemoji, b = OpenMoji of one codepoint)
split `eval.split`: ``g_ab(a)`` against the true ``b`` and ``g_ba(b)`` against the true ``a``, `eval.metrics` of
:mod:`jaxgen.metrics.translation` per direction, suffixed ``_a2b`` / ``_b2a`` (``l1_test_a2b``,
``psnr_test_b2a``, ``kid304_test_vgg_a2b``, ...).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import config as config_lib
from jaxgen import models
from jaxgen.data import pipeline, toy
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator, sharding
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game, Players

TRANSLATORS, CRITICS = ("g_ab", "g_ba"), ("d_a", "d_b")
FAKES = ("fake_a", "fake_b")  # D's inputs that go through the history pools
OWN_EVALUATION = True  # `jaxgen eval --workdir` of an image run: `Images.evaluator` (held-out pairs)


def domain(name: str, scale: float = 1.0, rotation: float = 0.0) -> toy.Mixture:
    """The toy mixture `name`, its means scaled by `scale` and rotated by `rotation` degrees (2-D), std scaled."""
    mixture = toy.get(name)
    if scale == 1.0 and rotation == 0.0:
        return mixture
    if scale <= 0:
        raise ConfigError(f"config key 'data.b_scale' must be positive, got {scale}")
    if rotation and mixture.dim != 2:
        raise ConfigError(f"config key 'data.b_rotation' rotates 2-D points; {name!r} is {mixture.dim}-D")
    means = mixture.means
    if rotation:
        angle = np.deg2rad(rotation)
        means = means @ np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])  # x R^T
    return toy.Mixture(f"{name} x{scale:g} rotated {rotation:g} deg", scale * means, scale * mixture.std)


def pool_init(size: int, shape) -> dict:
    """An empty history pool of `size` items of `shape`: ``{"images": zeros [size, *shape], "count": 0}``."""
    return {"images": jnp.zeros((size, *shape), jnp.float32), "count": jnp.zeros((), jnp.int32)}


def pool_draws(key, n: int, size: int):
    """The draws of one query of `n` fakes: uniforms ``[n]`` in [0, 1) and slots ``[n]`` in [0, size)."""
    ku, ks = jax.random.split(key)
    return jax.random.uniform(ku, (n,)), jax.random.randint(ks, (n,), 0, size)


def pool_query(pool: dict, fakes, draws, slots):
    """(what D sees [n, ...], the pool after) for `fakes` [n, ...], one at a time in order (the authors'
    ``ImagePool.query``): a pool holding fewer than its size stores the fake and returns it; a full one, when
    ``draws[i] > 0.5``, returns its item ``slots[i]`` and stores the fake there, else returns the fake."""
    size = pool["images"].shape[0]

    def one(carry, x):
        images, count = carry
        fake, u, slot = x
        filling, swap = count < size, u > 0.5
        out = jnp.where(~filling & swap, images[slot], fake)
        at = jnp.where(filling, count, slot)
        images = images.at[at].set(jnp.where(filling | swap, fake, images[at]))
        return (images, count + filling.astype(jnp.int32)), out

    (images, count), out = jax.lax.scan(one, (pool["images"], pool["count"]), (fakes, draws, slots))
    return out, {"images": images, "count": count}


def pool_size(config) -> int:
    """`loss.pool_size` (0 when the config has none), checked."""
    size = config.loss.get("pool_size", 0)
    if config_lib.is_traced(size):
        raise ConfigError("config key 'loss.pool_size' sets the shape of the train state: it cannot be swept")
    if not isinstance(size, int) or size < 0:
        raise ConfigError(f"config key 'loss.pool_size' must be an int >= 0 (0: no history pool), got {size!r}")
    return size


class Cycle(Game):
    """The terms both variants share; a variant gives `_real(batch, key) -> (a, b)` and the players' shape."""

    weights = game_defaults.WEIGHTS["cycle"]
    options = accelerator.NETWORK_OPTIONS

    def _players(self, config, shape) -> None:
        if config.model.get("conditioning", "none") != "none":
            raise ConfigError("the cycle game is unconditional: set model.conditioning='none'")
        family = models.get(config.model.name)
        self.modules = {**{name: accelerator.network(family.generator, config, config.model, shape)
                           for name in TRANSLATORS},
                        **{name: accelerator.network(family.discriminator, config, config.model, shape)
                           for name in CRITICS}}
        self.g_players, self.d_players = TRANSLATORS, CRITICS
        self.shape, self.pool_size = tuple(shape), pool_size(config)

    def init(self, rng):
        params, model_state = {}, {}
        for name, key in zip(self.modules, jax.random.split(rng, len(self.modules))):
            variables = dict(self.modules[name].init({"params": key, "dropout": key}, jnp.zeros((2, *self.shape)),
                                                     train=False))
            params[name], model_state[name] = variables.pop("params"), variables
        return params, model_state

    def state_init(self) -> dict:
        return {name: pool_init(self.pool_size, self.shape) for name in FAKES} if self.pool_size else {}

    def update_state(self, game_state, inputs, key):
        pooled = dict(inputs)
        for i, name in enumerate(FAKES):
            draws = pool_draws(jax.random.fold_in(key, i), inputs[name].shape[0], self.pool_size)
            pooled[name], pool = pool_query(game_state[name], inputs[name], *draws)
            game_state = {**game_state, name: pool}
        return pooled, game_state

    def d_inputs(self, players, batch, key):
        k_real, k_g = jax.random.split(key)
        a, b = self._real(batch, k_real)
        return {"a": a, "b": b, "fake_b": players("g_ab", a, rng=k_g), "fake_a": players("g_ba", b, rng=k_g)}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        return {"d_a": (players("d_a", inputs["a"], rng=kr), players("d_a", inputs["fake_a"], rng=kf)),
                "d_b": (players("d_b", inputs["b"], rng=kr), players("d_b", inputs["fake_b"], rng=kf))}, {}

    def critics(self, players, inputs, key):
        def critic(name):  # one value per example: the mean of its patch logits, if the critic has patches
            def fn(x):
                out = players(name, x, rng=key, update=False)
                return out.reshape(out.shape[0], -1).mean(axis=1) if out.ndim > 1 else out

            return fn

        return {"d_a": (critic("d_a"), inputs["a"], inputs["fake_a"]),
                "d_b": (critic("d_b"), inputs["b"], inputs["fake_b"])}

    def g_inputs(self, players, batch, keys):
        a, b = self._real(batch, keys[0])
        return {"a": a, "b": b}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys  # the key of every translator pass (dropout, if a family has it), of every critic pass
        a, b = inputs["a"], inputs["b"]
        fake_b, fake_a = players("g_ab", a, rng=kg), players("g_ba", b, rng=kg)
        cycle = (jnp.mean(jnp.abs(players("g_ba", fake_b, rng=kg) - a))
                 + jnp.mean(jnp.abs(players("g_ab", fake_a, rng=kg) - b)))
        identity = (jnp.mean(jnp.abs(players("g_ab", b, rng=kg) - b))
                    + jnp.mean(jnp.abs(players("g_ba", a, rng=kg) - a)))
        outs = {"d_a": players("d_a", fake_a, rng=kd), "d_b": players("d_b", fake_b, rng=kd)}
        return outs, {"cycle": cycle, "identity": identity}


class Points(Cycle):
    """CycleGAN on two toy point sets drawn inside the step (module docstring)."""

    synthetic = True

    def __init__(self, config, info: dict, mesh):
        data = config.data
        self.a = toy.get(data.name)
        self.b = domain(data.get("b", data.name), float(data.get("b_scale", 1.0)), float(data.get("b_rotation", 0.0)))
        if self.a.dim != self.b.dim:
            raise ConfigError(f"the cycle game's domains must have one dimension: data.name={data.name!r} is "
                              f"{self.a.dim}-D, data.b={data.get('b')!r} {self.b.dim}-D")
        shape = (self.a.dim,)
        if tuple(info["image_shape"]) != shape:
            raise ConfigError(f"the cycle game draws {shape}-shaped points of {data.name!r}, but the data are "
                              f"{tuple(info['image_shape'])}")
        self._players(config, shape)
        self.batch = int(config.batch_size)
        self.batch_sharded = sharding.batch_sharded(mesh)

    def _real(self, batch, key):
        """Unpaired samples (a, b) of the two domains, one batch each, drawn from `key`."""
        del batch  # synthetic: the points come from the key
        ka, kb = jax.random.split(key)
        return (sharding.constrain(self.a.sample(ka, self.batch), self.batch_sharded),
                sharding.constrain(self.b.sample(kb, self.batch), self.batch_sharded))

    def sample(self, players, key, n, labels=None, source=None):
        """`source` (points of A, [n, D]) or n fresh points of A drawn from `key`, translated into B."""
        del labels
        source = self.a.sample(key, n) if source is None else source
        return players("g_ab", source, rng=key, train=False)


class Images(Cycle):
    """CycleGAN on two unpaired image datasets, A = `data.name`, B = `data.unpaired` (module docstring)."""

    batch_keys = ("a", "b")

    def __init__(self, config, info: dict, mesh):
        del mesh  # the batch brings both domains
        data = config.data
        if data.get("pair", False):
            raise ConfigError(f"the cycle game trains on two unpaired sets: set data.pair=False and name the second "
                              f"domain's dataset in data.unpaired (got the paired data.name={data.name!r})")
        if not data.get("unpaired"):
            raise ConfigError(f"the cycle game on images needs a second domain: set data.unpaired to its dataset "
                              f"(e.g. data.name=twemoji, data.unpaired=openmoji); got data.name={data.name!r} alone")
        shapes = {key: tuple(info["images"][key]) for key in ("a", "b")}
        if shapes["a"] != shapes["b"]:
            raise ConfigError(f"the cycle game's domains must have one image shape: data.name={data.name!r} gives "
                              f"{shapes['a']}, data.unpaired={data.unpaired!r} {shapes['b']} (set data.image_size)")
        self._players(config, shapes["a"])
        self.source_shape = self.shape  # `jaxgen sample --source`: images of A
        self.config = config

    def _real(self, batch, key):
        del key
        return batch["a"], batch["b"]

    @functools.cached_property
    def held_out(self) -> np.ndarray:
        """The held-out images of A (`data.name`'s test split), read on first use, for the grids."""
        return pipeline.read_split(self.config.data, "test")["image"]

    def sample(self, players, key, n, labels=None, source=None):
        """`source` [n, H, W, C] translated A -> B, or rows (a, g_ab(a), g_ba(g_ab(a))) of held-out A, cut to n:
        ceil(n / 3) images spread evenly over the test split (stored by codepoint: not all flags)."""
        del labels
        if source is not None:
            return players("g_ab", source, rng=key, train=False)
        rows = -(-n // 3)
        a = jnp.asarray(self.held_out[np.linspace(0, len(self.held_out) - 1, rows).round().astype(int)])
        fake_b = players("g_ab", a, rng=key, train=False)
        triples = jnp.stack([a, fake_b, players("g_ba", fake_b, rng=key, train=False)], axis=1)
        return triples.reshape(-1, *self.shape)[:n]

    def pairs(self, config, split: str) -> dict:
        """`eval.pairs`' split `split` on the host: {"a": [N, H, W, C], "b": [N, H, W, C]}, row i one codepoint."""
        name = config.eval.get("pairs")
        if not name:
            raise ConfigError("the cycle game's evaluation compares translations with the true other-domain images of "
                              "held-out examples: set eval.pairs to a paired dataset of the two domains (emoji_pairs)")
        data = ml_collections.ConfigDict({**config.data.to_dict(), "name": name, "pair": True, "unpaired": None,
                                          "flip": False})
        return pipeline.read_split(data, split)

    def evaluator(self, config, task):
        """(state, rng) -> `eval.metrics` per direction on the held-out pairs (see the module docstring)."""
        from jaxgen.metrics import translation

        ev, batch = config.eval, int(config.num_samples)
        metrics = translation.parse(ev.metrics)
        nets, held = [], {}  # KID's feature network and the pairs, read at the first evaluation

        @functools.partial(jax.jit, static_argnums=0)
        def translate(name, state, x, key):
            params = {**state["params"], **state.get("ema", {})}
            return Players(self.modules, params, state["model_state"])(name, x, rng=key, train=False)

        def run(state, rng):
            if not held:
                held.update(self.pairs(config, ev.split))
                if "kid" in metrics:
                    nets.append(translation.feature_net(ev.features, ev.pairs))
            results = {}
            for name, source, target, tag in (("g_ab", "a", "b", "a2b"), ("g_ba", "b", "a", "b2a")):
                fakes = translation.translate_all(lambda x, key, name=name: translate(name, state, x, key),
                                                  held[source], batch, rng)
                scores = translation.evaluate(fakes, held[target], ev.split, metrics, nets[0] if nets else None)
                results.update({f"{key}_{tag}": value for key, value in scores.items()})
            return results

        return run


def build(config, info: dict, mesh) -> Cycle:
    return (Points if pipeline.is_synthetic(config.data) else Images)(config, info, mesh)
