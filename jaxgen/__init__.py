"""jaxgen: generative image models in JAX/Flax."""

from jaxgen.engine import host_memory as _host_memory

__version__ = "0.1.0"

# Before JAX starts its threads: XLA:CPU's per-step buffers are then reused, not page-faulted in anew each step.
_host_memory.keep_freed_memory()


def load(path, step=None, ema=None):
    """A trained run as a `jaxgen.api.Model` (sample, params, apply, losses): `path` is a workdir or a file
    written by `jaxgen export`. See `jaxgen.api.load`; imported on first call, so `import jaxgen` stays light."""
    from jaxgen import api

    return api.load(path, step=step, ema=ema)
