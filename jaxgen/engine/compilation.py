"""How jaxgen compiles: the backend's XLA compiler options and the `jit` every trainer uses.

    step = compilation.jit(train_step, donate_state=True, out_shardings=(replicated, replicated))
    sample = compilation.jit(draw, static_argnums=2)
    init = compilation.jit_once(init, out_shardings=replicated)      # a program that runs once per run

`jit` is `jax.jit` plus the options of the backend it compiles for (:func:`compiler_options`), so a trainer
never spells backend-specific flags itself. Options are chosen here, by backend, from measurements on that
backend; a backend without a measurement gets none (XLA's defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

__all__ = ["compiler_options", "jit", "jit_once", "once_options"]

# XLA:CPU library fusions jaxgen keeps (see `compiler_options`): dots and reductions, not convolutions.
_CPU_YNN_FUSIONS = "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"


def compiler_options(backend: str | None = None) -> dict[str, str]:
    """``jax.jit(..., compiler_options=...)`` for `backend` (default: ``jax.default_backend()``).

    CPU: keep XLA:CPU's convolutions on its Eigen kernels. jax 0.10's XLA:CPU hands stride-1 convolutions to
    YNNPACK by default ("individual_convolution" fusions); for DCGAN-sized convs (and their kernel gradients)
    Eigen is ~2x faster on this machine, and the whole DCGAN train step ~15-20% faster. This keeps the other
    default YNN fusions (dots, reductions). Equivalent process-wide flag:
    ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-individual_convolution``.
    Returns ``{}`` on other backends (nothing measured there yet).
    """
    backend = jax.default_backend() if backend is None else backend
    if backend != "cpu":
        return {}
    return {"xla_cpu_experimental_ynn_fusion_type": _CPU_YNN_FUSIONS}


def once_options(backend: str | None = None) -> dict[str, Any]:
    """Compiler options for a program that runs once per run (a trainer's ``init``): what it costs to compile
    matters, not how fast it runs.

    CPU: LLVM optimisation level 1 instead of XLA's default 3. Parameter initialisation is dozens of unrolled
    threefry rounds, on which the level-3 passes spend most of the compile time: the tiny DCGAN's init compiled in
    22.6 s at level 3 and 4.4 s at level 1 on a loaded core of this machine, with bit-identical parameters (levels
    1-3 make the same floating-point choices; level 0 does not: 1-ulp differences, so it is not used).
    Returns ``{}`` on other backends (nothing measured there yet).
    """
    backend = jax.default_backend() if backend is None else backend
    return {"xla_backend_optimization_level": 1} if backend == "cpu" else {}


def jit_once(fn: Callable, /, **kwargs: Any):
    """``jax.jit(fn, **kwargs)`` compiled with :func:`once_options`: for programs that run once per run. Like every
    jit with compiler options it must be called at top level (``jax.eval_shape`` of it is fine); a program that
    traces it inside its own jit calls its ``__wrapped__`` function instead (as ``trainers.sweep`` does)."""
    return jax.jit(fn, compiler_options={**once_options(), **(kwargs.pop("compiler_options", None) or {})}, **kwargs)


def jit(fn: Callable | None = None, /, *, donate_state: bool = False,
        donate_argnums: int | Sequence[int] | None = None, **kwargs: Any):
    """``jax.jit(fn, **kwargs)`` compiled with the default backend's :func:`compiler_options`.

    `donate_state`: donate argument 0 (a trainer's state pytree, replaced by the step's output), i.e.
    ``donate_argnums=0``; `donate_argnums` donates others (both may be given). Every other keyword
    (``static_argnums``, ``out_shardings``, ``in_shardings``, ...) is ``jax.jit``'s; ``compiler_options``
    given here are added to (and override) the backend's. Without `fn` it returns a decorator, as ``jax.jit``.
    """
    donated = () if donate_argnums is None else (
        (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums))
    if donate_state and 0 not in donated:
        donated = (0, *donated)
    options = {**compiler_options(), **(kwargs.pop("compiler_options", None) or {})}
    if donated:
        kwargs["donate_argnums"] = donated
    if fn is None:
        return lambda f: jax.jit(f, compiler_options=options, **kwargs)
    return jax.jit(fn, compiler_options=options, **kwargs)
