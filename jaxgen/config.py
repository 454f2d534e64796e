"""Experiment configs: Python files with `get_config(arg=None) -> ConfigDict`.

`load("configs/dcgan_mnist.py:tiny", ["model.width=32"])` imports the file (which may import modules
beside it), calls `get_config("tiny")`, applies `key=value` overrides (dotted keys, values parsed as Python
literals and checked against the type of the default) and validates the keys every experiment shares.
Unknown keys and bad values raise `ConfigError` naming the key and what is expected. A spec that is not an
existing file may name a bundled config (`dcgan_mnist:tiny`, `dcgan_mnist.py:tiny`): the repository's
`configs/`, installed as `jaxgen/configs/`. This module imports no JAX (the CLI checks arguments with it).
"""

from __future__ import annotations

import ast
import copy
import difflib
import importlib.util
import json
import os
import re
import sys
from typing import Any, NamedTuple

import ml_collections

from jaxgen.errors import ConfigError

# Keys every experiment config has, with the type each must hold.
COMMON_KEYS = {
    "seed": int,
    "num_steps": int,
    "batch_size": int,
    "checkpoint_every": int,
    "sample_every": int,
    "log_every": int,
}
# Keys (and groups) that may differ between a workdir's saved config and a resumed run: they change how
# often the run reports, evaluates or saves, or how long it runs, never the trajectory of the parameters.
RESUMABLE_KEYS = ("num_steps", "checkpoint_every", "sample_every", "log_every", "keep_checkpoints", "max_seconds",
                  "eval")
# Keys jaxgen once had and no longer reads, with what replaced each. A workdir's saved config.json may hold them:
# `from_json` (every read of a saved config) and the resume check drop them, so old workdirs still sample,
# evaluate and resume; a config file or override that sets one is a ConfigError saying why.
_BACKEND_LOWERING = ("the lowering of DCGAN's {} is chosen by the backend, not the config "
                     "(jaxgen.nn.upsample.default_impl: the fast XLA:CPU forms on the CPU, XLA's own elsewhere)")
RETIRED_KEYS = {
    "model.use_fast_upsample": _BACKEND_LOWERING.format("up-sampling"),
    "model.upsample_impl": _BACKEND_LOWERING.format("up-sampling"),
    "model.use_fast_downsample": _BACKEND_LOWERING.format("down-sampling"),
}


# Ranges of numeric keys by their last name, wherever they sit (`model.width`, `optimizer.g.b1`, `eval.num_samples`):
# checked in every config that has them, element-wise for tuples (`model.widths`). A family whose key needs another
# range gives the key another name.
_AT_LEAST_ONE = ("keep_checkpoints", "num_samples", "width", "widths", "z_dim", "latent_dim", "code_dim", "hidden",
                 "g_hidden", "d_units", "blocks", "layers", "kernel_size", "num_components", "n_critic", "reg_every",
                 "g_reg_every", "d_pieces", "train_samples", "head_features", "g_width", "d_width", "d_dense",
                 "features", "groups", "scale", "width_base", "mbstd_group")
_NOT_NEGATIVE = ("max_seconds", "num_workers", "pad", "augment_shift", "penalty_weight", "clip", "ema_decay",
                 "g_blocks", "d_layers", "dropout_blocks", "pool_size")  # 0: a default (sized to the image) or off
_BELOW_ONE = ("b1", "b2", "ema_decay", "dropout")  # decay rates and dropout rates: [0, 1)
_POSITIVE = ("learning_rate",)


def _range_error(key: str, value) -> str | None:
    """What is wrong with numeric `value` of dotted `key` by the range tables above, or None."""
    name = key.rsplit(".", 1)[-1]
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        if name in _AT_LEAST_ONE and v < 1:
            return "must be at least 1"
        if name in _NOT_NEGATIVE and v < 0:
            return "must not be negative"
        if name in _BELOW_ONE and not 0 <= v < 1:
            return "must be in [0, 1)"
        if name in _POSITIVE and not v > 0:
            return "must be positive"
    return None


def is_resumable(key: str) -> bool:
    """Whether dotted config key `key` may change between a workdir's saved config and a resumed run
    (it is, or lies in a group of, `RESUMABLE_KEYS`: `eval.every` does, as does the whole `eval` group)."""
    return any(key == k or key.startswith(k + ".") for k in RESUMABLE_KEYS)


def experiment_config(trainer: str, *, num_steps: int, batch_size: int, log_every: int, sample_every: int,
                      checkpoint_every: int, dataset: str = "mnist5k") -> ml_collections.ConfigDict:
    """The keys every experiment has (`COMMON_KEYS`, `trainer`, `keep_checkpoints`, `max_seconds`, `data`); trainers
    add theirs. `max_seconds` (0.0: none) is a wall-time budget per process: the run saves and stops when it is spent
    (`jaxgen.engine.loop`; the CLI exits with status 75), and the same command continues it.

    `data`: `name`, `split` ("train"), `data_dir` (None: `$JAXGEN_DATA_DIR`), `image_size` (None: as stored),
    `pad` (0), `num_workers` (0); see `jaxgen.data.pipeline`.
    """
    config = ml_collections.ConfigDict(dict(
        trainer=trainer, seed=0, num_steps=num_steps, batch_size=batch_size, log_every=log_every,
        sample_every=sample_every, checkpoint_every=checkpoint_every, keep_checkpoints=3, max_seconds=0.0))
    config.data = ml_collections.ConfigDict(dict(
        name=dataset, split="train", data_dir=ml_collections.FieldReference(None, field_type=str),
        image_size=ml_collections.FieldReference(None, field_type=int), pad=0, num_workers=0))
    return config


def bundled_dir() -> str:
    """The folder of the bundled configs: `jaxgen/configs/` when installed, else a clone's `configs/`."""
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, "configs")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(package), "configs")


def bundled() -> dict[str, str]:
    """{name: file} of the bundled configs (the files of `bundled_dir()` that define `get_config`)."""
    folder = bundled_dir()
    files = sorted(f for f in os.listdir(folder) if f.endswith(".py")) if os.path.isdir(folder) else []
    out = {}
    for f in files:
        with open(os.path.join(folder, f), encoding="utf-8") as text:
            if "def get_config(" in text.read():
                out[f[:-3]] = os.path.join(folder, f)
    return out


def summary(path: str) -> str:
    """The first line of a config file's docstring (read, not imported)."""
    with open(path, encoding="utf-8") as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ""
    return doc.strip().split("\n")[0]


def resolve(spec: str) -> tuple[str, str | None]:
    """(file, variant or None) of `path[:variant]`: an existing file wins, else a bundled config by name
    (`dcgan_mnist` or `dcgan_mnist.py`); anything else is a ConfigError naming close matches."""
    target, _, arg = spec.partition(":")
    if os.path.isfile(target):
        return target, arg or None
    configs = bundled()
    name = os.path.basename(target).removesuffix(".py")
    listing = "`jaxgen configs` lists the bundled ones"
    if os.sep not in target and name in configs:
        return configs[name], arg or None
    if os.sep in target:
        hint = (f"; the bundled config of that name is --config {name}" if name in configs
                else f" (give a config file, or a bundled config by name such as dcgan_mnist:tiny; {listing})")
        raise ConfigError(f"config file not found: {target!r}{hint}")
    close = difflib.get_close_matches(name, list(configs), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"config {target!r} is neither a file nor a bundled config{hint} ({listing})")


def load(spec: str, overrides: list[str] | tuple[str, ...] = ()) -> ml_collections.ConfigDict:
    """Loads `path[:arg]` (or a bundled `name[:arg]`), applies `key=value` overrides, validates; returns a
    locked ConfigDict."""
    path, arg = resolve(spec)
    for item in overrides:
        parse_override(item)
    module_spec = importlib.util.spec_from_file_location(f"jaxgen_config_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # a config of yours may import a module beside it
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # a syntax or import error in the user's config file
        raise ConfigError(f"config file {path!r} failed to load: {type(e).__name__}: {e}") from e
    finally:
        sys.path.pop(0)
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {path!r} defines no get_config(arg=None) function")
    try:
        config = module.get_config(arg)
    except ValueError as e:
        raise ConfigError(f"config {spec!r}: {e}") from e
    config = apply_overrides(config, overrides)
    validate(config)
    return config


def apply_overrides(config: ml_collections.ConfigDict, overrides) -> ml_collections.ConfigDict:
    """Returns a copy of `config` with each `a.b.c=value` applied; unknown keys are errors."""
    config = ml_collections.ConfigDict(config.to_dict())
    for item in overrides:
        key, text = parse_override(item)
        parent, leaf = locate(config, key)
        old = parent[leaf]
        parent[leaf] = _parse_value(key, text, old)
    config.lock()
    return config



def parse_override(item: str) -> tuple[str, str]:
    """(dotted key, value text) of `key=value`; a ConfigError if it is not of that form."""
    key, sep, text = item.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", key):
        raise ConfigError(f"override {item!r} is not of the form key=value (e.g. --config.batch_size=32)")
    return key, text

def locate(config, key):
    """(the ConfigDict holding dotted `key`, its last part); unknown keys are errors with close matches."""
    if key in RETIRED_KEYS:
        raise ConfigError(f"config key '{key}' was removed: {RETIRED_KEYS[key]}")
    node = config
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            known = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
            prefix = ".".join(parts[:depth])
            hint = difflib.get_close_matches(part, known, n=3)
            where = f" under '{prefix}'" if prefix else ""
            raise ConfigError(
                f"unknown config key '{key}'"
                + (f": did you mean {', '.join(repr('.'.join(parts[:depth] + [h])) for h in hint)}?" if hint else "")
                + f" (known keys{where}: {', '.join(sorted(known))})"
            )
        if depth < len(parts) - 1:
            node = node[part]
    return node, parts[-1]


def _parse_value(key, text, old):
    if isinstance(old, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(f"config key '{key}' expects a bool (true/false), got {text!r}")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text  # a bare word is a string
    if old is None or isinstance(old, ml_collections.ConfigDict):
        if isinstance(old, ml_collections.ConfigDict):
            raise ConfigError(f"config key '{key}' is a group; set one of its keys ({', '.join(old.keys())})")
        return value
    if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(old, (tuple, list)) and isinstance(value, (tuple, list)):
        return type(old)(value)
    if type(value) is not type(old):
        raise ConfigError(
            f"config key '{key}' expects {type(old).__name__} (like {old!r}), got {text!r}")
    return value


class Choice(NamedTuple):
    """A swept string key inside a sweep's compiled program: `index` (a traced int32) into `options`."""

    index: Any
    options: tuple


def is_traced(value) -> bool:
    """True for a value that `jaxgen sweep` traces (one per run): range checks on it are made per run beforehand."""
    import jax

    return isinstance(value, jax.core.Tracer)


def validate(config: ml_collections.ConfigDict) -> None:
    """Checks the keys every experiment shares, and that no retired key is set; raises ConfigError naming the
    first bad key."""
    for key in _retired_in(config.to_dict()):
        raise ConfigError(f"config key '{key}' was removed: {RETIRED_KEYS[key]}; delete it from the config")
    for key, typ in COMMON_KEYS.items():
        if key not in config:
            raise ConfigError(f"config is missing required key '{key}' ({typ.__name__})")
        value = config[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be {typ.__name__}, got {value!r}")
        if key != "seed" and value <= 0:
            raise ConfigError(f"config key '{key}' must be positive, got {value}")
    for key, value in _leaves(config.to_dict()):
        problem = _range_error(key, value)
        if problem:
            raise ConfigError(f"config key '{key}' {problem}, got {value!r}")


def _leaves(tree: dict, prefix: str = ""):
    """(dotted key, value) of every leaf of a nested config dict."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def to_json(config: ml_collections.ConfigDict) -> str:
    return json.dumps(config.to_dict(), indent=2, sort_keys=True, default=list)


def from_json(text: str) -> ml_collections.ConfigDict:
    """A saved config (a workdir's config.json) in today's layout (`upgrade`)."""
    return from_dict(json.loads(text))


def from_dict(tree: dict) -> ml_collections.ConfigDict:
    """A locked config from a saved config dict, in today's layout (`upgrade`)."""
    config = ml_collections.ConfigDict(upgrade(tree))
    config.lock()
    return config


def _retired_in(tree: dict) -> list[str]:
    """The `RETIRED_KEYS` that nested config dict `tree` holds."""

    def holds(node, parts):
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    return [key for key in RETIRED_KEYS if holds(tree, key.split("."))]


# Keys added with the accelerator options, at the values that reproduce how a run saved without them trained:
# the networks' (float32, no remat, one batch per update) and each optimizer's (no clipping, a constant rate).
NETWORK_DEFAULTS = {"dtype": "float32", "remat": False, "accumulate": 1}
CLASSIFIER_DEFAULTS = {"augment_fill": -1.0, "class_weights": "none"}  # how classifiers trained before the keys
OPTIMIZER_DEFAULTS = {"clip_norm": 0.0, "schedule": {"warmup_steps": 0, "decay": "none", "decay_start": 0,
                                                     "decay_steps": 0, "boundaries": (), "gamma": 0.1}}


def _optimizers(group: dict) -> list[dict]:
    """The optimizer configs in a config's `optimizer` group: itself (it has a `name`), or its sub-groups' (d, g)."""
    if "name" in group:
        return [group]
    return [opt for value in group.values() if isinstance(value, dict) for opt in _optimizers(value)]


def upgrade(tree: dict) -> dict:
    """A saved config dict (a workdir's config.json, possibly written by an earlier jaxgen) in today's layout:
    without the `RETIRED_KEYS` it holds, and an adversarial config from before games (no `game` key) with the
    keys that reproduce how it trained: `game="unconditional"`, `update_mode="alternating"`, its
    `loss.aux_weight` as `loss.weights.aux`, and lazy G regularisation off (`loss.weights.path_length=0`); a
    cycle config from before its adversarial weight with `loss.weights.adversarial=1`; a config from before the
    accelerator options with `NETWORK_DEFAULTS` (adversarial and likelihood runs) and
    `OPTIMIZER_DEFAULTS` (every optimizer); a classifier from before the emoji networks with `CLASSIFIER_DEFAULTS`."""
    tree = copy.deepcopy(tree)
    for key in _retired_in(tree):
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node[part]
        del node[leaf]
    adversarial = tree.get("trainer") == "gan" or tree.get("sweep", {}).get("trainer") == "gan"
    if adversarial and "game" not in tree:
        tree.update(game="unconditional", update_mode="alternating")
        tree["loss"]["weights"] = {"aux": tree["loss"].pop("aux_weight", 1.0)}
    if adversarial and tree.get("game") == "cycle":  # before the image variant: G's objective had weight 1
        tree["loss"]["weights"].setdefault("adversarial", 1.0)
    if adversarial and tree.get("game") == "unconditional":
        tree["loss"].setdefault("g_reg_every", 4)
        tree["loss"]["weights"].setdefault("path_length", 0.0)
    if tree.get("sweep", {}).get("trainer", tree.get("trainer")) in ("gan", "likelihood"):
        for key, value in NETWORK_DEFAULTS.items():
            tree.setdefault(key, value)
    if tree.get("trainer") == "classifier":
        for key, value in CLASSIFIER_DEFAULTS.items():
            tree.setdefault(key, value)
    for opt in _optimizers(tree.get("optimizer", {})):
        for key, value in OPTIMIZER_DEFAULTS.items():
            opt.setdefault(key, copy.deepcopy(value))
    return tree


def differences(saved: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts (JSON round-tripped)."""
    saved, new = json.loads(json.dumps(saved, default=list)), json.loads(json.dumps(new, default=list))
    out = []
    for key in sorted(set(saved) | set(new)):
        a, b = saved.get(key, "<absent>"), new.get(key, "<absent>")
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, name + ".")
        elif a != b:
            out.append(f"{name}: {a!r} -> {b!r}")
    return out


def shrink_for_tests(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The shared part of every `:tiny` variant: a few steps of a small batch, reporting every 2 steps."""
    config.num_steps = 4
    config.batch_size = 16
    config.log_every = config.sample_every = config.checkpoint_every = 2
    if "num_samples" in config:
        config.num_samples = 16
    return config
