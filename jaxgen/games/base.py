"""The game protocol: what an adversarial family says about itself, and the players' call context.

A game is an object with

    modules:    {player name: flax Module}             every network of the game (G, D, two Gs and two Ds, ...)
    d_players, g_players: tuples of player names         updated by the D phases (optimizer.d) / G phases (optimizer.g)
    num_classes: int | None                              classes G takes (a conditional game), else None
    weights:    {term: default weight}                   the game's extra loss terms (config.loss.weights.<term>)
    stage_starts: (0, s1, s2, ...)                       the first step of each stage (one stage: (0,))
    synthetic:  bool                                     True when the game draws its own data (no loader)
    options:    ("dtype", "remat") or fewer              the config.<option>s it builds its networks with
                                                         (`jaxgen.engine.accelerator.network`); default none

and pure functions of `players` (a :class:`Players`: params and model state of every player, `players.stage` (a
static int) and `players.step` (the steps done before this one, a traced int32 scalar: fade-ins, schedules)):

    init(rng) -> (params, model_state)                   {player: ...} each
    d_inputs(players, batch, key) -> inputs              D's inputs from a batch: real images, fakes, labels ...
    d_terms(players, inputs, keys) -> (outs, extras)     outs {critic: (D(real), D(fake))} [N] each; extras {term: scalar}
    critics(players, inputs, key) -> {critic: (fn, real, fake)}   x -> D(x) [N] for the input-gradient penalties
    g_inputs(players, batch, keys) -> inputs             G's inputs: noise and labels, a source image ...
    g_terms(players, inputs, keys) -> (outs, extras)     outs {critic: D(G(...))}; extras {term: scalar} (L1, cycle, ...)
    sample(players, key, n, labels=None, source=None) -> images [n, ...] for grids and `jaxgen sample`

optionally `net_args(players, labels) -> tuple` (what G and D take after their input in a phase of `players`: the
label of a conditional game, the progressive game's stage and fade-in; editing tools call G with it),
`default_source(n) -> host images [n, ...]` (what a translation game translates when `sample` gets no
source: grids, `jaxgen sample`), `evaluator(config, task) -> (state, rng) -> {metric: float}` (the game's own
`config.eval` protocol in place of the trainer's sample-set metrics), `joint_inputs` / `joint_terms`
(simultaneous updates from one forward pass, PacGAN's protocol),
`g_reg` / `g_reg_terms` / `g_reg_init` (lazy G regularisation in its own phase: StyleGAN2's path length),
`begin_stage(state, stage) -> state` (run once when a stage starts: grow, freeze, reset, measure),
`trains_d(stage) -> bool` (False: the stage has no D phases at all, for a stage whose D players must not move and
whose optimizer state a later `begin_stage` resets: SRResNet before SRGAN; default True) and
`state_init() -> game_state` / `update_state(game_state, inputs, key) -> (inputs, game_state)` (a state of the
game's own, kept in `state["game_state"]` and so checkpointed, that D-main's inputs pass through before D sees
them: CycleGAN's history of fakes; an empty `state_init()` leaves the state without the entry).

A stage may have no critic (`d_terms` and `g_terms` return empty `outs`: a pre-training stage of G alone): the
objective is then 0, and the D players get zero gradients. A game whose `weights` include ``adversarial`` has G's
objective weighted by it (SRGAN's 1e-3); without that key G's objective has weight 1.

The trainer turns `outs` into losses with `config.loss.objective`, adds `config.loss.penalty` on `critics`,
weighs `extras` by `config.loss.weights`, and owns optimisation, phases, EMA, stages, sweeps and probes.
"""

from __future__ import annotations

import jax


def apply(module, params, model_state, args, rng, train: bool):
    """module(*args) -> (output, new model_state); `model_state` holds the non-param collections."""
    variables = {"params": params, **model_state}
    if train and model_state:
        out, new_state = module.apply(variables, *args, train=True, mutable=list(model_state), rngs={"dropout": rng})
        return out, dict(new_state)
    return module.apply(variables, *args, train=train, rngs={"dropout": rng}), model_state


class Players:
    """The players of one phase: `players(name, *args, rng=k)` runs a network and threads its model state.

    `params` and `model_state` are {player: ...}; a call with `update=False` leaves the model state as it was
    (what an input-gradient penalty wants). `model_state` after the calls is what the phase keeps.
    """

    def __init__(self, modules: dict, params: dict, model_state: dict, stage: int = 0, step=None):
        self.modules, self.params, self.model_state, self.stage = modules, params, dict(model_state), stage
        self.step = step

    def __call__(self, name: str, *args, rng: jax.Array, train: bool = True, update: bool = True):
        out, new_state = apply(self.modules[name], self.params[name], self.model_state[name], args, rng, train)
        if update:
            self.model_state[name] = new_state
        return out

    def frozen(self, *names: str) -> "Players":
        """The same players (sharing model state) with the parameters of `names` under `stop_gradient`."""
        params = {**self.params, **{n: jax.lax.stop_gradient(self.params[n]) for n in names}}
        view = Players(self.modules, params, {}, self.stage, self.step)
        view.model_state = self.model_state
        return view


def split_d_out(d_out):
    """D's output -> (adversarial output [N], class logits [N, K] or None); AC-GAN Ds return a pair."""
    return d_out if isinstance(d_out, tuple) else (d_out, None)


class Game:
    """Defaults of the optional parts of the protocol (see the module docstring)."""

    num_classes: int | None = None
    weights: dict = {}
    stage_starts: tuple[int, ...] = (0,)
    synthetic: bool = False
    options: tuple[str, ...] = ()  # accelerator options the game passes to its networks (float32 without them)
    default_source = None  # (n) -> host sources [n, ...] for `sample` when none is given (translation games)
    evaluator = None  # (config, task) -> (state, rng) -> {metric: float}; None: the trainer's sample-set metrics
    joint_inputs = None
    joint_terms = None
    g_reg = None  # (players, batch, key, reg_state) -> ({term: value}, reg_state): lazy G-reg terms
    g_reg_terms: tuple[str, ...] = ()  # their names (keys of `weights`); the phase runs when one weight is > 0

    def g_reg_init(self):
        """The G-reg terms' running state (e.g. the path length's moving mean), kept in `state["reg_state"]`."""
        return {}

    def begin_stage(self, state, stage: int):
        del stage
        return state

    def trains_d(self, stage: int) -> bool:
        """Whether the D phases of `stage` run. A stage without critics still runs them by default (zero gradients
        through the optimizer, which advances its step count: taming-transformers' VQ-GAN before its critic
        starts); a game whose next stage resets the optimizers says False and saves the phase."""
        del stage
        return True

    def state_init(self) -> dict:
        """The game's own state (arrays), kept in `state["game_state"]`; {} for none (no entry in the state)."""
        return {}

    def update_state(self, game_state, inputs, key):
        """(D-main's inputs, the game state) after one D-main phase: what D sees, and the state it leaves."""
        del key
        return inputs, game_state


class OneCritic(Game):
    """A game with one critic ``d`` that sees ``inputs["real"]`` and ``inputs["fake"]`` and nothing else (no labels,
    no class head): its `d_terms` and `critics` (the points game, the test two-stage game)."""

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        return {"d": (players("d", inputs["real"], rng=kr), players("d", inputs["fake"], rng=kf))}, {}

    def critics(self, players, inputs, key):
        return {"d": (lambda x: players("d", x, rng=key, update=False), inputs["real"], inputs["fake"])}
