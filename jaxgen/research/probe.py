"""A trained workdir as pure functions of its parameters, for the landscape, Hessian and game tools.

`load(workdir)` restores a checkpoint and fixes everything else a training loss depends on: `num_batches`
batches of the training stream (`pipeline.make_loader` with `data_seed`), the noise and dropout keys, and
the non-parameter state (BatchNorm statistics are read, not updated). `Probe.losses(params)` is then the
mean over those batches of the trainer's `Task.losses`: for a GAN ``{"g_loss", "d_loss"}`` (D's with its
penalty), for a likelihood model ``{"nll_nats"}``. Same workdir and arguments, same numbers. A game that draws
its own data (a synthetic `data.name`) has empty batches: its points come from the fixed keys.

Players. The players of a probe are the task's groups (`Task.groups`): for an adversarial workdir the optimizer
groups "g" and "d", each the dict of its game players' parameters (`{"g": params["g"]}` for the classic game,
`{"g_ab": ..., "g_ba": ...}` for CycleGAN's translators) minimising "g_loss" / "d_loss"; otherwise one player
"all" (every parameter, the task's first loss). `group(player)` and `with_group(player, p)` slice and merge.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data import pipeline
from jaxgen.engine import keys, loop
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import ConfigError, JaxgenError


@dataclasses.dataclass
class Probe:
    """params: the checkpoint's parameters; batches: {key: [K, B, ...]}; losses(params) -> {name: scalar}."""

    workdir: str
    config: object
    step: int
    task: loop.Task
    state: dict
    batches: dict
    rng: jax.Array
    num_batches: int

    @property
    def params(self):
        return self.state["params"]

    @property
    def players(self) -> tuple[str, ...]:
        """The parameter groups with a loss of their own: ("g", "d") for a GAN, ("all",) otherwise."""
        return tuple(self.task.groups) or ("all",)

    def own_loss(self, player: str) -> str:
        """The loss a player minimises: g -> "g_loss", d -> "d_loss", all -> the task's first loss."""
        return f"{player}_loss" if player in self.task.groups else self.loss_names[0]

    def group(self, player: str, params=None):
        """The parameters of `player` in `params` (default: the checkpoint's): {game player: params} of its
        group, or every parameter for "all"."""
        params = self.params if params is None else params
        return params if player == "all" else {name: params[name] for name in self.task.groups[player]}

    def with_group(self, player: str, group):
        """The checkpoint's parameters with `player`'s replaced by `group` (as `group(player)` returns them)."""
        return group if player == "all" else {**self.params, **group}

    @property
    def loss_names(self) -> tuple[str, ...]:
        return tuple(sorted(jax.eval_shape(self.losses, self.params)))

    def losses(self, params) -> dict:
        """{name: mean over the fixed batches of the training loss at `params`}."""
        def one(args):
            batch, k = args
            return self.task.losses(params, self.state, batch, jax.random.fold_in(self.rng, k))

        values = jax.lax.map(one, (self.batches, jnp.arange(self.num_batches)))
        return jax.tree.map(jnp.mean, values)

    def initial_params(self):
        """The run's parameters at step 0, exactly as `jaxgen train` initialised them."""
        return jax.device_get(self.task.init(keys.init_key(self.config.seed))["params"])

    def params_at(self, step: int):
        """The parameters of another checkpoint of the same workdir."""
        return jax.device_get(workdir_lib.restore(self.workdir, step)[2]["params"])


def load(workdir: str, step: int | None = None, num_batches: int = 4, data_seed: int = 0, seed: int = 0) -> Probe:
    """The probe of `workdir`'s checkpoint `step` (default: the newest) on `num_batches` training batches."""
    if num_batches < 1:
        raise JaxgenError(f"--batches must be at least 1, got {num_batches}")
    config, task, state, step = workdir_lib.restore(workdir, step)
    if task.losses is None:
        raise ConfigError(f"{workdir} was trained by trainer {config.trainer!r}, which offers no loss as a function "
                          f"of its parameters (the research tools take GAN and likelihood workdirs)")
    loader = pipeline.make_loader(config.data, global_batch_size=config.batch_size, seed=data_seed)
    batches = list(itertools.islice(iter(loader), num_batches))
    stacked = {k: jnp.asarray(np.stack([b[k] for b in batches])) for k in batches[0]}
    return Probe(workdir, config, step, task, jax.device_get(state), stacked, jax.random.key(seed), num_batches)
