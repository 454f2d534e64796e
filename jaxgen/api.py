"""The Python API for notebooks: a trained run (a workdir or an exported file) as one `Model` object.

    import jaxgen
    m = jaxgen.load("runs/dcgan")            # newest checkpoint; step=N for another; ema=False: raw G weights
    images = m.sample(16, seed=0)            # numpy [16, H, W, C] in [-1, 1], as `jaxgen sample --seed 0`
    m.params, m.state, m.config, m.step, m.task
    m.apply("g", z, train=False)             # one network of `m.task.modules` on `m.params`
    m.losses()                               # {"g_loss", "d_loss"} (GAN) or {"nll_nats"}: jaxgen.research.probe
    jaxgen.api.export("runs/dcgan", "dcgan.msgpack")   # weights + config, no optimizer state
    m = jaxgen.load("dcgan.msgpack")

The export file is `flax.serialization` msgpack of ``{"format": "jaxgen-model", "version": 1, "config": the
config as JSON text, "run": the workdir's run.json, "step": int, "params", "model_state", ...}``: every entry
of the training state except ``"opt"`` (the optimizer state) and ``"step"`` (stored as the int).
"""

from __future__ import annotations

import operator
import os
import tempfile
from typing import Any

import jax
import numpy as np

from jaxgen.engine import loop
from jaxgen.errors import ConfigError, JaxgenError

FORMAT, VERSION = "jaxgen-model", 1
_HEADER = ("format", "version", "config", "run", "step")  # export keys that are not state entries
_NOT_EXPORTED = ("opt", "step")  # state entries an export leaves out (step is the header's int)


class Model:
    """A trained run, restored: sample from it, run its networks, read its parameters and training losses.

    Made by `load`; ``Model(config, task, state, step, ema=None, workdir=None, origin=None)`` wraps a task and
    state built any other way (`origin` names it in error messages).

    Attributes:
      config: the run's resolved `ml_collections` config.
      task:   the trainer's `jaxgen.engine.loop.Task`, rebuilt from the config.
      state:  the full restored training state (``{"step", "params", "model_state", "opt", ...}``; for an
              exported model ``"opt"`` holds zeros: the export has no optimizer state).
      step:   the checkpoint's step.
      ema:    whether sampling, `params` and `apply` use the generator's EMA weights (``state["ema"]``). A task
              samples from ``state["ema"]`` when the state has one; with ema=False `sample` hands it a state
              whose ``"ema"`` holds the raw generator weights.
      params: a host (numpy) copy of ``state["params"]``, with the generator's entry replaced by the EMA
              weights when `ema` is True: the weights `sample` draws with. A GAN's params are
              ``{"g": ..., "d": ...}``; a likelihood model's are its network's params directly.
      workdir: the workdir it was loaded from (None for an exported file).
    """

    def __init__(self, config, task: loop.Task, state, step: int, ema: bool | None = None,
                 workdir: str | None = None, origin: str | None = None):
        self.config, self.task, self.state, self.step, self.workdir = config, task, state, int(step), workdir
        self._source = origin or workdir or "this model"
        has_ema = "ema" in state
        if ema is None:
            ema = has_ema
        if ema and not has_ema:
            raise ConfigError(f"ema=True, but {self._source} has no EMA weights (the run trained with "
                              f"ema_decay=0); load it with ema=False (or leave ema unset)")
        self.ema = bool(ema)
        averaged = _ema_entries(state) if has_ema else {}
        self._sampling_state = state if self.ema else without_ema(state)
        params = jax.device_get(state["params"])
        if self.ema:
            params = {**params, **jax.device_get(averaged)}
        self.params = params
        self._probes = {}

    def __repr__(self) -> str:
        return (f"Model({self._source!r}, trainer={self.config.trainer!r}, model={self.config.model.name!r}, "
                f"step={self.step}, ema={self.ema})")

    @property
    def num_classes(self) -> int | None:
        """The class count of a class-conditional model; None if unconditional."""
        return self.task.num_classes

    def sample(self, n: int, seed: int = 0, labels=None, source=None, psi: float | None = None) -> np.ndarray:
        """`n` images, numpy float32 [n, H, W, C] in [-1, 1], drawn with ``jax.random.key(seed)``.

        The task's ``generate(state, key(seed), n, labels)``: for an unconditional model the images
        ``jaxgen sample --seed S --num n`` draws. `labels` (class-conditional models only): an int (every
        image of that class, as ``jaxgen sample --label L``) or a sequence of n ints; default: classes
        cycling 0, 1, …, K-1. `source`: the input images of a translation task (pix2pix), float [n, H, W, C] in
        [-1, 1], or the path of an image file (resized to the model's input; n = 1) or of an .npz/.npy of images,
        passed on as ``generate(..., source=source)``; without it a translation model translates the held-out
        test split's first n inputs (which needs the dataset). `psi` (style-based generators only): the same images
        with w truncated toward the average w, ``w_avg + psi (w - w_avg)`` (`jaxgen.edit.truncation.sample`).
        """
        try:
            n = operator.index(n)
        except TypeError:
            raise JaxgenError(f"n must be an int (the number of images), got {n!r}") from None
        if n < 1:
            raise JaxgenError(f"n must be at least 1, got {n}")
        if self.task.generate is None:
            raise JaxgenError(f"{self._source} (trainer {self.config.trainer!r}) draws no samples")
        if psi is not None:
            from jaxgen.edit import truncation

            if labels is not None or source is not None:
                raise ConfigError("psi truncates a style-based generator's w: it takes no labels or source")
            return np.asarray(jax.device_get(truncation.sample(self, n, seed, psi)))
        args = (self._sampling_state, jax.random.key(seed), n)
        if labels is not None:
            args += (self._labels(labels, n),)
        if isinstance(source, (str, os.PathLike)):
            from jaxgen.data import images

            if self.task.source_shape is None:
                raise ConfigError(f"source given, but {self._source} samples from noise, not from input images")
            source = images.read_images(os.fspath(source), self.task.source_shape)
        kwargs = {} if source is None else {"source": source}
        return np.asarray(jax.device_get(self.task.generate(*args, **kwargs)))

    def _labels(self, labels, n: int) -> np.ndarray:
        k = self.task.num_classes
        if k is None:
            raise ConfigError(f"labels given, but {self._source} holds an unconditional model; call sample "
                              f"without labels")
        if np.ndim(labels) == 0:
            labels = np.full((n,), labels)
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ConfigError(f"labels must be one int or {n} ints (one per image), got shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ConfigError(f"labels must be ints (class indices), got dtype {labels.dtype}")
        bad = labels[(labels < 0) | (labels >= k)]
        if bad.size:
            raise ConfigError(f"label {int(bad[0])} is out of range: the model has {k} classes (0..{k - 1})")
        return labels.astype(np.int32)

    def apply(self, name: str, *inputs, **kwargs):
        """Runs network `name` of ``task.modules`` on these weights: ``module.apply({"params": p,
        **model_state}, *inputs, **kwargs)`` with ``p = params[name]`` when `name` is a key of `params` (a
        GAN's "g" and "d"; "g" is the EMA generator when `ema`), else `params` whole (a likelihood model's
        "model"), and ``model_state = state["model_state"][name]`` if present (BatchNorm statistics, …).

        `kwargs` go to flax's ``apply``: e.g. ``train=False`` for a GAN's networks, ``method="decode"`` for a
        VAE, ``mutable=[...]``, ``rngs={...}``.
        """
        modules = self.task.modules
        if not modules:
            raise JaxgenError(f"{self._source} (trainer {self.config.trainer!r}) exposes no networks to apply "
                              f"(its Task.modules is empty)")
        if name not in modules:
            raise JaxgenError(f"no network {name!r} in {self._source}; its networks are {sorted(modules)}")
        params = self.params[name] if isinstance(self.params, dict) and name in self.params else self.params
        model_state = (self.state.get("model_state") or {}).get(name) or {}
        return modules[name].apply({"params": params, **model_state}, *inputs, **kwargs)

    def losses(self, params=None, num_batches: int = 4, data_seed: int = 0, seed: int = 0) -> dict:
        """{name: scalar} training losses at `params`: ``{"g_loss", "d_loss"}`` for a GAN, ``{"nll_nats"}`` for
        a likelihood model. Default `params`: the checkpoint's trained ``state["params"]`` (not the EMA: these
        are the losses training minimised); pass any pytree of the same structure, e.g. ``m.params``.

        The mean over `num_batches` fixed training batches (order `data_seed`) and fixed noise (`seed`) of
        ``Task.losses``: exactly ``jaxgen.research.probe.load(workdir, step, num_batches, data_seed,
        seed).losses(params)``. Needs the workdir and its dataset (prepared, or preparable). A pure function of
        `params`: ``jax.grad(lambda p: m.losses(p)["g_loss"])(m.params)`` differentiates it.
        """
        if self.workdir is None:
            raise JaxgenError(f"losses need the run's workdir and dataset; {self._source} has no workdir (an "
                              f"exported file holds weights and config only): load the workdir instead")
        from jaxgen.research import probe

        key = (num_batches, data_seed, seed)
        if key not in self._probes:
            with jax.ensure_compile_time_eval():  # concrete arrays even when first called under jit or grad
                self._probes[key] = probe.load(self.workdir, self.step, num_batches, data_seed, seed)
        p = self._probes[key]
        return p.losses(p.params if params is None else params)


def _ema_by_player(state) -> bool:
    """Whether ``state["ema"]`` is ``{G player: params}`` (the GAN trainer of the games) rather than G's params
    themselves (workdirs of the earlier trainer)."""
    ema, params = state["ema"], state["params"]
    return (isinstance(ema, dict) and isinstance(params, dict) and bool(ema) and set(ema) <= set(params)
            and all(jax.tree.structure(ema[k]) == jax.tree.structure(params[k]) for k in ema))


def without_ema(state):
    """`state` with ``state["ema"]`` holding the raw generator weights (sampling reads ``state["ema"]`` where it
    exists): a task then samples from the raw G. A state without an EMA is returned as it is."""
    if "ema" not in state:
        return state
    raw = {k: state["params"][k] for k in _ema_entries(state)}
    return {**state, "ema": raw if _ema_by_player(state) else raw["g"]}


def _ema_entries(state) -> dict:
    """{params entry: its EMA}: the G players the EMA averages."""
    if _ema_by_player(state):
        return dict(state["ema"])
    params = state["params"]
    if isinstance(params, dict) and "g" in params and jax.tree.structure(params["g"]) == jax.tree.structure(state["ema"]):
        return {"g": state["ema"]}
    raise JaxgenError("cannot tell which network state['ema'] averages: it matches no entry of state['params']")


def load(path: str, step: int | None = None, ema: bool | None = None) -> Model:
    """The trained run at `path`: a workdir (`jaxgen train`'s) or a file written by `export`.

    step: a workdir's checkpoint (default: the newest); for a file, if given, it must be the exported step.
    ema:  sample from (and put in `params`) the generator's EMA weights; default True where the state has
          an ``"ema"`` entry (a GAN or likelihood model trained with ``ema_decay`` > 0; a likelihood state's
          ``"ema"`` averages all of its params), False: the raw (generator) weights.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        from jaxgen.engine import workdir as workdir_lib

        config, task, state, at = workdir_lib.restore(path, step)
        return Model(config, task, state, at, ema=ema, workdir=path)
    if os.path.isfile(path):
        config, task, state, at = _read_export(path)
        if step is not None and step != at:
            raise JaxgenError(f"{path} holds step {at} only (an export is one checkpoint), not step {step}")
        return Model(config, task, state, at, ema=ema, origin=path)
    raise JaxgenError(f"{path!r} not found: pass a jaxgen workdir (made by `jaxgen train`) or a file made by "
                      f"`jaxgen export`")


def export(workdir: str, out: str, step: int | None = None) -> tuple[str, int]:
    """Writes checkpoint `step` (default: the newest) of `workdir` to the file `out` for `load`: the config,
    run info and every state entry except the optimizer state. Returns (out, step)."""
    from flax import serialization

    from jaxgen import config as config_lib
    from jaxgen.engine import workdir as workdir_lib

    config, info = workdir_lib.read(workdir)
    _, _, state, at = workdir_lib.restore(workdir, step)
    clash = sorted(set(state) & set(_HEADER) - set(_NOT_EXPORTED))
    if clash:
        raise JaxgenError(f"the state of {workdir} has entries {clash} that the export format reserves")
    payload = {"format": FORMAT, "version": VERSION, "config": config_lib.to_json(config), "run": info,
               "step": int(at),
               **{k: v for k, v in jax.device_get(state).items() if k not in _NOT_EXPORTED}}
    data = serialization.msgpack_serialize(payload)
    directory = os.path.dirname(os.path.abspath(out))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".export-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except OSError as e:
        raise JaxgenError(f"cannot write {out!r}: {e.strerror}") from e
    return out, int(at)


def _read_export(path: str):
    """(config, task, state, step) of an export file; the task rebuilt as `workdir.restore` rebuilds it."""
    from flax import serialization

    from jaxgen import config as config_lib
    from jaxgen import trainers
    from jaxgen.engine import sharding

    with open(path, "rb") as f:
        data = f.read()
    not_export = (f"{path} is not a jaxgen model export (write one with `jaxgen export --workdir W "
                  f"--out FILE`)")
    try:
        payload = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several types for bytes that are not msgpack
        raise JaxgenError(not_export) from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise JaxgenError(not_export)
    if payload.get("version") != VERSION:
        raise JaxgenError(f"{path} is a jaxgen export of version {payload.get('version')!r}; this jaxgen reads "
                          f"version {VERSION}")
    missing = [k for k in _HEADER if k not in payload]
    if missing:
        raise JaxgenError(f"{path} is a damaged jaxgen export: it has no {missing}")
    config, info, at = config_lib.from_json(payload["config"]), payload["run"], int(payload["step"])
    mesh = sharding.make_mesh()
    task = trainers.get(config.trainer).create_task(config, info, mesh)
    abstract = jax.eval_shape(task.init, jax.random.key(0))
    expected = sorted(k for k in abstract if k not in _NOT_EXPORTED)
    present = sorted(k for k in payload if k not in _HEADER)
    if present != expected:
        raise JaxgenError(f"{path} holds state entries {present}, but its config "
                          f"({config.trainer} / {config.model.name}) makes {expected}")
    state = {}
    for name in expected:
        _check_arrays(path, name, abstract[name], payload[name])
        state[name] = serialization.from_state_dict(abstract[name], payload[name], name=name)
    if "step" in abstract:
        state["step"] = np.asarray(at, abstract["step"].dtype)
    if "opt" in abstract:  # not exported: zeros of the optimizer state's shapes
        state["opt"] = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), abstract["opt"])
    state = {k: state[k] for k in abstract}
    return config, task, jax.device_put(state, sharding.replicated(mesh)), at


def _check_arrays(path: str, name: str, abstract: Any, exported: Any) -> None:
    """Refuses an exported entry whose arrays are not those the config makes (names, shapes, dtypes)."""
    def flat(tree):
        leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
        return {jax.tree_util.keystr(p): leaf for p, leaf in leaves}

    want, got = flat(abstract), flat(exported)
    if set(want) != set(got):
        extra, absent = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        raise JaxgenError(f"{path} does not match its config: {name!r} "
                          + (f"has arrays the config does not make {extra[:3]}" if extra else "")
                          + ("; " if extra and absent else "")
                          + (f"lacks arrays {absent[:3]}" if absent else ""))
    for key, spec in want.items():
        leaf = got[key]
        shape, dtype = np.shape(leaf), np.asarray(leaf).dtype
        if shape != tuple(spec.shape) or dtype != spec.dtype:
            raise JaxgenError(f"{path} does not match its config: {name}{key} is {dtype}{list(shape)}, the config "
                              f"makes {spec.dtype}{list(spec.shape)}")
