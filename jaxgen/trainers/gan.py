"""The adversarial trainer: any game of :mod:`jaxgen.games`, every row of the loss zoo, as jitted phases.

A step is a list of phases (data, not code): ``n_critic`` D-main phases (each on a fresh batch and fresh
noise), a lazy D-reg phase every ``loss.reg_every`` steps, G-main, and a lazy G-reg phase (a game's G-reg
terms, e.g. StyleGAN2's path length) every ``loss.g_reg_every`` steps (Goodfellow et al. 2014, Algorithm 1
with k = ``n_critic``; phases as NVIDIA's StyleGAN2 ``loss.py``). Each phase is a pure function
``(state, batch, rng) -> (state, metrics)``, jitted once with the state donated; the phases due on a step
without repeats or lazy work run as one fused program (``fuse_phases``). ``update_mode="simultaneous"`` replaces
them by one joint phase where both players step from gradients at the same point (ALI / PacGAN).

The game (``config.game``) gives the players, their inputs and the terms; this module gives the rest:

- the objective of ``config.loss.objective`` applied to every critic's outputs, the penalty of
  ``config.loss.penalty`` (a nested ``jax.grad`` inside D's ``value_and_grad``, or its own lazy phase scaled by
  its interval, Adam's lr and betas corrected as StyleGAN2), the game's extra terms weighted by
  ``config.loss.weights`` (a game that declares the weight ``adversarial`` has G's objective scaled by it: 0 trains
  G on its extra terms alone); WGAN's weight clipping (``loss.clip``) after every D update; BEGAN's ``k_t``;
- two optimizer groups, ``optimizer.d`` over the game's D players and ``optimizer.g`` over its G players (TTUR);
- ``ema_decay`` > 0: an exponential moving average of every G player, used for samples;
- a stage without critics (a G-only pre-training stage: SRResNet before SRGAN) has objective 0 and gives the D
  players zero gradients; where the game's ``trains_d(stage)`` is False the D phases do nothing at all (no
  gradients, no optimizer update, no metrics); a game with a ``adversarial`` weight has G's objective weighted by
  it (SRGAN's 1e-3);
  a game's own ``evaluator`` replaces the sample-based metrics of ``config.eval`` (PSNR/SSIM for super-resolution);
- stages (``game.stage_starts``): the phases of each stage compile once; ``game.begin_stage`` runs when a
  stage starts; ``state["stage"]`` is checkpointed, so a run resumes exactly inside any stage;
- ``pure_step`` (what ``jaxgen sweep`` vmaps) and ``losses`` (what ``jaxgen research`` probes), both derived
  from the same phase functions as the training step;
- the accelerator options (:mod:`jaxgen.engine.accelerator`): ``dtype`` and ``remat`` go to the game's networks;
  ``accumulate`` k > 1 makes every phase read k batches (stacked ``[k, B, ...]``) and average their gradients
  before its one update; clipping and schedules are the optimizer groups' (``optimizer.g.clip_norm``, ...).

State: ``{"step", "params": {player}, "model_state": {player}, "opt": {"d", "g"}}`` plus ``"ema"`` (the G
players), ``"loss_state"`` (``{"k"}``, BEGAN), ``"stage"`` (staged games), ``"reg_state"`` (lazy G-reg) and
``"game_state"`` (a game whose ``state_init()`` is not empty: CycleGAN's history pools; each D-main phase passes
its inputs through ``game.update_state`` with the key ``fold_in(inputs key, 1)``) when used. ``opt[role]`` and
``ema`` hold the group's ``{player: params}``, or the player's params alone when the group is one player
named as its role (the classic game's ``g`` and ``d``), so GAN checkpoints written before games existed
restore and resume unchanged.

Randomness: step ``s``'s key is ``rng``; D-main ``i`` uses ``fold_in(fold_in(rng, 0), i)`` split in four
(inputs, real pass, fake pass, penalty), G-main ``fold_in(rng, 1)`` split in four (noise, G pass, D pass,
labels), D-reg ``fold_in(rng, 2)`` split in two (inputs, penalty), G-reg ``fold_in(rng, 3)`` (the game's),
the joint phase ``rng`` split in three. With ``accumulate`` k > 1, micro-batch j of a phase uses
``fold_in(key, j)`` in place of the phase's key.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxgen import config as config_lib
from jaxgen import games
from jaxgen.data import pipeline
from jaxgen.engine import accelerator, compilation, loop, optimizers, sharding, updates
from jaxgen.errors import ConfigError
from jaxgen.games.base import Players
from jaxgen.losses import gan as gan_losses
from jaxgen.losses import penalties, zoo

UPDATES = ("alternating", "simultaneous")


def _check(config, game) -> None:
    """Refuses combinations that would train silently wrong, naming the keys to change."""
    zoo.validate(config.loss)
    accelerator.check(config, game.options, f"game {config.get('game', 'unconditional')!r}")
    if config.n_critic < 1:
        raise ConfigError(f"config key 'n_critic' (D updates per G update) must be >= 1, got {config.n_critic}")
    updates.ema_decay(config)
    update = config.get("update_mode", "alternating")
    if update not in UPDATES:
        raise ConfigError(f"config key 'update_mode' must be one of {UPDATES}, got {update!r}")
    if update == "simultaneous" and game.joint_terms is None:
        raise ConfigError(f"config key 'update_mode' is 'simultaneous', but game "
                          f"{config.get('game', 'unconditional')!r} "
                          f"has no joint terms; use update_mode='alternating'")
    if game.synthetic != pipeline.is_synthetic(config.data):
        raise ConfigError(f"game {config.get('game', 'unconditional')!r} " + (
            f"draws its own points: config key 'data.name' must name a toy distribution of jaxgen.data.toy, got "
            f"{config.data.name!r}" if game.synthetic else
            f"reads a dataset, but config key 'data.name' is the synthetic {config.data.name!r}: name a dataset"))
    starts = tuple(game.stage_starts)
    if not starts or starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ConfigError(f"game {config.get('game', 'unconditional')!r} has stage_starts {starts}: the first step "
                          f"of each stage must start at 0 and increase (its model config sets them)")
    if update == "simultaneous" and _g_reg_on(config, game):
        raise ConfigError("lazy G regularisation runs in its own phase of alternating updates: set "
                          "update_mode='alternating' (or the G-reg weights to 0)")
    if config.loss.get("g_reg_every", 1) < 1:
        raise ConfigError(f"config key 'loss.g_reg_every' must be >= 1, got {config.loss.g_reg_every}")
    unknown = sorted(set(_weights(config)) - set(game.weights))
    if unknown:
        raise ConfigError(f"config key 'loss.weights.{unknown[0]}' is not a term of game "
                          f"{config.get('game', 'unconditional')!r}; its terms are {sorted(game.weights)}")


def _weights(config) -> dict:
    """The extra terms' weights set by `config.loss.weights` (the game's defaults fill in the others)."""
    return dict(config.loss.get("weights") or {})


def _mean_metrics(metrics: list[dict]) -> dict:
    return jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *metrics)


def _sum(values):
    """The sum of `values`; 0 (float32) for none (a stage in which a game has no critic: SRResNet's pre-training)."""
    values = list(values)
    return functools.reduce(lambda a, b: a + b, values) if values else jnp.zeros((), jnp.float32)


class _Phases:
    """The pure phase functions of one stage of a game: D-main, D-reg, G-main, G-reg, joint; and the probe losses."""

    def __init__(self, config, game, tx, stage: int):
        self.config, self.game, self.tx, self.stage = config, game, tx, stage
        lc = self.lc = config.loss
        self.d_obj, self.g_obj = gan_losses.d_loss_fn(lc.objective), gan_losses.g_loss_fn(lc.objective)
        self.began = gan_losses.uses_began(lc.objective)
        self.lazy = lc.penalty != "none" and lc.reg_every > 1
        self.weights = {**game.weights, **_weights(config)}
        self.micro = config.accumulate  # micro-batches per update

    def _accumulate(self, fn, state, carried, batch, rng):
        """`fn(state, batch, rng) -> (grads, {key: state[key] after the batch for key in carried}, aux)` over the
        phase's micro-batches (:func:`jaxgen.engine.accelerator.accumulate`): mean gradients, the last carried
        entries, aux."""
        return accelerator.accumulate(lambda carry, b, key: fn({**state, **carry}, b, key),
                                      {key: state[key] for key in carried}, batch, rng, self.micro)

    def players(self, params, state):  # the players at `params` with the state's model state and step
        return Players(self.game.modules, params, state["model_state"], self.stage, state["step"])

    def _names(self, role):
        return tuple(self.game.d_players if role == "d" else self.game.g_players)

    def _group(self, params, role):
        """What optimizer `role` (and the EMA, for "g") sees: {player: params} of the group's players, or the
        player's params alone when the group is one player named as the role (the classic game's "g" and "d":
        checkpoints keep the layout they had before games existed)."""
        names = self._names(role)
        return params[role] if names == (role,) else {name: params[name] for name in names}

    def _with_group(self, params, role, group):
        """`params` with the players of `role` replaced by `group` (laid out as `_group` returns it)."""
        return {**params, **({role: group} if self._names(role) == (role,) else group)}

    def _update(self, state, role, grads):
        group, opt = updates.apply_optimizer(self.tx[role], grads, state["opt"][role],
                                             self._group(state["params"], role), state["step"])
        return {**state, "params": self._with_group(state["params"], role, group), "opt": {**state["opt"], role: opt}}

    def _extras(self, loss, extras, terms, prefix):
        for name, value in extras.items():
            terms[f"{prefix}_{name}"] = value
            loss = loss + self.weights[name] * value
        return loss

    def _penalty(self, players, inputs, key):
        critics = self.game.critics(players, inputs, key)
        return _sum([penalties.penalty(self.lc.penalty, fn, real, fake, key, self.lc.dragan_c)
                     for fn, real, fake in critics.values()])

    def d_loss(self, params, state, inputs, keys, with_penalty):
        """D's loss at `params` (objective + weighted extras + the penalty if `with_penalty`), with `keys`
        (real pass, fake pass, penalty); returns (loss, (model state, {critic: (D(real), D(fake))}, terms))."""
        players = self.players(params, state)
        outs, extras = self.game.d_terms(players, inputs, keys[:2])
        loss = self._d_objective(state, outs)
        terms = {"d_loss": loss}
        loss = self._extras(loss, extras, terms, "d")
        if with_penalty and self.lc.penalty != "none":
            terms["penalty"] = self._penalty(players, inputs, keys[2])
            loss = loss + self.lc.penalty_weight * terms["penalty"]
        return loss, (players.model_state, outs, terms)

    def _d_objective(self, state, outs):
        k = state["loss_state"]["k"] if self.began else jnp.zeros((), jnp.float32)
        return _sum([self.d_obj(real, fake, k) for real, fake in outs.values()])

    def g_loss(self, params, state, inputs, keys):
        """G's loss at `params` (objective on every critic + weighted extras) with `keys` (G pass, D pass)."""
        players = self.players(params, state)
        outs, extras = self.game.g_terms(players, inputs, keys)
        terms = {"g_loss": _sum([self.g_obj(out) for out in outs.values()])}
        loss = self._extras(self._adversarial(terms["g_loss"]), extras, terms, "g")
        return loss, (players.model_state, terms)

    def _adversarial(self, g_loss):
        """G's objective weighted by `loss.weights.adversarial` in a game with that term (SRGAN's 1e-3), else as is."""
        return self.weights["adversarial"] * g_loss if "adversarial" in self.weights else g_loss

    def _d_metrics(self, outs, terms):
        probs = self.lc.objective in ("mm", "ns")  # report D(x) as a probability where D is a classifier
        metrics = dict(terms)
        for name, (real, fake) in outs.items():
            suffix = "" if len(outs) == 1 else f"_{name}"
            metrics[f"d_real{suffix}"] = jnp.mean(jax.nn.sigmoid(real) if probs else real)
            metrics[f"d_fake{suffix}"] = jnp.mean(jax.nn.sigmoid(fake) if probs else fake)
        return metrics

    def _began(self, state, metrics, outs):
        (real, fake), = outs.values()
        k, m_global = gan_losses.began_update(state["loss_state"]["k"], real, fake, self.lc.began_gamma,
                                              self.lc.began_lambda_k)
        metrics.update(k=k, m_global=m_global)
        return {**state, "loss_state": {"k": k}}

    def _d_main_grads(self, state, batch, rng):
        """D-main's gradients on one batch: (grads, model state, (outs, terms))."""
        k_in, kr, kf, kp = jax.random.split(rng, 4)
        players = self.players(state["params"], state)
        inputs = jax.lax.stop_gradient(self.game.d_inputs(players, batch, k_in))
        state = {**state, "model_state": players.model_state}
        if "game_state" in state:  # e.g. CycleGAN's history of fakes: D sees what the game makes of its inputs
            inputs, game_state = self.game.update_state(state["game_state"], inputs, jax.random.fold_in(k_in, 1))
            state = {**state, "game_state": game_state}

        def loss_fn(group):
            return self.d_loss(self._with_group(state["params"], "d", group), state, inputs, (kr, kf, kp),
                               not self.lazy)

        (_, (model_state, outs, terms)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            self._group(state["params"], "d"))
        return grads, {**_carried(state, ("game_state",)), "model_state": model_state}, (outs, terms)

    def d_main(self, state, batch, rng):
        """One update of the D players on the objective (+ extras, + the penalty unless it is lazy), after the
        game's `update_state` of D's inputs when the state has a ``game_state``; nothing in a stage where the game's
        `trains_d` is False (no metrics)."""
        if not self.game.trains_d(self.stage):
            return state, {}
        carried = ("model_state", *_carried(state, ("game_state",)))
        grads, carry, (outs, terms) = self._accumulate(self._d_main_grads, state, carried, batch, rng)
        state = self._update({**state, **carry}, "d", grads)
        metrics = self._d_metrics(outs, terms)
        if self.began:
            state = self._began(state, metrics, outs)
        return state, metrics

    def _d_reg_grads(self, state, batch, rng):
        """D-reg's gradients on one batch: (grads, model state (as it was), penalty)."""
        k_in, kp = jax.random.split(rng)
        inputs = jax.lax.stop_gradient(
            self.game.d_inputs(self.players(state["params"], state), batch, k_in))

        def loss_fn(group):
            value = self._penalty(self.players(self._with_group(state["params"], "d", group), state), inputs, kp)
            return self.lc.reg_every * self.lc.penalty_weight * value, value

        (_, value), grads = jax.value_and_grad(loss_fn, has_aux=True)(self._group(state["params"], "d"))
        return grads, {}, value

    def d_reg(self, state, batch, rng):
        """Lazy regularisation: one D update on ``reg_every * weight * penalty`` alone (StyleGAN2's D-reg)."""
        if not self.game.trains_d(self.stage):
            return state, {}
        grads, _, value = self._accumulate(self._d_reg_grads, state, (), batch, rng)
        return self._update(state, "d", grads), {"penalty": value}

    def _g_reg_grads(self, state, batch, rng):
        """G-reg's gradients on one batch: (grads, reg state, terms)."""
        def loss_fn(group):
            players = self.players(self._with_group(state["params"], "g", group), state)
            terms, reg_state = self.game.g_reg(players, batch, rng, state["reg_state"])
            loss = _sum([self.weights[name] * value for name, value in terms.items()])
            return self.lc.g_reg_every * loss, (terms, reg_state)

        (_, (terms, reg_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(self._group(state["params"], "g"))
        return grads, {"reg_state": reg_state}, terms

    def g_reg(self, state, batch, rng):
        """Lazy G regularisation: one update of the G players on ``g_reg_every * sum(weight * term)`` of the
        game's G-reg terms (StyleGAN2's G-reg: path length every 4 steps)."""
        grads, carry, terms = self._accumulate(self._g_reg_grads, state, ("reg_state",), batch, rng)
        state = self._update({**state, **carry}, "g", grads)
        return state, {f"g_{name}": value for name, value in terms.items()}

    def _g_main_grads(self, state, batch, rng):
        """G-main's gradients on one batch: (grads, model state, terms)."""
        kz, kg, kd, ky = jax.random.split(rng, 4)
        inputs = self.game.g_inputs(self.players(state["params"], state), batch, (kz, ky))

        def loss_fn(group):
            return self.g_loss(self._with_group(state["params"], "g", group), state, inputs, (kg, kd))

        (_, (model_state, terms)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            self._group(state["params"], "g"))
        return grads, {"model_state": model_state}, terms

    def g_main(self, state, batch, rng):
        """One update of the G players through the current D players; counts the step; updates the EMA."""
        grads, carry, terms = self._accumulate(self._g_main_grads, state, ("model_state",), batch, rng)
        new = self._update({**state, **carry}, "g", grads)
        return self._finish(state, new), terms

    def _finish(self, old, new):
        new = {**new, "step": old["step"] + 1}
        if self.config.ema_decay > 0:
            new["ema"] = updates.ema_update(old["ema"], self._group(new["params"], "g"), self.config.ema_decay)
        return new

    def _joint_grads(self, state, batch, rng):
        """The joint phase's gradients (every player) on one batch: (grads, model state, (outs, metrics))."""
        k_a, k_b, kp = jax.random.split(rng, 3)
        inputs = self.game.joint_inputs(self.players(state["params"], state), batch, (k_a, k_b))

        def loss_fn(params):
            players = self.players(params, state)
            d_outs, critics, g_outs = self.game.joint_terms(players, inputs, kp)
            d_loss = self._d_objective(state, d_outs)
            total = d_loss
            if self.lc.penalty != "none":
                total = total + self.lc.penalty_weight * _sum(
                    [penalties.penalty(self.lc.penalty, fn, real, fake, kp, self.lc.dragan_c)
                     for fn, real, fake in critics.values()])
            g_loss = _sum([self.g_obj(out) for out in g_outs.values()])
            return total + g_loss, (players.model_state, d_outs, {"d_loss": d_loss, "g_loss": g_loss})

        grads, (model_state, outs, metrics) = jax.grad(loss_fn, has_aux=True)(state["params"])
        return grads, {"model_state": model_state}, (outs, metrics)

    def joint(self, state, batch, rng):
        """Both groups step from one gradient at the same point (PacGAN's / ALI's simultaneous update)."""
        grads, carry, (outs, metrics) = self._accumulate(self._joint_grads, state, ("model_state",), batch, rng)
        new = {**state, **carry}
        for role in ("g", "d"):
            new = self._update(new, role, self._group(grads, role))
        new = self._finish(state, new)
        if self.began:
            new = self._began(new, metrics, outs)
        return new, metrics

    def losses(self, params, state, batch, rng):
        """Both groups' losses at `params` on one batch: {"d_loss", "g_loss"} (D's with its extras and penalty,
        unscaled by any lazy interval). D's fakes stay differentiable in G's parameters, so derivatives across
        the players (the game Jacobian) exist; model state (BatchNorm) is read, not updated."""
        k_in, kr, kf, kp = jax.random.split(_d_key(rng, 0), 4)
        inputs = self.game.d_inputs(self.players(params, state), batch, k_in)
        d_loss, _ = self.d_loss(params, state, inputs, (kr, kf, kp), True)
        kz, kg, kd, ky = jax.random.split(_g_key(rng), 4)
        g_inputs = self.game.g_inputs(self.players(params, state), batch, (kz, ky))
        g_loss, _ = self.g_loss(params, state, g_inputs, (kg, kd))
        return {"g_loss": g_loss, "d_loss": d_loss}


def _carried(state, keys) -> dict:
    """The entries of `state` among `keys` that it has (optional parts of the state: a game's state)."""
    return {key: state[key] for key in keys if key in state}


def _d_key(rng, i):  # the key of the i-th D-main phase of a step
    return jax.random.fold_in(jax.random.fold_in(rng, 0), i)


def _g_key(rng):
    return jax.random.fold_in(rng, 1)


def _reg_key(rng):
    return jax.random.fold_in(rng, 2)


def _g_reg_key(rng):
    return jax.random.fold_in(rng, 3)


def _g_reg_on(config, game) -> bool:
    """Whether the game's lazy G-reg phase runs: it has G-reg terms and one of them has a weight > 0."""
    weights = {**game.weights, **_weights(config)}
    return game.g_reg is not None and any(config_lib.is_traced(weights[t]) or weights[t] > 0 for t in game.g_reg_terms)


def create_task(config, info: dict, mesh) -> loop.Task:
    """The adversarial regime of `config` (its game on data described by `info`), data-parallel over `mesh`."""
    game = games.get(config.get("game", "unconditional")).build(config, info, mesh)
    _check(config, game)
    lc = config.loss
    lazy = lc.penalty != "none" and lc.reg_every > 1
    simultaneous = config.get("update_mode", "alternating") == "simultaneous"
    g_lazy = _g_reg_on(config, game)
    micro = config.accumulate
    tx = {"g": optimizers.make(config.optimizer.g, "optimizer.g", lazy_interval=lc.g_reg_every if g_lazy else 1),
          "d": optimizers.make(config.optimizer.d, "optimizer.d", clip=lc.clip,
                               lazy_interval=lc.reg_every if lazy else 1)}
    replicated = sharding.replicated(mesh)
    staged = len(game.stage_starts) > 1
    phases = [_Phases(config, game, tx, s) for s in range(len(game.stage_starts))]

    def stage_of(step_index: int) -> int:
        return sum(1 for start in game.stage_starts if start <= step_index) - 1

    def init(rng):
        params, model_state = game.init(rng)
        state = {"step": jnp.zeros((), jnp.int32), "params": params, "model_state": model_state,
                 "opt": {role: tx[role].init(phases[0]._group(params, role)) for role in ("g", "d")}}
        if config.ema_decay > 0:
            state["ema"] = phases[0]._group(params, "g")
        if phases[0].began:
            state["loss_state"] = {"k": jnp.zeros((), jnp.float32)}
        if staged:
            state["stage"] = jnp.zeros((), jnp.int32)
        if g_lazy:
            state["reg_state"] = game.g_reg_init()
        game_state = game.state_init()
        if game_state:
            state["game_state"] = game_state
        return state

    # Each phase compiles once per stage, with the backend's compiler options; it takes a list of `micro` batches.
    def phase_jit(fn):
        return compilation.jit(accelerator.stacking(fn, micro), donate_state=True,
                               out_shardings=(replicated, replicated))

    def fused_fn(p):
        def fused(state, batch, rng):
            state, d_metrics = p.d_main(state, batch, _d_key(rng, 0))
            state, g_metrics = p.g_main(state, batch, _g_key(rng))
            return state, {**d_metrics, **g_metrics}
        return fused

    jitted = [{"d_main": phase_jit(p.d_main), "d_reg": phase_jit(p.d_reg), "g_main": phase_jit(p.g_main),
               "g_reg": phase_jit(p.g_reg),
               "fused": phase_jit(fused_fn(p)), "joint": phase_jit(p.joint)} for p in phases]
    begin_stage = jax.jit(game.begin_stage, static_argnums=1, donate_argnums=0, out_shardings=replicated)

    def next_input(next_batch):  # what a phase reads: the game's keys of `micro` batches
        def read():
            if game.synthetic:
                return {}
            b = next_batch()
            return {k: b[k] for k in game.batch_keys}

        return accelerator.batches(read, micro)

    def step(state, next_batch, rng, step_index):
        stage = stage_of(step_index)
        if staged and step_index == game.stage_starts[stage] and stage > 0:
            state = begin_stage({**state, "stage": jnp.asarray(stage, jnp.int32)}, stage)
        jit = jitted[stage]
        if simultaneous:
            return jit["joint"](state, next_input(next_batch), rng)
        reg_due = lazy and step_index % lc.reg_every == 0
        g_reg_due = g_lazy and step_index % lc.g_reg_every == 0
        if config.n_critic == 1 and config.fuse_phases and not reg_due and not g_reg_due:
            return jit["fused"](state, next_input(next_batch), rng)
        d_metrics = []
        for i in range(config.n_critic):
            batch_in = next_input(next_batch)
            state, m = jit["d_main"](state, batch_in, _d_key(rng, i))
            d_metrics.append(m)
        metrics = _mean_metrics(d_metrics)
        if reg_due:
            state, reg_metrics = jit["d_reg"](state, batch_in, _reg_key(rng))
            metrics.update(reg_metrics)
        state, g_metrics = jit["g_main"](state, batch_in, _g_key(rng))
        if g_reg_due:
            state, g_reg_metrics = jit["g_reg"](state, batch_in, _g_reg_key(rng))
            g_metrics.update(g_reg_metrics)
        return state, {**metrics, **g_metrics}

    # The jitted phases of the first stage, (state, batch, rng) -> (state, metrics), for tests and benchmarks.
    step.phases = jitted[0]

    def update_batches(batches, i):  # the batch of update i (k = 1), or its `micro` batches [micro, B, ...]
        return jax.tree.map(lambda x: x[i] if micro == 1 else x[i * micro:(i + 1) * micro], batches)

    def pure_step(state, batches, rng):
        """A whole step as one pure function: `batches` holds the step's `n_critic` x `accumulate` batches stacked
        on a leading axis. What a sweep vmaps over its runs (lazy regularisation and stages, scheduled by the host,
        have none)."""
        p = phases[0]
        if simultaneous:
            return p.joint(state, update_batches(batches, 0), rng)
        d_metrics = []
        for i in range(config.n_critic):
            batch_in = update_batches(batches, i)
            state, m = p.d_main(state, batch_in, _d_key(rng, i))
            d_metrics.append(m)
        state, g_metrics = p.g_main(state, batch_in, _g_key(rng))
        return state, {**_mean_metrics(d_metrics), **g_metrics}

    def losses(params, state, batch, rng):  # the losses of the state's stage (a host value)
        return phases[int(state["stage"]) if staged else 0].losses(params, state, batch, rng)

    @functools.partial(compilation.jit, static_argnums=(2, 5), out_shardings=replicated)
    def _generate(state, rng, n, labels, source, stage):
        params = phases[0]._with_group(state["params"], "g", state["ema"]) if config.ema_decay > 0 else state["params"]
        images = game.sample(Players(game.modules, params, state["model_state"], stage, state["step"]), rng, n, labels,
                             source)
        if images.ndim != 4:  # points [n, d] of a toy distribution, in their own units
            return images
        return jnp.clip(images, -1.0, 1.0)  # a linear output (ProGAN, StyleGAN, LapGAN) as its images are shown

    def generate(state, rng, n, labels=None, source=None):
        if source is None and game.default_source is not None:  # a translation game's held-out inputs
            source = game.default_source(n)
        if game.num_classes is not None and labels is None:  # one class per example, cycling 0, 1, ..., K-1
            labels = jnp.arange(n, dtype=jnp.int32) % game.num_classes
        stage = int(state["stage"]) if staged else 0
        return _generate(state, rng, n, labels if game.num_classes is not None else None, source, stage)

    def generator_args(state, labels=None):
        stage = int(state["stage"]) if staged else 0
        return game.net_args(Players(game.modules, state["params"], state["model_state"], stage, state["step"]),
                             labels)

    task = loop.Task(init=compilation.jit_once(init, out_shardings=replicated), step=step, generate=generate,
                     num_classes=game.num_classes, pure_step=None if (lazy or g_lazy or staged) else pure_step,
                     batches_per_step=(1 if simultaneous else config.n_critic) * micro, losses=losses,
                     modules=dict(game.modules), groups={"g": tuple(game.g_players), "d": tuple(game.d_players)},
                     source_shape=getattr(game, "source_shape", None),
                     generator_args=generator_args if hasattr(game, "net_args") else None)
    if config.get("eval") is not None and config.eval.every > 0:  # workdirs saved before config.eval existed have none
        task.evaluate = (game.evaluator or _evaluator)(config, task)
    return task


def _evaluator(config, task):
    """(state, rng) -> the metrics of `config.eval` for `config.eval.num_samples` samples of the state."""
    from jaxgen.metrics import evaluate

    ev = config.eval
    protocol = evaluate.Protocol.parse(ev.metrics, num_samples=ev.num_samples, split=ev.split, features=ev.features)

    nets = []  # the feature network, resolved (restored and compiled) at the first evaluation only

    def run(state, rng):
        if not nets:
            nets.append(evaluate.feature_net(protocol, config.data.name))
        samples = evaluate.generate_samples(task, state, protocol.num_samples, rng)
        return evaluate.evaluate(samples, config.data, protocol, net=nets[0])

    return run


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains the game of `config` in `workdir` (resuming if it holds checkpoints); returns the state.

    `mesh` defaults to a ("data",) mesh over every device of every process.
    """
    return loop.train_from_config(config, workdir, create_task, allow_config_change, mesh)
