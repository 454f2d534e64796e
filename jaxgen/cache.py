"""Where jaxgen keeps what it computes once or is given: `$JAXGEN_CACHE_DIR`, default `~/.cache/jaxgen`.

    features/lenet_<dataset>/   the feature networks jaxgen trains on first use (workdirs; emojinet/ for emoji; one
                                process at a time, `one_at_a_time`)
    reference_stats/*.npz       real-data features per protocol (jaxgen.metrics.reference)
    weights/                    weight files the user supplies (InceptionV3 for FID, torchvision's VGG)
    xla/                        compiled programs (`use_compilation_cache`)
    tensorflow_datasets/        prepared datasets, unless `$JAXGEN_DATA_DIR` puts them elsewhere (jaxgen.data.catalog)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
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


def try_lock(f) -> bool:
    """Takes the exclusive OS lock of open file `f` if no other process holds it: True, else False at once."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


@contextlib.contextmanager
def one_at_a_time(lock_file: str, what: str):
    """Holds `lock_file` (an OS file lock, released when the process ends, even by kill -9; its folder is made)
    around work done once for every process, such as preparing a dataset or training a feature network on first
    use: processes started together on a fresh machine do it once, the others print that they wait for `what`,
    wait, and then find it done. An `OSError` (a folder that cannot be made or written) is the caller's to word."""
    os.makedirs(os.path.dirname(lock_file), exist_ok=True)
    with open(lock_file, "a+") as f:
        if not try_lock(f):
            print(f"waiting for another process {what}...", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
