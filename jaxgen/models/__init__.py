"""Model families, selected by ``config.model.name`` (one module per family, no if-chains).

Every module exposes ``default_config()``; the rest of its contract is the trainer's:

* GANs (``gan`` trainer): ``generator(cfg, image_shape, num_classes)``, ``discriminator(...)``,
  ``latent(rng, n, cfg)``; see ``jaxgen/models/dcgan.py``.
* Translators (``paired`` game): ``generator(cfg, source_shape, target_shape)``, ``discriminator(...)`` on the
  concatenation; see ``jaxgen/models/pix2pix.py``.
* Likelihood models (``likelihood`` trainer): ``density(cfg, image_shape, num_classes)`` returning a
  :class:`jaxgen.models.density.Density`; see ``jaxgen/models/vae.py``.
* Classical fits (``classical`` trainer): Gaussian mixtures (``gmm``) and (P)PCA (``pca``), pure functions
  on arrays.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from jaxgen.errors import ConfigError

__all__ = ["available", "get"]


def available() -> list[str]:
    """Names of the model modules in this package: those with a ``default_config`` (not the shared
    ``density`` contract or ``autoregressive`` base)."""
    names = (m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return sorted(n for n in names if hasattr(importlib.import_module(f"{__name__}.{n}"), "default_config"))


def get(name: str) -> ModuleType:
    """The model module ``jaxgen.models.<name>``; an unknown name is a ``ConfigError`` naming ``model.name``."""
    names = available()
    if not isinstance(name, str) or name not in names:
        raise ConfigError(f"model.name={name!r} is not a model; available: {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{name}")
