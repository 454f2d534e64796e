"""Games of the adversarial trainer (`jaxgen.trainers.gan`): one module per game, selected by `config.game`.

A game says only what differs between adversarial families: its players, their inputs from a batch, the
terms of the D and G losses, and how it samples (see :mod:`jaxgen.games.base`). The trainer owns the rest.
`config.game` names a module of this package (``"unconditional"``) or, for a game of your own, a dotted
module path (``"mypackage.my_game"``) exposing the same `build(config, info, mesh)`, and `default_config(model)` and
`WEIGHTS` (what :mod:`jaxgen.defaults.games` holds for the bundled games).
"""

from __future__ import annotations

import importlib
import pkgutil

from jaxgen.errors import ConfigError


def available() -> list[str]:
    """The games shipped with jaxgen."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")


def get(name: str):
    """The game module `name`: a module of this package, or a dotted module path."""
    if "." in name:
        try:
            return importlib.import_module(name)
        except ImportError as e:
            raise ConfigError(f"config key 'game' is {name!r}, which cannot be imported ({e})") from e
    if name not in available():
        raise ConfigError(f"config key 'game' must be one of {available()} (or a dotted module path), got {name!r}")
    return importlib.import_module(f"jaxgen.games.{name}")
