"""The mode-coverage benchmark: losses x seeds on a toy mixture, vmapped into one program per group.

``jaxgen toy --losses all --dataset grid25 --seeds 10 --steps N`` trains every row of
:data:`jaxgen.losses.zoo.ROWS` on every seed and scores 2,500 samples of each run with
:mod:`jaxgen.metrics.mode_coverage` (PacGAN's Table 1 protocol).

How it runs. A *run* is one (loss, seed) pair. Runs whose networks and penalty coincide form a
*group* (e.g. mm, ns, wgan, lsgan, hinge: maxout D, no penalty). A group is trained by the adversarial
trainer (:mod:`jaxgen.trainers.gan`) on the points game (:mod:`jaxgen.games.points`) through the machinery of
`jaxgen sweep` (:func:`jaxgen.trainers.sweep.run_program`): its runs are a sweep over ``seed`` and the rows'
``loss.*`` values, the objective swept by name (the trainer's ``lax.switch`` on each run's index), the
per-row numbers (penalty weight, WGAN clip, DRAGAN's c, BEGAN's gains) as arrays. This module only drives
the runs: one ``jax.jit`` program per group, ``jax.vmap`` over runs of a ``lax.scan`` over steps, in chunks
so that progress (steps/s, ETA) is printed between them; the chunk program compiles once. Rows with
different penalties are different groups because a switch over penalties evaluates every branch once
vmapped (each a double backward through D).

Training protocol (PacGAN's synthetic experiments, from the authors' code): G and D are updated
*simultaneously* from the same minibatch (ALI's ``ali_algorithm``: both gradients are taken at the
current parameters, then both Adam steps are applied: the trainer's ``update_mode="simultaneous"``), batches of 100 packs, 2,500 samples scored.
Differences by default, for a CPU budget of minutes: the ``small`` networks of
:mod:`jaxgen.models.toy_mlp` (``--arch pacgan`` for theirs), Adam(2e-4, beta1 0.5) (theirs: 1e-4, 0.8),
thousands of steps (theirs: 400 epochs x 1,000 batches = 400,000), fresh data every step (theirs: a
fixed set of 100,000 points). WGAN clips D's parameters to ``[-clip, clip]`` after every update
(:func:`jaxgen.engine.optimizers.clip_params`); BEGAN updates ``k_t`` from the same batch.

Randomness depends only on the seed and the step, as in `jaxgen train --config.seed=S`: run
``(loss, seed)`` initialises from ``fold_in(key(seed), INIT)``, draws step ``s``'s data and noise from the
step key ``fold_in(fold_in(key(seed), TRAIN), s)`` and its scored samples from ``fold_in(key(seed), SAMPLE)``,
so every loss of a seed sees the
same initial G, data and noise, and a run's result does not depend on which other runs share its
program (tested, up to float rounding of batched matrix products).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from PIL import Image

from jaxgen import optional
from jaxgen.data import toy as toy_data
from jaxgen.defaults import gan as gan_defaults
from jaxgen.defaults import models as model_defaults
from jaxgen.defaults import optimizers as optimizer_defaults
from jaxgen.engine import compilation, keys, optimizers
from jaxgen.errors import ConfigError
from jaxgen.games import points as points_game
from jaxgen.games.base import Players
from jaxgen.losses import zoo
from jaxgen.metrics import mode_coverage
from jaxgen.models import toy_mlp
from jaxgen.trainers import sweep

_ROW_NUMBERS = ("penalty_weight", "clip", "dragan_c", "began_gamma", "began_lambda_k")  # swept per run


def default_config() -> ml_collections.ConfigDict:
    """The benchmark's keys (see the module docstring for how they differ from PacGAN's)."""
    return ml_collections.ConfigDict(dict(
        dataset="grid25",  # jaxgen.data.toy: ring8 | grid25 | mixture1d
        losses="ns",  # "all" or comma-separated rows of jaxgen.losses.zoo.ROWS
        seeds=10,  # runs per loss: seeds first_seed .. first_seed + seeds - 1
        first_seed=0,
        steps=3000,  # PacGAN: 400 epochs x 1,000 batches = 400,000
        batch_size=100,  # packs per batch (D sees batch_size packs, G makes batch_size * pack samples)
        pack=1,  # m of PacGAN-m; 1 = no packing
        model=model_defaults.toy_mlp(),
        optimizer=optimizer_defaults.adam(),  # both players; PacGAN: learning_rate=1e-4, b1=0.8
        eval_samples=2500,  # points scored per run (PacGAN, VEEGAN)
        chunks=20,  # progress reports per group
    ))


def resolve_losses(names) -> tuple[str, ...]:
    """``"all"`` or a comma-separated string / sequence of zoo rows -> a tuple of row names."""
    if isinstance(names, str):
        names = tuple(zoo.ROWS) if names == "all" else tuple(n.strip() for n in names.split(",") if n.strip())
    names = tuple(names)
    unknown = [n for n in names if n not in zoo.ROWS]
    if unknown or not names:
        raise ConfigError(f"unknown loss {unknown[0] if unknown else '(none given)'!r} in --losses; "
                          f"choose 'all' or a comma-separated list of {sorted(zoo.ROWS)}")
    return tuple(dict.fromkeys(names))


def validate(config) -> None:
    """Raises ConfigError naming the bad key."""
    toy_data.get(config.dataset)
    resolve_losses(config.losses)
    for key in ("seeds", "steps", "batch_size", "pack", "eval_samples", "chunks"):
        if int(config[key]) < 1:
            raise ConfigError(f"{key} must be >= 1, got {config[key]}")
    if config.first_seed < 0:
        raise ConfigError(f"first_seed must be >= 0, got {config.first_seed}")
    optimizers.make(config.optimizer, "optimizer")
    toy_mlp.generator(config.model, (1,))
    toy_mlp.discriminator(config.model)


class Group(NamedTuple):
    """Rows that share one program: same discriminator kind and penalty."""

    d_kind: str  # toy_mlp.D_KINDS
    penalty: str  # penalties.PENALTIES
    losses: tuple[str, ...]

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(zoo.ROWS[name][0] for name in self.losses))

    @property
    def label(self) -> str:
        return f"{self.d_kind}/{self.penalty}: {','.join(self.losses)}"


def group_losses(names) -> list[Group]:
    """Splits zoo rows into groups that can be vmapped together (order of first appearance)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        cfg = zoo.loss_config(name)
        zoo.validate(cfg)
        kind = "autoencoder" if cfg.objective == "began" else "maxout"
        groups.setdefault((kind, cfg.penalty), []).append(name)
    return [Group(kind, penalty, tuple(rows)) for (kind, penalty), rows in groups.items()]


def trainer_config(config, group: Group) -> ml_collections.ConfigDict:
    """The adversarial trainer's config of `group`'s runs: the points game with PacGAN's simultaneous updates."""
    tc = gan_defaults.default_config("toy_mlp", group.losses[0], game="points")
    tc.update_mode = "simultaneous"
    tc.data.name = config.dataset
    tc.batch_size = int(config.batch_size)
    tc.model.update(config.model.to_dict())
    tc.model.d_kind, tc.model.pack = group.d_kind, int(config.pack)
    tc.optimizer.g = ml_collections.ConfigDict(config.optimizer.to_dict())
    tc.optimizer.d = ml_collections.ConfigDict(config.optimizer.to_dict())
    return tc


def run_table(group: Group, seeds: list[int]) -> list[dict]:
    """The group's runs, loss-major: {"seed", "loss.objective", and the row's numbers}."""
    table = []
    for name in group.losses:
        row = zoo.loss_config(name)
        table += [{"seed": s, "loss.objective": row.objective,
                   **{f"loss.{k}": float(row[k]) for k in _ROW_NUMBERS}} for s in seeds]
    return table


@dataclasses.dataclass
class Result:
    """Everything a benchmark run produced; ``metrics[loss][name]`` and ``samples[loss]`` have a seed axis."""

    config: dict
    metrics: dict  # loss -> {"modes_captured", "high_quality", "reverse_kl"} arrays [seeds]
    samples: dict  # loss -> [seeds, eval_samples, dim]
    curves: dict  # loss -> {"d_loss", "g_loss"} [chunks, seeds]: chunk means
    timings: dict  # group label -> {"compile_s", "run_s", "runs", "steps_per_s"}
    wall_s: float


def chunk_program(prog: sweep.RunProgram, steps: int, chunk: int) -> Callable:
    """``(hp, seeds, states, first) -> (states, logs)``: steps ``first .. first + chunk - 1`` of every run
    (a ``lax.scan`` vmapped over runs; steps from ``steps`` on are skipped); logs are chunk means ``[runs]``."""

    def one_run(run_hp, seed, state, first):
        def body(state, i):
            def do(state):
                return prog.step_one(run_hp, seed, state, {}, first + i)

            def skip(state):  # past the last step: the last chunk may be partial
                shapes = jax.eval_shape(do, state)[1]
                return state, jax.tree.map(lambda m: jnp.full(m.shape, jnp.nan, m.dtype), shapes)

            return jax.lax.cond(first + i < steps, do, skip, state)

        state, logs = jax.lax.scan(body, state, jnp.arange(chunk))
        return state, jax.tree.map(jnp.nanmean, logs)

    return jax.vmap(one_run, in_axes=(0, 0, 0, None))


def sample(game, state, seed, n: int) -> jax.Array:
    """``n`` points ``[n, dim]`` of one run (G with BatchNorm's population statistics), drawn by the game from
    the run's sample stream ``fold_in(key(seed), SAMPLE)``."""
    players = Players(game.modules, state["params"], state["model_state"])
    return game.sample(players, keys.sample_key(seed), n)


def run(config, report: Callable[[str], None] = print) -> Result:
    """Trains every (loss, seed) run of ``config`` and scores its samples; ``report`` receives progress lines."""
    validate(config)
    start_time = time.perf_counter()
    mixture = toy_data.get(config.dataset)
    losses = resolve_losses(config.losses)
    seeds = list(range(config.first_seed, config.first_seed + config.seeds))
    steps, chunk = int(config.steps), math.ceil(config.steps / min(config.chunks, config.steps))
    result = Result(config.to_dict(), {}, {}, {}, {}, 0.0)
    for group in group_losses(losses):
        tconfig, info = trainer_config(config, group), {"image_shape": (mixture.dim,)}
        prog = sweep.run_program(tconfig, run_table(group, seeds), info)
        runs = len(prog.tasks)
        states = compilation.jit_once(jax.vmap(prog.init_one))(prog.hp, prog.seeds)
        t0 = time.perf_counter()
        compiled = jax.jit(chunk_program(prog, steps, chunk), donate_argnums=2).lower(
            prog.hp, prog.seeds, states, jnp.int32(0)).compile()
        compile_s = time.perf_counter() - t0
        report(f"[{group.label}] {runs} runs compiled in {compile_s:.1f}s")
        logs, t0 = [], time.perf_counter()
        for first in range(0, steps, chunk):
            states, log = compiled(prog.hp, prog.seeds, states, jnp.int32(first))
            logs.append(jax.device_get(log))
            done, elapsed = min(first + chunk, steps), time.perf_counter() - t0
            rate = done / elapsed
            report(f"[{group.label}] step {done}/{steps}  {rate:.1f} steps/s  "
                   f"ETA {(steps - done) / rate:.0f}s  d_loss {np.nanmean(log['d_loss']):.3f}  "
                   f"g_loss {np.nanmean(log['g_loss']):.3f}")
        run_s = time.perf_counter() - t0
        result.timings[group.label] = {"compile_s": compile_s, "run_s": run_s, "runs": runs,
                                       "steps_per_s": steps / run_s}
        samples = jax.jit(jax.vmap(functools.partial(sample, points_game.build(tconfig, info, None), n=config.eval_samples)))(
            states, prog.seeds)
        scores = jax.jit(jax.vmap(lambda x: mode_coverage.mode_coverage(x, mixture.means, mixture.std)))(samples)
        scores, samples = jax.device_get(scores), np.asarray(samples)
        for i, name in enumerate(group.losses):
            rows = slice(i * len(seeds), (i + 1) * len(seeds))
            result.metrics[name] = {k: np.asarray(v)[rows] for k, v in scores.items()}
            result.samples[name] = samples[rows]
            result.curves[name] = {k: np.stack([lg[k][rows] for lg in logs]) for k in ("d_loss", "g_loss")}
    result.wall_s = time.perf_counter() - start_time
    return result


def summary(result: Result) -> dict:
    """Per loss: mean and sample std (ddof=1) over seeds of each metric; ``reverse_kl`` over the seeds
    where it is defined, ``undefined_kl`` counting the others (no high-quality point)."""
    out = {}
    for name, m in result.metrics.items():
        row = {}
        for key, values in m.items():
            values = np.asarray(values, np.float64)
            finite = values[np.isfinite(values)]
            row[key] = {"mean": float(finite.mean()) if finite.size else float("nan"),
                        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0}
        row["undefined_kl"] = int(np.sum(~np.isfinite(m["reverse_kl"])))
        out[name] = row
    return out


def markdown_table(result: Result) -> str:
    """The results as a Markdown table (mean ± std over seeds), the way PacGAN's Table 1 reports them."""
    num_modes = toy_data.get(result.config["dataset"]).num_modes
    seeds = result.config["seeds"]
    lines = [f"| loss | modes (max {num_modes}) | high-quality samples (%) | reverse KL |",
             "|---|---:|---:|---:|"]
    for name, row in summary(result).items():
        kl = f"{row['reverse_kl']['mean']:.2f} ± {row['reverse_kl']['std']:.2f}"
        if row["undefined_kl"]:  # seeds without any high-quality sample
            kl = "undefined" if row["undefined_kl"] == seeds else kl + f" ({seeds - row['undefined_kl']} seeds)"
        lines.append(f"| {name} | {row['modes_captured']['mean']:.1f} ± {row['modes_captured']['std']:.1f} | "
                     f"{100 * row['high_quality']['mean']:.1f} ± {100 * row['high_quality']['std']:.1f} | {kl} |")
    return "\n".join(lines)


def timing_lines(result: Result) -> list[str]:
    lines = [f"{label}: {t['runs']} runs, compile {t['compile_s']:.1f}s, run {t['run_s']:.1f}s "
             f"({t['steps_per_s']:.1f} steps/s)" for label, t in result.timings.items()]
    return lines + [f"total wall time {result.wall_s:.1f}s"]


def save_samples_png(path: str, samples: np.ndarray, mixture: toy_data.Mixture, titles: list[str]) -> str:
    """One panel per seed: a scatter of 2-D samples over the modes (x), or a histogram for 1-D data."""
    plt = optional.pyplot("the toy benchmark's scatter plots")
    n = len(samples)
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    extent = 1.5 * float(np.abs(mixture.means).max()) + 10 * mixture.std
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for ax, points, title in zip(axes.flat, samples, titles):
        if mixture.dim == 1:
            ax.hist(points[:, 0], bins=100, range=(-extent, extent), color="black")
            ax.plot(mixture.means[:, 0], np.zeros(mixture.num_modes), "rx")
        else:
            ax.scatter(points[:, 0], points[:, 1], s=1, c="black", alpha=0.3, linewidths=0)
            ax.scatter(mixture.means[:, 0], mixture.means[:, 1], s=12, c="red", marker="x", linewidths=0.8)
            ax.set_ylim(-extent, extent)
            ax.set_aspect("equal")
        ax.set_xlim(-extent, extent)
        ax.set_title(title, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80, format="png")
    plt.close(fig)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.open(buffer).convert("RGB").quantize(32).save(path, format="PNG", optimize=True)  # 3x smaller
    return path


def write_outputs(result: Result, out_dir: str) -> list[str]:
    """``results.json`` (config, per-seed metrics, summary, loss curves, timings), ``results.md``, one
    ``samples_<loss>.png`` per loss (a panel per seed) and ``samples_overview.png`` (the first seed of
    every loss) in ``out_dir``; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    mixture = toy_data.get(result.config["dataset"])
    first = result.config["first_seed"]

    def caption(name, i):
        m = result.metrics[name]
        return f"{int(m['modes_captured'][i])} modes, {100 * float(m['high_quality'][i]):.0f}% HQ"

    paths = [save_samples_png(os.path.join(out_dir, f"samples_{name}.png"), samples, mixture,
                              [f"{name} seed {first + i}: {caption(name, i)}" for i in range(len(samples))])
             for name, samples in result.samples.items()]
    names = list(result.samples)
    paths.append(save_samples_png(os.path.join(out_dir, "samples_overview.png"),
                                  np.stack([result.samples[name][0] for name in names]), mixture,
                                  [f"{name} seed {first}: {caption(name, 0)}" for name in names]))

    def listed(tree):
        return jax.tree.map(lambda a: np.asarray(a).tolist(), tree)

    record = {"config": result.config, "summary": summary(result), "metrics": listed(result.metrics),
              "curves": listed(result.curves), "timings": result.timings, "wall_s": result.wall_s}
    paths.append(os.path.join(out_dir, "results.json"))
    with open(paths[-1], "w") as f:
        json.dump(record, f, indent=1, allow_nan=True)
    paths.append(os.path.join(out_dir, "results.md"))
    with open(paths[-1], "w") as f:
        f.write(markdown_table(result) + "\n\n" + "\n".join(f"- {line}" for line in timing_lines(result)) + "\n")
    return paths
