"""Where jaxgen keeps what it computes once or is given: `$JAXGEN_CACHE_DIR`, default `~/.cache/jaxgen`.

    features/lenet_<dataset>/   the feature networks jaxgen trains on first use (workdirs; emojinet/ for emoji)
    reference_stats/*.npz       real-data features per protocol (jaxgen.metrics.reference)
    weights/                    weight files the user supplies (InceptionV3 for FID, torchvision's VGG)
    xla/                        compiled programs (`use_compilation_cache`)
    tensorflow_datasets/        prepared datasets, unless `$JAXGEN_DATA_DIR` puts them elsewhere (jaxgen.data.catalog)
"""

from __future__ import annotations

import os
import sys

# Programs that compile faster than this get no disk entry (JAX's default is 1 s; on a 2-core CPU a tiny
# config's sampler compiles in ~0.3 s, a DCGAN train step in ~4 s).
_MIN_COMPILE_SECS = "0.25"


def cache_dir(*parts: str) -> str:
    """`$JAXGEN_CACHE_DIR` (default `$XDG_CACHE_HOME/jaxgen`, else `~/.cache/jaxgen`) joined with `parts`."""
    root = os.environ.get("JAXGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "jaxgen")
    return os.path.abspath(os.path.expanduser(os.path.join(root, *parts)))


def use_compilation_cache() -> str | None:
    """Turns on JAX's persistent compilation cache in `cache_dir("xla")`; every `jaxgen` command does.

    A resumed or repeated run then loads its programs instead of compiling them again. Entries are keyed by
    the program, compiler options, backend and JAX version, so a changed config or an upgrade compiles anew.
    Returns the directory in use, or None: ``JAXGEN_COMPILATION_CACHE=0`` turns it off, and a directory the
    user gave JAX (``JAX_COMPILATION_CACHE_DIR``, ``jax.config``) is kept. Before JAX is imported this only sets
    JAX's environment variables; after, it updates ``jax.config`` and resets JAX's record of the cache.
    """
    if os.environ.get("JAXGEN_COMPILATION_CACHE", "1").lower() in ("0", "off", "false", "no"):
        return None
    directory = cache_dir("xla")
    if "jax" not in sys.modules:
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", _MIN_COMPILE_SECS)
        return os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", directory)
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", directory)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(_MIN_COMPILE_SECS))
    compilation_cache.reset_cache()
    return directory
