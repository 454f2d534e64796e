"""The game Jacobian of two players' losses, for any pair of models (Mescheder et al. 2017, 2018).

A two-player game is a pair of losses ``g_loss(params) -> []`` and ``d_loss(params) -> []`` of the
joint parameters ``params = {"g": pytree, "d": pytree}``; each player descends its own loss in its
own parameters. A player may be a group of networks (CycleGAN's ``"g"`` is ``{"g_ab": ..., "g_ba": ...}``, the
trainer's optimizer groups; ``research.commands.game_losses`` builds this form from a workdir's probe).
Simultaneous gradient descent with step ``h`` is ``params + h v(params)`` with the joint field
``v = {"g": -grad_g L_G, "d": -grad_d L_D}`` (:func:`vector_field`). Near a stationary point ``v = 0``
the field's Jacobian ``J = dv/dparams`` decides local convergence: all eigenvalues with negative real
part make gradient descent locally convergent for small enough ``h``; the update operator ``F_h``
converges locally iff the spectral radius of its Jacobian is below 1 (Mescheder et al. 2017, "The
Numerics of GANs", and 2018, "Which Training Methods for GANs do actually Converge?").

Two ways to the spectrum, both on the parameters flattened by ``jax.flatten_util.ravel_pytree``, G's first:

- small games: :func:`jacobian` builds the dense ``[P, P]`` matrix (``jax.jacfwd`` of the field,
  i.e. forward-over-reverse) and :func:`eigenvalues` solves it with ``numpy.linalg.eig`` in float64;
- large games: :func:`jvp_operator` gives the matrix-free product ``J v`` (one ``jax.jvp`` of the
  field, compiled once) and :func:`leading_eigenvalues` runs Arnoldi on it.

:func:`gradient_step` is one step of simultaneous or alternating gradient descent (the update
operator ``F_h``, whose Jacobian :func:`dense_jacobian` also gives) and :func:`consensus` adds
consensus optimisation's term to both losses.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jaxgen.engine import updates
from jaxgen.engine.optimizers import clip_params

Params = dict  # {"g": pytree, "d": pytree}
Loss = Callable[[Params], jax.Array]  # params -> scalar
Map = Callable[[Params], Params]  # params -> a pytree of the same structure (a field or an update)

DENSE_LIMIT = 2048  # above this many parameters jacobian() refuses: a [P, P] matrix and P JVPs
SCHEMES = ("simultaneous", "alternating")
WHICH = ("modulus", "real")


def vector_field(g_loss: Loss, d_loss: Loss) -> Map:
    """The joint gradient field ``params -> {"g": -grad_g L_G, "d": -grad_d L_D}``."""

    def field(params: Params) -> Params:
        grad_g = jax.grad(lambda g: g_loss({"g": g, "d": params["d"]}))(params["g"])
        grad_d = jax.grad(lambda d: d_loss({"g": params["g"], "d": d}))(params["d"])
        return jax.tree.map(jnp.negative, {"g": grad_g, "d": grad_d})

    return field


def consensus(g_loss: Loss, d_loss: Loss, gamma: float) -> tuple[Loss, Loss]:
    """Consensus optimisation (Mescheder et al. 2017, "The Numerics of GANs"): both players add
    ``gamma * 1/2 ||v||^2``, so the joint field becomes ``v - gamma grad(1/2 ||v||^2)``."""
    field = vector_field(g_loss, d_loss)

    def half_norm2(params: Params) -> jax.Array:
        return 0.5 * sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(field(params)))

    return (lambda p: g_loss(p) + gamma * half_norm2(p)), (lambda p: d_loss(p) + gamma * half_norm2(p))


def gradient_step(g_loss: Loss, d_loss: Loss, lr: float, scheme: str = "simultaneous", d_steps: int = 1,
                  d_clip: float = 0.0) -> Map:
    """One step of gradient descent on the game, ``params -> params`` (the update operator ``F_h``).

    ``simultaneous``: both players step from the same point. ``alternating``: ``d_steps`` D steps,
    then one G step against the updated D (the order of :mod:`jaxgen.trainers.gan`). Plain SGD through
    optax; ``d_clip`` > 0 chains WGAN's weight clipping (:func:`jaxgen.engine.optimizers.clip_params`)
    onto each D step, as the trainer does.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if d_steps < 1 or (scheme == "simultaneous" and d_steps != 1):
        raise ValueError(f"d_steps must be >= 1, and 1 for simultaneous updates; got {d_steps} with {scheme!r}")

    g_tx = optax.sgd(lr)
    d_tx = optax.chain(optax.sgd(lr), clip_params(d_clip)) if d_clip else optax.sgd(lr)

    def descend(params, player, loss, tx):
        own = params[player]
        grads = jax.grad(lambda p: loss({**params, player: p}))(own)
        return updates.apply_optimizer(tx, grads, tx.init(own), own)[0]

    def step(params: Params) -> Params:
        if scheme == "simultaneous":
            return {"g": descend(params, "g", g_loss, g_tx), "d": descend(params, "d", d_loss, d_tx)}
        for _ in range(d_steps):
            params = {**params, "d": descend(params, "d", d_loss, d_tx)}
        return {**params, "g": descend(params, "g", g_loss, g_tx)}

    return step


def _size(params: Params) -> int:
    """``P``, the number of parameters."""
    return sum(int(np.size(leaf)) for leaf in jax.tree.leaves(params))


def _flat(fn: Map, params: Params):
    """``fn`` on flat vectors, G's parameters first: ``(flat_fn [P] -> [P], x0 [P])``."""
    if set(params) != {"g", "d"}:
        raise ValueError(f"params must be a dict {{'g': G's pytree, 'd': D's pytree}}, got keys {sorted(params)}")
    x0, unravel = ravel_pytree((params["g"], params["d"]))

    def flat_fn(x):
        g, d = unravel(x)
        out = fn({"g": g, "d": d})
        return ravel_pytree((out["g"], out["d"]))[0]

    return flat_fn, x0


def flat_jacobian(fn: Map, params: Params) -> jax.Array:
    """``d fn / d params`` at ``params`` on the flattened parameters: ``[P, P]`` in their dtype, by
    ``jax.jacfwd`` (forward-over-reverse for a gradient field). Traceable: use it inside ``jit``/``vmap``."""
    flat_fn, x0 = _flat(fn, params)
    return jax.jacfwd(flat_fn)(x0)


def dense_jacobian(fn: Map, params: Params, max_params: int = DENSE_LIMIT) -> np.ndarray:
    """:func:`flat_jacobian` compiled and returned as a float64 ``[P, P]`` numpy matrix; ``fn`` is a field
    or an update operator. Refuses ``P > max_params``."""
    size = _size(params)
    if size > max_params:
        raise ValueError(f"the game has {size} parameters, more than max_params={max_params} for a dense "
                         f"{size}x{size} Jacobian; use jvp_operator(...) with leading_eigenvalues(...) "
                         "(matrix-free Arnoldi), or raise max_params")
    return np.asarray(jax.jit(lambda p: flat_jacobian(fn, p))(params), np.float64)


def jacobian(g_loss: Loss, d_loss: Loss, params: Params, max_params: int = DENSE_LIMIT) -> np.ndarray:
    """The game Jacobian ``J = dv/dparams`` at ``params``: float64 ``[P, P]``, rows and columns in
    ``ravel_pytree((params["g"], params["d"]))`` order (G's parameters first)."""
    return dense_jacobian(vector_field(g_loss, d_loss), params, max_params)


def jvp_operator(g_loss: Loss, d_loss: Loss, params: Params) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The matrix-free ``v [P] -> J v [P]`` at ``params`` (one ``jax.jvp`` of the flattened field, jitted
    once; computed in the parameters' dtype, returned as float64 numpy) and ``P``."""
    flat_field, x0 = _flat(vector_field(g_loss, d_loss), params)
    product = jax.jit(lambda x, v: jax.jvp(flat_field, (x,), (v,))[1])

    def matvec(v: np.ndarray) -> np.ndarray:
        return np.asarray(product(x0, jnp.asarray(v, x0.dtype)), np.float64)

    return matvec, int(x0.size)


def _leading(values: np.ndarray, k: int, which: str) -> np.ndarray:
    """Indices of the ``k`` values of largest modulus (``which="modulus"``) or real part, largest first."""
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    key = np.abs(values) if which == "modulus" else values.real
    return np.argsort(-key, kind="stable")[:k]


def leading_eigenvalues(matvec: Callable[[np.ndarray], np.ndarray], dim: int, k: int, krylov_dim: int | None = None,
                        which: str = "modulus", seed: int = 0,
                        report: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` eigenvalues of largest modulus (``which="real"``: largest real part) of a non-symmetric
    operator, by Arnoldi: complex128 ``[k]`` and their residual norms float64 ``[k]``.

    ``krylov_dim`` (default ``min(dim, max(4k, 40))``) matvecs from a seeded Gaussian start build an
    orthonormal basis ``Q`` (classical Gram-Schmidt applied twice: full re-orthogonalisation, float64)
    and the Hessenberg matrix ``H = Q^T A Q``; its eigenvalues (``numpy.linalg.eig``) are the Ritz values.
    The residuals are measured, ``||A x - lambda x||`` for the unit Ritz vector ``x = Q y`` (``k`` or ``2k``
    more matvecs), so they include the operator's own rounding (float32 JVPs: ~1e-6 of ``||A||``); a
    residual small relative to ``|lambda|`` marks a converged eigenvalue. An invariant subspace
    (``h_{j+1,j}`` ~ 0) stops the iteration early, with exact Ritz values (fewer than ``k`` if the
    subspace is smaller). Deterministic for a given seed. ``report(line)``, when given, hears progress every 5
    matvecs.
    """
    if not 1 <= k <= dim:
        raise ValueError(f"k must be in [1, dim={dim}], got {k}")
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    m = min(dim, krylov_dim or max(4 * k, 40))
    if m < k:
        raise ValueError(f"krylov_dim={krylov_dim} is smaller than k={k}")
    q = np.zeros((dim, m + 1))
    h = np.zeros((m + 1, m))
    start = np.random.default_rng(seed).standard_normal(dim)
    q[:, 0] = start / np.linalg.norm(start)
    for j in range(m):
        w = np.asarray(matvec(q[:, j]), np.float64)
        scale = np.linalg.norm(w)
        for _ in range(2):
            coeffs = q[:, :j + 1].T @ w
            h[:j + 1, j] += coeffs
            w = w - q[:, :j + 1] @ coeffs
        h[j + 1, j] = np.linalg.norm(w)
        if h[j + 1, j] <= 1e-12 * scale:
            m = j + 1
            break
        q[:, j + 1] = w / h[j + 1, j]
        if report is not None and (j + 1) % 5 == 0:
            report(f"arnoldi: {j + 1}/{m} matvecs")
    ritz, vectors = np.linalg.eig(h[:m, :m])
    order = _leading(ritz, min(k, m), which)
    values, ritz_vectors = ritz[order], q[:, :m] @ vectors[:, order]  # unit-norm Ritz vectors [dim, k]
    residuals = np.array([np.linalg.norm(_apply(matvec, x) - value * x) for value, x in zip(values, ritz_vectors.T)])
    return values.astype(np.complex128), residuals


def _apply(matvec: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``A x`` for a complex ``x`` with a real operator (one matvec per nonzero part)."""
    result = np.asarray(matvec(x.real), np.float64).astype(np.complex128)
    if np.any(x.imag):
        result = result + 1j * np.asarray(matvec(x.imag), np.float64)
    return result


def eigenvalues(g_loss: Loss, d_loss: Loss, params: Params, k: int | None = None, method: str = "auto",
                which: str = "modulus", max_dense: int = DENSE_LIMIT, krylov_dim: int | None = None,
                seed: int = 0) -> np.ndarray:
    """Eigenvalues of the game Jacobian at ``params``, complex128 ``[k]`` sorted by ``which`` (largest first).

    ``method``: ``"dense"`` (:func:`jacobian` + ``numpy.linalg.eig``; ``k=None`` gives all ``P``),
    ``"arnoldi"`` (:func:`jvp_operator` + :func:`leading_eigenvalues`; needs ``k``), ``"auto"``: dense when
    ``P <= max_dense``. Call :func:`leading_eigenvalues` directly to see Arnoldi's residuals.
    """
    dim = _size(params)
    if method == "auto":
        method = "dense" if dim <= max_dense else "arnoldi"
    if method == "dense":
        values = np.linalg.eig(jacobian(g_loss, d_loss, params, max_dense))[0]
        return values[_leading(values, k or dim, which)].astype(np.complex128)
    if method == "arnoldi":
        if k is None:
            raise ValueError("method='arnoldi' needs k, the number of leading eigenvalues to compute")
        matvec, dim = jvp_operator(g_loss, d_loss, params)
        return leading_eigenvalues(matvec, dim, k, krylov_dim, which, seed)[0]
    raise ValueError(f"method must be 'auto', 'dense' or 'arnoldi', got {method!r}")
