"""Model families, selected by ``config.model.name`` (one module per family, no if-chains).

A family's keys and their defaults are in :mod:`jaxgen.defaults.models` (JAX-free, for config files); its module
holds the networks and the trainer's contract:

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
from types import ModuleType

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError

__all__ = ["available", "get"]


def available() -> list[str]:
    """Names of the network families (those with defaults in :mod:`jaxgen.defaults.models`; not the shared
    ``density`` contract, the ``autoregressive`` base or the classical fits)."""
    return sorted(model_defaults.FAMILIES)


def get(name: str) -> ModuleType:
    """The model module ``jaxgen.models.<name>``; an unknown name is a ``ConfigError`` naming ``model.name``."""
    names = available()
    if not isinstance(name, str) or name not in names:
        raise ConfigError(f"model.name={name!r} is not a model; available: {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{name}")
