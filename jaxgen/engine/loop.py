"""The training loop every trainer shares.

A trainer describes its regime as a `Task` (initial state, one training step, a sampler); `train` runs it:
a workdir lock, workdir checks, automatic resume (model state and data iterator state), progress bar, metrics,
fixed-noise sample grids, periodic evaluation (``config.eval.every``) with a best checkpoint by
``config.eval.best_metric``, periodic and final checkpoints (written in the background), a checkpoint on Ctrl-C
or SIGTERM (what SLURM and TPU preemption send), and a stop with a clear message on a non-finite loss. A
checkpoint is only written when every float in the state is finite, so the newest checkpoint is always one a
run can go on from.

Randomness (`jaxgen.engine.keys`): the key of step s is `fold_in(fold_in(key(seed), TRAIN_STREAM), s)`, so a
run is a pure function of (config, seed, data order, device count) and a resumed run replays exactly the
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import tqdm
from jax.experimental import multihost_utils

from jaxgen.data import pipeline
from jaxgen.engine import checkpoint as checkpoint_lib
from jaxgen.engine import keys, sharding, writers
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import ConfigError, Interrupted, JaxgenError, NonFiniteLoss, TimeBudgetReached

State = Any


@dataclasses.dataclass
class Task:
    """A training regime, as pure functions of the state.

    init:     rng -> state, placed on the mesh (params replicated).
    step:     (state, next_batch, rng, step) -> (state, metrics); `next_batch()` returns the next global
              batch (dict of arrays sharded over "data"); `step` (int) is the number of steps done before
              this one (for host-side schedules such as lazy regularisation); metrics are scalar arrays.
    generate: (state, rng, n, labels=None) -> images [n, H, W, C] in [-1, 1] (for sample grids and
              `jaxgen sample`); `labels` int32 [n] for a class-conditional task, else None. None for a
              task that draws no samples (a classifier).
    num_classes: the number of classes a conditional task's generator takes; None if unconditional.
    evaluate: (state, rng) -> {metric name: float}, run every `config.eval.every` steps and at the end
              (None: no evaluation); names as `jaxgen.metrics.names`.
    pure_step: (state, batches, rng) -> (state, metrics), the same step as one pure, unjitted function of
              its `batches_per_step` batches stacked on a leading axis (what `jaxgen sweep` vmaps over runs);
              None where the host schedules part of the step.
    losses:   (params, state, batch, rng) -> {name: scalar}, the training losses as functions of the
              parameters on one batch (what `jaxgen research` differentiates and slices); None if not offered.
    check_finite: stop with `NonFiniteLoss` when a metric is NaN/inf (a sweep reports diverged runs instead).
    modules:  {name: flax Module} of the task's networks (a GAN's players, a density's network), whose
              `apply({"params": state["params"][name], **state["model_state"][name]}, ...)` runs them; for
              `jaxgen.load(...).apply`. Empty where the task has no Linen networks.
    generator_args: (state, labels=None) -> the arguments G takes after its latent at `state` (a conditional
              model's labels, the progressive game's (stage, alpha)): what `jaxgen.edit` calls G with. None where
              the task has no generator of noise.
    source_shape: the (H, W, C) of one input image of a translation task (its `generate(..., source=[n, H, W, C])`);
              None for a task that draws from noise alone.
    groups:   {group: names in `state["params"]`} of a task whose players each minimise their own loss,
              `losses(...)[f"{group}_loss"]` over their group's parameters (an adversarial task: "g" and "d", its
              optimizer groups); empty where one loss moves every parameter. What `jaxgen research` probes.
    """

    init: Callable[[jax.Array], State]
    step: Callable[[State, Callable[[], dict], jax.Array, int], tuple[State, dict]]
    generate: Callable[..., jax.Array] | None
    num_classes: int | None = None
    evaluate: Callable[[State, jax.Array], dict] | None = None
    pure_step: Callable[[State, dict, jax.Array], tuple[State, dict]] | None = None
    batches_per_step: int = 1
    losses: Callable[..., dict] | None = None
    check_finite: bool = True
    modules: dict = dataclasses.field(default_factory=dict)
    groups: dict = dataclasses.field(default_factory=dict)
    source_shape: tuple | None = None
    generator_args: Callable[..., tuple] | None = None


def sample_grid(task: Task, state: State, rng: jax.Array, num: int,
                label: int | None = None) -> tuple[np.ndarray, int | None]:
    """Host images [M, H, W, C] for a sample grid, and its column count (None: a square-ish grid).

    Unconditional task: `num` images. Conditional task with `label`: `num` images of that class.
    Conditional task without `label`: one row per class and `writers.per_class_columns(num, K)` columns;
    every row is drawn with the same `rng`, so column j has the same noise in every row and the rows differ
    only in their class. The same (state, rng, num, label) give the same images.
    """
    if task.num_classes is None:
        return np.asarray(jax.device_get(task.generate(state, rng, num))), None
    if label is not None:
        return np.asarray(jax.device_get(task.generate(state, rng, num, np.full((num,), label, np.int32)))), None
    ncol = writers.per_class_columns(num, task.num_classes)
    rows = [task.generate(state, rng, ncol, np.full((ncol,), c, np.int32)) for c in range(task.num_classes)]
    return np.concatenate([np.asarray(r) for r in jax.device_get(rows)]), ncol


class _StopFlag:
    """Turns the first Ctrl-C or SIGTERM into a request to save and stop. A second Ctrl-C stops at once, except
    during a save: that save is finished first, so the newest checkpoint stays whole. A repeated SIGTERM does not:
    `timeout` and cluster schedulers send it to the process and to its group, or more than once, and it is theirs
    to follow with SIGKILL when the grace period is over.

    In a multi-process run SIGTERM is left to JAX's preemption service, which hears it on any process and makes
    every process agree on the step to save at (`reached`); Ctrl-C reaches every process of a terminal's job.
    """

    def __init__(self):
        self.requested = False
        self._saving = False
        self._previous = {}
        self._multi_process = jax.process_count() > 1

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            signals = (signal.SIGINT,) if self._multi_process else (signal.SIGINT, signal.SIGTERM)
            self._previous = {s: signal.signal(s, self._handle) for s in signals}
        return self

    def reached(self, step: int) -> bool:
        """Whether the run should save and stop after `step` (called after every step, on every process)."""
        if self._multi_process and multihost_utils.reached_preemption_sync_point(step):
            if not self.requested:
                print(f"\npreempted: saving a checkpoint at step {step} before stopping", file=sys.stderr)
            self.requested = True
        return self.requested

    def _handle(self, signum, frame):
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if self.requested and not self._saving and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.requested:
            if self._saving:
                print(f"\n{name}: a checkpoint is being written; stopping as soon as it is complete", file=sys.stderr)
            return
        self.requested = True
        print(f"\n{name}: saving a checkpoint before stopping (a second Ctrl-C stops at once)", file=sys.stderr)

    @contextlib.contextmanager
    def saving(self):
        """A save that a second Ctrl-C does not cut short."""
        self._saving = True
        try:
            yield
        finally:
            self._saving = False

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        return False


_clock = time.monotonic  # the time budget's clock (tests replace it)


class _TimeBudget:
    """``config.max_seconds``: the wall time this process may train for (compilation, sampling, evaluation and saves
    included; 0: no limit), after which the run saves and stops with :class:`TimeBudgetReached` (the CLI's exit
    status 75, "run again"): a cluster job whose allocation ends before ``num_steps`` stops cleanly instead of being
    killed, and the same command continues it.

    One process checks its clock after every step; several processes check at every `every`-th step (the log steps)
    and follow process 0's clock, so that all of them stop after the same step."""

    def __init__(self, seconds: float, every: int, multi_process: bool | None = None):
        self.seconds, self.every = float(seconds), max(1, int(every))
        self.multi_process = jax.process_count() > 1 if multi_process is None else multi_process
        self.start = self.now = _clock()

    def left(self) -> str:
        """The time left at the last check as "h:mm:ss" ("" without a budget): the progress bar shows it beside the
        ETA of ``num_steps``, which a budgeted run set to "run until stopped" does not reach."""
        if not self.seconds:
            return ""
        left = max(0, int(self.seconds - (self.now - self.start)))
        return f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"

    def reached(self, step: int) -> bool:
        """Whether the budget is spent after `step` (called after every step, on every process)."""
        if not self.seconds:
            return False
        if not self.multi_process:
            self.now = _clock()
            return self.now - self.start >= self.seconds
        if step % self.every:
            return False
        self.now = _clock()
        spent = np.asarray(self.now - self.start >= self.seconds)
        return bool(multihost_utils.broadcast_one_to_all(spent))


def _check_finite(step: int, metrics: dict, checkpointer) -> None:
    bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
    if bad:
        last = checkpointer.latest_step()
        where = (f"the last good checkpoint is step {last} in {checkpointer.directory}" if last is not None
                 else "no checkpoint was saved yet")
        raise NonFiniteLoss(f"non-finite {bad} at step {step}; stopped the run; {where}")


def train(config, workdir: str, task: Task, loader, mesh, info: dict,
          allow_config_change: bool = False) -> State:
    """Trains `task` for `config.num_steps` steps in `workdir`, resuming from its newest checkpoint."""
    eval_config = config.get("eval") or {}
    eval_every = eval_config.get("every", 0) if task.evaluate is not None else 0
    best_metric = eval_config.get("best_metric", "")
    if best_metric and not eval_every:
        raise ConfigError(f"config key 'eval.best_metric' is {best_metric!r} but nothing is evaluated: set "
                          f"eval.every to a positive number of steps (or eval.best_metric='')")
    workdir_lib.create(workdir)
    with workdir_lib.lock(workdir):
        workdir_lib.prepare(workdir, config, workdir_lib.run_info(info), allow_config_change)
        return _train(config, workdir, task, loader, mesh, eval_every, best_metric)


def _train(config, workdir, task, loader, mesh, eval_every, best_metric) -> State:
    sharding.sync_processes("train_start")  # Before the first collective (the checkpointer's).
    checkpointer = checkpoint_lib.Checkpointer(os.path.join(workdir, "checkpoints"), config.get("keep_checkpoints", 3))
    root = keys.root_key(config.seed)
    state = task.init(keys.init_key(root))
    data_iter = iter(loader)
    restored = checkpointer.restore(checkpoint_lib.abstract(state))
    step = 0
    if restored is not None:
        step, state, data_state = restored
        if data_state:
            pipeline.restore_iterator(data_iter, data_state["iterator"])
        print(f"resumed from checkpoint {step} in {checkpointer.directory}", file=sys.stderr)
    writer = writers.MetricWriter(workdir, resume_step=step if restored is not None else None)
    is_main = jax.process_index() == 0

    def next_batch():
        return sharding.shard_batch(next(data_iter), mesh)

    def save(at_step, wait=False):
        if not checkpoint_lib.all_finite(state):
            last = checkpointer.latest_step()
            raise NonFiniteLoss(
                f"the state became non-finite by step {at_step} (a learning rate too large?); it was not saved; "
                + (f"the last good checkpoint is step {last} in {checkpointer.directory}" if last is not None
                   else "no checkpoint was saved yet"))
        with stop.saving():
            checkpointer.save(at_step, state, {"iterator": pipeline.iterator_state_to_json(data_iter)})
            if wait:
                checkpointer.wait()

    def write_samples(at_step):
        if task.generate is None:
            return
        images, ncol = sample_grid(task, state, keys.sample_key(root), config.get("num_samples", 64))
        if is_main:
            path = writers.save_grid(os.path.join(workdir, "samples", f"step_{at_step:07d}.png"), images, ncol)
            writer.write_image(at_step, "samples", path)

    best = BestCheckpoint(workdir, best_metric)

    def run_eval(at_step):
        results = task.evaluate(state, keys.eval_key(root))
        writer.write(at_step, results)
        progress.write(f"step {at_step}: " + ", ".join(f"{k} {v:.5g}" for k, v in results.items()))
        best.update(at_step, results, state)

    budget = _TimeBudget(config.get("max_seconds", 0), config.log_every)
    if budget.seconds and is_main:
        print(f"time budget: saves and stops after {budget.seconds:g} s of this process (config.max_seconds)",
              file=sys.stderr)
    progress = _Progress(config.num_steps, step, enabled=is_main, budget=budget)
    pending, sums, count, timed, t_log = None, {}, 0, 0, None
    try:
        with _StopFlag() as stop:
            if step == 0:
                write_samples(0)
            while step < config.num_steps:
                state, metrics = task.step(state, next_batch, keys.step_key(root, step), step)
                step += 1
                if t_log is None:  # the first step of this process compiled: time the steps after it
                    t_log = time.perf_counter()
                else:
                    timed += 1
                if pending is not None:  # read the previous step's metrics while this one runs
                    progress.show(_account(pending, sums, checkpointer, task.check_finite))
                    count += 1
                pending = (step, metrics)
                progress.update(step)
                due_log, due_ckpt = step % config.log_every == 0, step % config.checkpoint_every == 0
                signalled = stop.reached(step)
                spent = budget.reached(step) and step < config.num_steps
                stopping = signalled or spent
                if due_log or due_ckpt or stopping or step == config.num_steps:
                    progress.show(_account(pending, sums, checkpointer, task.check_finite))
                    count += 1
                    pending = None
                if due_log:
                    now = time.perf_counter()
                    means = {k: total / n for k, (total, n) in sums.items()}
                    if timed:
                        means["steps_per_sec"] = timed / (now - t_log)
                    writer.write(step, means)
                    sums, count, timed, t_log = {}, 0, 0, now
                if step % config.sample_every == 0 or step == config.num_steps:
                    write_samples(step)
                if eval_every and (step % eval_every == 0 or step == config.num_steps):
                    run_eval(step)
                if due_ckpt or step == config.num_steps:
                    save(step)
                if stopping or stop.requested:  # a signal that came during this step's save stops here too
                    if pending is not None:
                        _account(pending, sums, checkpointer, task.check_finite)
                    save(step, wait=True)
                    if not stop.requested:
                        raise TimeBudgetReached(
                            f"time budget config.max_seconds={budget.seconds:g} reached at step {step} of "
                            f"{config.num_steps}; checkpoint saved in {checkpointer.directory}; run the same command "
                            f"again to continue")
                    raise Interrupted(f"interrupted at step {step}; checkpoint saved in {checkpointer.directory}; "
                                      f"run the same command again to resume")
            checkpointer.wait()
    except OSError as e:  # a full disk, a quota, permissions, writing metrics or a sample grid
        raise _write_failed(e, workdir, checkpointer) from e
    finally:
        for close in (progress.close, writer.close, checkpointer.close, best.close):
            with contextlib.suppress(OSError, checkpoint_lib.CheckpointWriteError):  # reported, if why it stopped
                close()
    return state


def _write_failed(error: OSError, workdir: str, checkpointer) -> JaxgenError:
    """The one-line error for a file that could not be written mid-run, naming the last good checkpoint."""
    last = checkpointer.latest_step()
    where = (f"the last good checkpoint is step {last} in {checkpointer.directory}" if last is not None
             else "no checkpoint was saved yet")
    return JaxgenError(f"could not write {error.filename or 'to ' + workdir}: {error.strerror or error}; {where}; "
                       f"free the space (or fix the permissions) and run the same command again to resume")


class _Progress:
    """The progress bar: "compiling…" until the first step of the process is done, then steps/s and an ETA from
    the steps after it (not from the compile), the time budget left (``budget_left``, with ``config.max_seconds``)
    and the latest step's losses."""

    def __init__(self, total: int, initial: int, enabled: bool, budget: _TimeBudget | None = None):
        self.total, self.enabled, self.first, self.budget = total, enabled, initial, budget
        self._bar = None
        self._postfix = {}
        if enabled and initial < total:
            print(f"compiling… (step {initial + 1} of {total} starts when its programs are built)", file=sys.stderr,
                  flush=True)

    def update(self, step: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = tqdm.tqdm(total=self.total, initial=step, unit="step", dynamic_ncols=True, file=sys.stderr,
                                  mininterval=1.0 if sys.stderr.isatty() else 30.0)
        else:
            self._bar.update(step - self._bar.n)
        left = self.budget.left() if self.budget is not None else ""
        self._bar.set_postfix({"budget_left": left, **self._postfix} if left else self._postfix, refresh=False)

    def show(self, values: dict) -> None:
        self._postfix = {k: f"{v:.3g}" for k, v in values.items() if "/" not in k}

    def write(self, text: str) -> None:
        (self._bar.write if self._bar is not None else print)(text, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class BestCheckpoint:
    """Keeps `workdir/checkpoints_best/<step>`: the state of the evaluation with the best `metric` so far.

    The best value and its step live in `workdir/best.json` (`{"metric", "value", "step"}`), which a resumed
    run reads back; `metric` "" disables it. Larger or smaller is better as `jaxgen.metrics.names` says.
    """

    def __init__(self, workdir: str, metric: str):
        from jaxgen.metrics import names

        self.metric, self.path = metric, os.path.join(workdir, "best.json")
        self.higher = names.higher_is_better(metric) if metric else True
        self.record = None
        if metric and os.path.exists(self.path):
            self.record = workdir_lib.read_json(self.path, "the best evaluation so far")
        if self.record is not None and self.record.get("metric") != metric:
            self.record = None  # the run now selects by another metric: start over
        self._checkpointer = checkpoint_lib.Checkpointer(os.path.join(workdir, "checkpoints_best"), 1) if metric else None

    def update(self, step: int, results: dict, state) -> None:
        if not self.metric:
            return
        if self.metric not in results:
            raise ConfigError(f"config key 'eval.best_metric' is {self.metric!r}, but the evaluation reports only "
                              f"{sorted(results)}; set it to one of them (or '' to keep no best checkpoint)")
        value = float(results[self.metric])
        old = None if self.record is None else self.record["value"]
        if old is None or (value > old if self.higher else value < old):
            self._checkpointer.save(step, state)
            self.record = {"metric": self.metric, "value": value, "step": step}
            if jax.process_index() == 0:
                writers.write_atomic(self.path, json.dumps(self.record))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()


def train_from_config(config, workdir: str, create_task, allow_config_change: bool = False, mesh=None) -> State:
    """A trainer's `train_and_evaluate`: the data loader of `config.data`, `create_task(config, info, mesh)`,
    then `train`. `mesh` defaults to a ("data",) mesh over every device of every process."""
    mesh = sharding.make_mesh() if mesh is None else mesh
    sharding.check_batch_size(config.batch_size, mesh)
    # Process 0 prepares a bundled dataset (on first use) before the other processes read it.
    info = pipeline.output_info(config.data) if jax.process_index() == 0 else None
    sharding.sync_processes("data_ready")
    info = info or pipeline.output_info(config.data)
    loader = pipeline.make_loader(config.data, global_batch_size=config.batch_size, seed=config.seed)
    task = create_task(config, info, mesh)
    return train(config, workdir, task, loader, mesh, info, allow_config_change)


def _account(pending, sums, checkpointer, check_finite: bool = True) -> dict:
    """Adds a step's metrics to `sums` (key -> [sum, count]: some metrics come only on some steps); returns them."""
    step, metrics = pending
    values = {k: float(v) for k, v in jax.device_get(metrics).items()}
    if check_finite:
        _check_finite(step, values, checkpointer)
    for k, v in values.items():
        total = sums.setdefault(k, [0.0, 0])
        total[0] += v
        total[1] += 1
    return values
