"""The host allocator: freed memory kept for reuse, so a CPU train step does not page-fault through its buffers.

XLA:CPU allocates every execution's buffers (the program's one temp buffer, its outputs, Eigen's packing blocks)
with ``malloc``/``posix_memalign`` from its worker threads and frees them when the step ends. glibc serves a large
block with a fresh ``mmap`` (a worker thread's arena cannot hold more than 64 MB, and blocks above 32 MB always
come from ``mmap``) and returns it with ``munmap`` when freed, so the next step touches new pages again: the DCGAN
step at batch 256 took ~30,000 page faults (a 123 MB temp buffer, 35 MB packing blocks), ~45 ms of kernel time
in ~450 ms of CPU. :func:`keep_freed_memory` makes glibc serve every block from the main heap (one arena, no
``mmap``) and keep what is freed (no trimming below 2 GB), as ``GLIBC_TUNABLES=glibc.malloc.arena_max=1:
glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...`` would; the process keeps its peak heap instead of
returning it to the system between steps.

``import jaxgen`` calls it (so the CLI, notebooks and tests get it before JAX starts its threads: a thread that has
already allocated keeps its arena). It is a trade-off measured on the CPU backend (docs/benchmarks.md): training
at batch 256 +12 %, at batch 64 within drift (NS) to ~2 % slower (WGAN-GP: the one arena serialises small
allocations). So the default is ``keep`` where JAX can only run on the CPU (``JAX_PLATFORMS=cpu``, or no GPU/TPU
plugin installed) and ``system`` (glibc's defaults) where an accelerator may run the steps (not measured there);
``JAXGEN_MALLOC=keep`` / ``system`` chooses. No-op off glibc.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

__all__ = ["ENV", "keep_freed_memory"]

ENV = "JAXGEN_MALLOC"

# Packages that give JAX a GPU or TPU backend (where the setting was not measured).
_ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "jax_rocm7_plugin", "libtpu",
                        "jax_plugins")

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_KEEP_BELOW = 2**31 - 1  # bytes of free memory at the heap's top kept before trimming (mallopt takes an int)


def keep_freed_memory() -> bool:
    """Sets glibc's allocator to reuse freed memory (see the module docstring); True if it did. False when
    ``$JAXGEN_MALLOC`` is ``system`` (the default where an accelerator plugin is installed), off glibc, or when
    glibc refuses a setting."""
    choice = os.environ.get(ENV, "keep" if _cpu_only() else "system").lower()
    if choice not in ("keep", "system"):
        print(f"jaxgen: ignoring ${ENV}={os.environ[ENV]!r} (use 'keep' or 'system' for glibc's defaults); "
              "keeping glibc's defaults", file=sys.stderr)
        return False
    if choice == "system" or not _glibc():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _KEEP_BELOW))
    return all(libc.mallopt(option, value) == 1 for option, value in settings)


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a GNU system
        return False


def _cpu_only() -> bool:
    """True if JAX can only run on the CPU here: ``$JAX_PLATFORMS`` is ``cpu``, or it is unset and no GPU/TPU
    plugin is installed."""
    platforms = os.environ.get("JAX_PLATFORMS", "").strip().lower()
    if platforms:
        return platforms == "cpu"
    return not any(importlib.util.find_spec(name) for name in _ACCELERATOR_PLUGINS)
