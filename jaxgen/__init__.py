"""jaxgen: generative image models in JAX/Flax."""

__version__ = "0.1.0"


def load(path, step=None, ema=None):
    """A trained run as a `jaxgen.api.Model` (sample, params, apply, losses): `path` is a workdir or a file
    written by `jaxgen export`. See `jaxgen.api.load`; imported on first call, so `import jaxgen` stays light."""
    from jaxgen import api

    return api.load(path, step=step, ema=ema)
