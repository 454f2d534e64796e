"""`jaxgen sweep`: many small runs of one trainer as one compiled program, `jax.vmap` over the run axis.

    jaxgen sweep --config gan_mnist:tiny --workdir runs/sweep --over seed=0:16 --over lr=1e-4,2e-4

A sweep's config is the base experiment's config with `trainer = "sweep"` and a `sweep` block
``{"trainer": base trainer, "over": [[key, [values…]], …]}``; its runs are the Cartesian product of the
`over` lists (first key slowest). Each run is the base config with its values set, trained exactly as
`jaxgen train` would train it: same initial key ``fold_in(key(seed), INIT)``, same step keys, same data
stream (one loader per distinct seed, as `jaxgen train --config.seed=S` builds it), the trainer's own step
(`Task.pure_step`). The whole step of every run is one `jax.jit` of `jax.vmap` over runs; the run axis is
sharded over the devices (the largest count that divides the number of runs).

Swept keys. ``seed`` picks each run's keys and data order. Any other key must be numeric and used by the
trainer as a number: its per-run values enter the traced step as arrays (``lr`` is short for every
``learning_rate`` under ``optimizer``; a swept ``loss.clip`` turns weight clipping on where it is > 0).
``loss.objective`` may be swept over names (``--over loss.objective=ns,hinge,lsgan``): the trainer switches
on the run's index (``lax.switch``). Keys that shape the program (a width, a penalty's on/off) are refused
with the key's name; sweep them as separate sweeps. `run_program` gives the per-run pure functions to any
other driver of many runs (`jaxgen toy` scans them over steps).

Exactness. On XLA:CPU a run of a sweep is **not** bitwise identical to the run trained alone: XLA
rewrites batched programs (a dot with an operand shared by all runs is merged into one larger matmul;
the algebraic simplifier reassociates Adam's bias corrections differently for [N]-shaped and scalar
counts; reductions of batched arrays take another YNNPACK path), so the runs differ in the last bits
and then drift apart as chaotic training does. What holds bitwise is that a run does not depend on its
companions: the same run in another sweep of the same size gives the same bits (tested), and it agrees
with the run trained alone to float rounding (tested). See docs/research.md.

The workdir is an ordinary jaxgen workdir (checkpoints, exact resume, Ctrl-C, metrics.jsonl, TensorBoard,
sample grids with one row per run: `jaxgen sample --workdir W --label i` draws run i) plus `sweep.json`,
`sweep.csv` (one row per run: its values and final metrics) and `sweep.png` (every run's curves).
Diverged runs do not stop the sweep: their metrics turn NaN and `runs_finite` counts the others.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgen import config as config_lib
from jaxgen import optional, trainers
from jaxgen.data import pipeline
from jaxgen.engine import compilation, keys, loop, sharding
from jaxgen.errors import ConfigError

# String keys a sweep can vary inside one program: the trainer switches on their traced index (lax.switch).
CHOICE_KEYS = ("loss.objective",)


def parse_over(text: str) -> tuple[str, list]:
    """``"seed=0:16"`` (a Python range ``a:b[:step]``) or ``"key=v1,v2,…"`` -> (key, values)."""
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise ConfigError(f"--over {text!r} must be KEY=VALUES: a range a:b (e.g. seed=0:16) or a list "
                          f"v1,v2 (e.g. lr=1e-4,2e-4)")
    try:
        if ":" in spec:
            values = list(range(*(int(p) for p in spec.split(":"))))
        else:
            values = [_value(v.strip()) for v in spec.split(",") if v.strip()]
    except (ValueError, TypeError) as e:
        raise ConfigError(f"--over {text!r}: cannot read the values ({e}); use numbers such as 0:16 or 1e-4,2e-4") from e
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not values or not (numbers or all(isinstance(v, str) for v in values)):
        raise ConfigError(f"--over {text!r} must give at least one number, or names for {CHOICE_KEYS} (got {values})")
    return key, values


def _value(text: str):
    """A number as JSON reads it, else the text itself (an option of a CHOICE_KEYS key)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _config_keys(config, key: str) -> list[str]:
    """The dotted config keys a swept name sets (``lr``: every ``learning_rate`` under ``optimizer``)."""
    if key != "lr":
        return [key]
    flat = [k for k in _flatten(config.optimizer.to_dict(), "optimizer.") if k.endswith("learning_rate")]
    if not flat:
        raise ConfigError("--over lr: the config has no optimizer.*learning_rate key; name the key itself")
    return flat


def _flatten(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        out += _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out


def sweep_config(base, over) -> ml_collections.ConfigDict:
    """The config of a sweep of `base` over `over` ([(key, values)], as `parse_over` returns)."""
    if base.trainer == "sweep":
        raise ConfigError("the config is already a sweep; sweep its base config instead")
    keys = [k for k, _ in over]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--over names a key twice ({keys}); give each key once with all its values")
    for key, values in over:
        for dotted in _config_keys(base, key):
            parent, leaf = config_lib.locate(base, dotted)
            old = parent[leaf]
            if any(isinstance(v, str) for v in values):
                if dotted not in CHOICE_KEYS:
                    raise ConfigError(f"--over {key}: only {CHOICE_KEYS} can be swept over names; {dotted!r} shapes "
                                      f"the program: sweep it in separate sweeps")
                continue
            if isinstance(old, bool) or not isinstance(old, (int, float)):
                raise ConfigError(f"--over {key}: config key {dotted!r} holds {old!r}; only numeric keys can be swept")
            if isinstance(old, int) and any(isinstance(v, float) for v in values):
                raise ConfigError(f"--over {key}: config key {dotted!r} is an integer; give integer values")
    config = ml_collections.ConfigDict(base.to_dict())
    config.trainer = "sweep"
    config.sweep = ml_collections.ConfigDict({"trainer": base.trainer, "over": [[k, list(v)] for k, v in over]})
    config.lock()
    return config


def runs(config) -> list[dict]:
    """Every run of a sweep config: {swept key: value}, the Cartesian product of `sweep.over` in order."""
    over = [(k, list(v)) for k, v in config.sweep.over]
    return [dict(zip([k for k, _ in over], values)) for values in itertools.product(*[v for _, v in over])]


def run_config(config, values: dict, traced: bool = False) -> ml_collections.ConfigDict:
    """The base config of one run: `config` (a sweep's, or a trainer's) with `values` set and no `sweep` block.
    With `traced`, values may be tracers or Choices (inside the vmapped program) and are not type-checked."""
    base = config.to_dict()
    if "sweep" in base:
        base["trainer"] = base.pop("sweep")["trainer"]
    out = ml_collections.ConfigDict(base, type_safe=not traced)
    for key, value in values.items():
        for dotted in _config_keys(out, key):
            parent, leaf = config_lib.locate(out, dotted)
            parent[leaf] = value if traced or not isinstance(parent[leaf], float) else float(value)
    return out


def _seeds(config, table) -> list[int]:
    return [int(r.get("seed", config.seed)) for r in table]


@dataclasses.dataclass
class RunProgram:
    """The runs of a table as pure per-run functions, ready to vmap: what `jaxgen sweep` and `jaxgen toy` share.

    tasks:     each run's own task, built from its concrete values (which checks them)
    hp:        {key: [N]} the per-run values of the swept keys (a string key: indices into its choices)
    seeds:     [N] uint32
    init_one:  (run_hp, seed) -> state, exactly as `jaxgen train` initialises that run
    step_one:  (run_hp, seed, state, batches, step_index) -> (state, metrics): the trainer's `pure_step` with
               that run's step key
    """

    tasks: list
    hp: dict
    seeds: jax.Array
    init_one: Callable
    step_one: Callable


def run_program(config, table: list[dict], info: dict) -> RunProgram:
    """The runs `table` ([{key: value}], `seed` among them or not) of `config` (a sweep's or a trainer's)."""
    inner = trainers.get(config.sweep.trainer if "sweep" in config else config.trainer)
    tasks = [inner.create_task(run_config(config, r), info, None) for r in table]  # checks every run's values
    if tasks[0].pure_step is None:
        raise ConfigError(f"trainer {inner.__name__.split('.')[-1]!r} with this config has no pure step to vmap "
                          f"(a GAN with lazy regularisation or stages: set loss.reg_every=1 to sweep it)")
    traced = [k for k in table[0] if k != "seed"]
    choices = {k: tuple(dict.fromkeys(r[k] for r in table)) for k in traced if isinstance(table[0][k], str)}
    hp = {}
    for k in traced:
        if k in choices:
            hp[k] = jnp.asarray([choices[k].index(r[k]) for r in table], jnp.int32)
        else:
            hp[k] = jnp.asarray([r[k] for r in table], jnp.float32 if any(isinstance(r[k], float) for r in table)
                                else jnp.int32)

    def task_of(run_hp):
        values = {k: config_lib.Choice(v, choices[k]) if k in choices else v for k, v in run_hp.items()}
        try:
            return inner.create_task(run_config(config, values, traced=True), info, None)
        except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError,
                jax.errors.TracerIntegerConversionError) as e:
            raise ConfigError(f"--over {', '.join(traced)}: the trainer uses one of these keys to shape its "
                              f"program, not as a number, so runs with different values cannot share it; "
                              f"sweep it in separate sweeps") from e

    def init_one(run_hp, seed):  # traced inside the sweep's own program: the task's init function, not its jit
        init = task_of(run_hp).init
        return getattr(init, "__wrapped__", init)(keys.init_key(seed))

    def step_one(run_hp, seed, state, batches, step_index):
        return task_of(run_hp).pure_step(state, batches, keys.step_key(seed, step_index))

    return RunProgram(tasks, hp, jnp.asarray(_seeds(config, table), jnp.uint32), init_one, step_one)


def create_task(config, info: dict, mesh) -> loop.Task:
    """All runs of the sweep `config` as one task; its state is the runs' states stacked on a leading axis."""
    if jax.process_count() > 1:
        raise ConfigError("jaxgen sweep runs in one process (its run axis is sharded over that process's devices)")
    table = runs(config)
    n = len(table)
    prog = run_program(config, table, info)
    # Sampling does not depend on seeds, learning rates or loss weights: runs that differ only in those share
    # one task's compiled generator.
    shared = {}
    samplers = [shared.setdefault(_model_values(r), task) for r, task in zip(table, prog.tasks)]
    if mesh is not None and n % mesh.devices.size:
        mesh = run_mesh(n, mesh.devices.flat)
    runs_sharded = NamedSharding(mesh, P("data")) if mesh is not None else None

    def step_runs(run_hp, run_seeds, state, batches, step_index):
        state, metrics = jax.vmap(prog.step_one, in_axes=(0, 0, 0, 0, None))(run_hp, run_seeds, state, batches,
                                                                             step_index)
        return state, per_run_metrics(metrics)

    # plain jax.jit: the task's init is also traced inside other programs (jax.eval_shape on restore), and a
    # jit_once program, having compiler options, cannot nest
    init_all = jax.jit(lambda: jax.vmap(prog.init_one)(prog.hp, prog.seeds), out_shardings=runs_sharded)
    step_all = compilation.jit(step_runs, donate_argnums=2, out_shardings=(runs_sharded, sharding.replicated(mesh)))

    def step(state, next_batch, rng, step_index):
        del rng  # each run's key comes from its own seed, as in `jaxgen train`
        return step_all(prog.hp, prog.seeds, state, next_batch(), jnp.int32(step_index))

    def generate(state, rng, num, labels=None):
        """Run `labels[0]`'s samples (a grid has one row per run; `jaxgen sample --label i` gives run i)."""
        i = 0 if labels is None else int(np.asarray(labels)[0])
        run_state = jax.tree.map(lambda x: x[i], state)
        return samplers[i].generate(run_state, rng, num)

    return loop.Task(init=lambda rng: init_all(), step=step, generate=generate, num_classes=n, check_finite=False,
                     batches_per_step=prog.tasks[0].batches_per_step)


def _model_values(run: dict) -> tuple:
    """The run's values of keys that may change how it samples (all but seed, lr, optimizer.* and loss.*)."""
    return tuple((k, v) for k, v in run.items() if k not in ("seed", "lr") and not k.startswith(("optimizer.", "loss.")))


def per_run_metrics(metrics: dict) -> dict:
    """{name: [N]} -> {"name": mean over finite runs, "name/run07": run 7's value, "runs_finite": count}."""
    out, finite = {}, None
    for name, values in metrics.items():
        ok = jnp.isfinite(values)
        finite = ok if finite is None else finite & ok
        out[name] = jnp.sum(jnp.where(ok, values, 0.0)) / jnp.maximum(jnp.sum(ok), 1)
        out.update({f"{name}/run{i:02d}": values[i] for i in range(values.shape[0])})
    out["runs_finite"] = jnp.sum(finite)
    return out


class SweepLoader:
    """Every run's batches of a step, stacked: {"image": [N, k, B, H, W, C], …} with k = batches per step.

    One `pipeline.make_loader` per distinct seed (the stream `jaxgen train --config.seed=S` reads); its
    state (for checkpoints) is the list of those iterators' states.
    """

    def __init__(self, config, batches_per_step: int):
        self.seeds = _seeds(config, runs(config))
        self.distinct = sorted(set(self.seeds))
        self.loaders = [pipeline.make_loader(config.data, global_batch_size=config.batch_size, seed=s)
                        for s in self.distinct]
        self.k = batches_per_step

    def __iter__(self):
        return _SweepIterator(self)


class _SweepIterator:
    def __init__(self, loader: SweepLoader):
        self.owner = loader
        self.iterators = [iter(x) for x in loader.loaders]

    def __next__(self) -> dict:
        per_seed = []
        for it in self.iterators:
            steps = [next(it) for _ in range(self.owner.k)]
            per_seed.append({key: np.stack([b[key] for b in steps]) for key in steps[0]})
        index = {s: i for i, s in enumerate(self.owner.distinct)}
        return {key: np.stack([per_seed[index[s]][key] for s in self.owner.seeds]) for key in per_seed[0]}

    def get_state(self) -> bytes:
        return json.dumps({"seeds": self.owner.distinct,
                           "iterators": [json.loads(it.get_state().decode()) for it in self.iterators]}).encode()

    def set_state(self, state: bytes) -> None:
        for it, s in zip(self.iterators, json.loads(state.decode())["iterators"]):
            it.set_state(json.dumps(s).encode())


def run_mesh(num_runs: int, devices=None):
    """A ("data",) mesh over the largest number of devices that divides the number of runs."""
    devices = jax.devices() if devices is None else list(devices)
    count = max(d for d in range(1, len(devices) + 1) if num_runs % d == 0)
    return sharding.make_mesh(devices[:count])


def train_and_evaluate(config, workdir: str, allow_config_change: bool = False, mesh=None):
    """Trains every run of the sweep `config` in `workdir` (resuming if it holds checkpoints); writes the
    table and figure; returns the stacked state."""
    optional.check("matplotlib", "sweep.png")
    table = runs(config)
    mesh = run_mesh(len(table)) if mesh is None else mesh
    if len(table) % mesh.devices.size:
        raise ConfigError(f"{len(table)} runs do not split over {mesh.devices.size} devices; use a mesh whose size "
                          f"divides the number of runs")
    info = pipeline.output_info(config.data)
    task = create_task(config, info, mesh)
    loader = SweepLoader(config, task.batches_per_step)
    state = loop.train(config, workdir, task, loader, mesh, info, allow_config_change)
    write_results(workdir, config)
    return state


def logged_rows(workdir: str) -> list[dict]:
    """The lines of the workdir's metrics.jsonl."""
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def results(rows: list[dict], config) -> list[dict]:
    """One row per run from the logged `rows`: its index, swept values, final logged metrics, `diverged`."""
    last = {}
    for row in rows:  # the last value of each key (evaluations and logs may come on different steps)
        last.update({k: v for k, v in row.items() if "/run" in k})
    out = []
    for i, run in enumerate(runs(config)):
        metrics = {k.split("/run")[0]: v for k, v in last.items() if k.endswith(f"/run{i:02d}")}
        diverged = any(v is None or not math.isfinite(v) for v in metrics.values())
        out.append({"run": i, **run, **metrics, "diverged": diverged})
    return out


def curves(rows: list[dict], num_runs: int) -> dict:
    """{metric: (steps [T], values [T, N])} from the logged `rows`."""
    names = sorted({k.split("/run")[0] for row in rows for k in row if "/run" in k})
    out = {}
    for name in names:
        kept = [r for r in rows if f"{name}/run00" in r]
        values = np.array([[np.nan if r.get(f"{name}/run{i:02d}") is None else r[f"{name}/run{i:02d}"]
                            for i in range(num_runs)] for r in kept], np.float64)
        out[name] = (np.array([r["step"] for r in kept]), values)
    return out


def write_results(workdir: str, config) -> list[str]:
    """`sweep.json`, `sweep.csv` and `sweep.png` (one panel per metric, one line per run) in `workdir`."""
    rows = logged_rows(workdir)
    table = results(rows, config)
    paths = [os.path.join(workdir, name) for name in ("sweep.json", "sweep.csv", "sweep.png")]
    with open(paths[0], "w") as f:
        json.dump({"over": [[k, list(v)] for k, v in config.sweep.over], "runs": table}, f, indent=1)
    with open(paths[1], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in table for k in row)))
        writer.writeheader()
        writer.writerows(table)
    save_curves_png(paths[2], curves(rows, len(table)), [_label(r) for r in runs(config)])
    return paths


def _label(run: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in run.items())


def save_curves_png(path: str, data: dict, labels: list[str]) -> str:
    """A panel per metric; a line per run, coloured along the run order (the legend names ≤ 16 runs)."""
    from PIL import Image

    plt = optional.pyplot("sweep.png")
    names = list(data)
    cols = min(3, max(1, len(names)))
    rows = math.ceil(len(names) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0, 1, max(len(labels), 1)))
    for ax, name in zip(axes.flat, names):
        steps, values = data[name]
        for i in range(values.shape[1]):
            ax.plot(steps, values[:, i], color=colors[i], lw=1, label=labels[i])
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    if len(labels) <= 16 and names:
        axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80, format="png")
    plt.close(fig)
    Image.open(buffer).convert("RGB").quantize(64).save(path, format="PNG", optimize=True)
    return path
