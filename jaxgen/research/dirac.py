"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually
Converge?", Section 2), built from jaxgen's own losses and penalties.

The data are ``delta_0``, the generator ``p_theta = delta_theta`` (one parameter ``theta``) and the
discriminator linear, ``D_psi(x) = psi x`` (one parameter ``psi``, a logit or critic value); the
unique equilibrium is ``(theta, psi) = (0, 0)``. Each player's loss is a jaxgen objective
(:func:`jaxgen.losses.gan.objective`) on D's outputs for the real batch ``x = 0`` and the fake batch
``x = theta`` (both ``[1, 1]``), D's plus a weighted penalty of :mod:`jaxgen.losses.penalties` with
``d_fn = lambda x: psi x`` -- so every objective and regulariser of the library is covered:

- objectives :data:`OBJECTIVES`: all of ``gan.OBJECTIVES`` but BEGAN, whose D is an autoencoder
  (a reconstruction energy, not a linear score) and whose ``k_t`` state is not a player;
- regularisers :data:`REGULARISERS`: the penalties ``none``, ``wgan_gp``, ``dragan``, ``r1``, ``r2``
  (weight ``weight``: jaxgen's R1/R2 term is ``1/2 E||grad D||^2``, so ``weight`` is the paper's gamma;
  the two-sided terms are ``weight E(||grad D|| - 1)^2``, target 1), plus ``instance_noise``
  (Gaussian noise of std ``noise_std`` on real and fake inputs, the expectation by Gauss-Hermite
  quadrature, so the field is deterministic) and ``consensus`` (:func:`jaxgen.research.game.consensus`
  with gamma = ``weight``);
- update schemes simultaneous and alternating gradient descent with step ``lr``
  (:func:`jaxgen.research.game.gradient_step`), WGAN's weight clipping ``clip`` on ``psi``.

For a linear D the input gradient is ``psi`` everywhere, so where a penalty samples its points
(WGAN-GP's interpolates, DRAGAN's perturbed reals) does not matter and the penalty's random key is fixed.
Parameters are ``{"g": theta [], "d": psi []}`` (float32); trajectories are ``[..., 2]`` arrays of
``(theta, psi)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.losses import gan, penalties
from jaxgen.research import game

OBJECTIVES = tuple(name for name in gan.OBJECTIVES if name != "began")
# the penalties of 1-D points (wgan_gp_pixel needs images) and two more
REGULARISERS = tuple(p for p in penalties.PENALTIES if p != "wgan_gp_pixel") + ("instance_noise", "consensus")
SCHEMES = game.SCHEMES
# Defaults of the Dirac-GAN experiments: gamma = 0.3 for the gradient penalties and consensus, sigma = 1
# and WGAN clipping at 0.3 as in the authors' diracgan code; the two-sided penalties weighted 0.5 (their
# WGAN-GP "reg = 1" on (|psi| - g0)^2 / 2) but with jaxgen's target g0 = 1.
DEFAULT_WEIGHTS = {"none": 0.0, "wgan_gp": 0.5, "dragan": 0.5, "r1": 0.3, "r2": 0.3, "instance_noise": 0.0,
                   "consensus": 0.3}
WGAN_CLIP = 0.3
NOISE_NODES = 20  # Gauss-Hermite nodes per noise variable (exact for polynomials up to degree 39)
EQUILIBRIUM = {"g": jnp.zeros(()), "d": jnp.zeros(())}
START = (1.0, 1.0)  # (theta, psi) of the convergence test
STEPS = 2000
TOLERANCE = 1e-3  # final distance to (0, 0) that counts as converged
RADIUS_TOLERANCE = 1e-4  # spectral radius < 1 - this: locally convergent; within it of 1: marginal


class Setting(NamedTuple):
    """One Dirac-GAN experiment (hashable: it is a static argument of :func:`simulate`)."""

    objective: str
    regulariser: str
    scheme: str
    weight: float  # penalty weight (gamma / lambda) or consensus gamma
    noise_std: float  # instance noise sigma
    clip: float  # WGAN weight clipping of psi; 0 = off
    lr: float  # step size h of both players
    d_steps: int  # D steps per G step (alternating only)


def setting(objective: str, regulariser: str = "none", scheme: str = "simultaneous", **overrides) -> Setting:
    """A :class:`Setting` with the defaults above, ``lr`` = 0.1 and one D step; ``overrides`` replace any field.

    WGAN clips ``psi`` (its Lipschitz constraint, jaxgen's ``wgan`` row) unless a gradient penalty
    replaces the constraint (WGAN-GP, DRAGAN, R1, R2); instance noise and consensus do not replace it.
    """
    gradient_penalty = regulariser in penalties.PENALTIES and regulariser != "none"
    clip = WGAN_CLIP if objective == "wgan" and not gradient_penalty else 0.0
    s = Setting(objective, regulariser, scheme, DEFAULT_WEIGHTS.get(regulariser, 0.0), 1.0, clip, 0.1, 1)
    s = s._replace(**overrides)
    for name, choices in (("objective", OBJECTIVES), ("regulariser", REGULARISERS), ("scheme", SCHEMES)):
        value = getattr(s, name)
        if value not in choices:
            note = " (BEGAN needs an autoencoder discriminator)" if value == "began" else ""
            raise ValueError(f"Dirac-GAN {name} must be one of {list(choices)}, got {value!r}{note}")
    return s


def _discriminator(psi: jax.Array) -> penalties.DFn:
    """``D_psi(x [N, 1]) = psi x`` ``[N]``."""
    return lambda x: psi * x[:, 0]


def _noise(std: float) -> tuple[jax.Array, jax.Array]:
    """Gauss-Hermite nodes and weights ``[NOISE_NODES]`` with ``sum w f(e) ~ E f(e)``, ``e ~ N(0, std^2)``."""
    x, w = np.polynomial.hermite.hermgauss(NOISE_NODES)
    return jnp.asarray(np.sqrt(2.0) * std * x, jnp.float32), jnp.asarray(w / np.sqrt(np.pi), jnp.float32)


def losses(s: Setting) -> tuple[game.Loss, game.Loss]:
    """``(g_loss, d_loss)``, each ``{"g": theta, "d": psi} -> []``, for the setting ``s``."""
    objective = gan.objective(s.objective)
    real = jnp.zeros((1, 1))

    def fake(params):
        return jnp.reshape(params["g"], (1, 1))

    if s.regulariser == "instance_noise":
        nodes, weights = _noise(s.noise_std)

        def d_loss(params):  # E over independent real and fake noise: the product rule on a [n, n] grid
            d_fn = _discriminator(params["d"])
            real_out, fake_out = d_fn(real + nodes[:, None]), d_fn(fake(params) + nodes[:, None])
            pair = jax.vmap(jax.vmap(lambda r, f: objective.d_loss(r[None], f[None]), (None, 0)), (0, None))
            return weights @ pair(real_out, fake_out) @ weights

        def g_loss(params):
            fake_out = _discriminator(params["d"])(fake(params) + nodes[:, None])
            return weights @ jax.vmap(lambda f: objective.g_loss(f[None]))(fake_out)

        return g_loss, d_loss

    penalty = s.regulariser if s.regulariser in penalties.PENALTIES else "none"

    def d_loss(params):
        d_fn = _discriminator(params["d"])
        reg = penalties.penalty(penalty, d_fn, real, fake(params), jax.random.key(0))
        return objective.d_loss(d_fn(real), d_fn(fake(params))) + s.weight * reg

    def g_loss(params):
        return objective.g_loss(_discriminator(params["d"])(fake(params)))

    if s.regulariser == "consensus":
        return game.consensus(g_loss, d_loss, s.weight)
    return g_loss, d_loss


def vector_field(s: Setting) -> game.Map:
    """The joint field ``{"g": -dL_G/dtheta, "d": -dL_D/dpsi}`` of the setting."""
    return game.vector_field(*losses(s))


def step(s: Setting) -> game.Map:
    """One update of the setting's scheme, ``{"g", "d"} -> {"g", "d"}``."""
    return game.gradient_step(*losses(s), s.lr, s.scheme, s.d_steps, s.clip)


@functools.partial(jax.jit, static_argnums=0)
def field_on_grid(s: Setting, theta: jax.Array, psi: jax.Array) -> jax.Array:
    """The field at points ``theta [...]``, ``psi [...]`` (same shape): ``[..., 2]`` of ``(v_theta, v_psi)``."""
    field = vector_field(s)

    def at(t, p):
        v = field({"g": t, "d": p})
        return jnp.stack([v["g"], v["d"]])

    return jax.vmap(at)(theta.ravel(), psi.ravel()).reshape(theta.shape + (2,))


@functools.partial(jax.jit, static_argnums=(0, 2))
def simulate(s: Setting, starts: jax.Array, steps: int) -> jax.Array:
    """Trajectories from ``starts [N, 2]`` (``(theta, psi)`` rows): ``[N, steps + 1, 2]``, one ``lax.scan``
    vmapped over the starts."""
    update = step(s)

    def run(start):
        def body(params, _):
            params = update(params)
            return params, jnp.stack([params["g"], params["d"]])

        _, path = jax.lax.scan(body, {"g": start[0], "d": start[1]}, length=steps)
        return jnp.concatenate([start[None], path])

    return jax.vmap(run)(starts.astype(jnp.float32))


def update_jacobian(s: Setting) -> np.ndarray:
    """The Jacobian of the update operator ``F_h`` at the equilibrium, float64 ``[2, 2]``."""
    return game.dense_jacobian(step(s), EQUILIBRIUM)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _analysis(s: Setting, start: jax.Array, lrs: jax.Array, steps: int):
    """One program per setting (compiling is most of the cost): the trajectory from ``start``
    ``[steps + 1, 2]``, J ``[2, 2]``, and F_h' ``[H, 2, 2]`` at each step size ``lrs [H]``."""
    path = simulate(s, start[None], steps)[0]
    field = game.flat_jacobian(vector_field(s), EQUILIBRIUM)
    updates = jax.vmap(lambda lr: game.flat_jacobian(step(s._replace(lr=lr)), EQUILIBRIUM))(lrs)
    return path, field, updates


def _radius(matrix: np.ndarray) -> float:
    """Spectral radius, float64."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


class Verdict(NamedTuple):
    """What the simulation and the linearisation say about one setting."""

    converges: bool  # the trajectory from START ends within TOLERANCE of (0, 0)
    final_distance: float
    field_eigenvalues: np.ndarray  # complex [2], eigenvalues of J at the equilibrium
    update_eigenvalues: np.ndarray  # complex [2], eigenvalues of F_h' at the equilibrium (h = s.lr)
    spectral_radius: float  # of F_h' at h = s.lr
    local: str  # "contracting" (rho < 1 - tol), "marginal" (|rho - 1| <= tol) or "expanding"
    lrs: tuple[float, ...]  # further step sizes h ...
    radii: tuple[float, ...]  # ... and the spectral radius of F_h' at each
    path: np.ndarray  # [steps + 1, 2], the simulated (theta, psi)


def classify(s: Setting, start: tuple[float, float] = START, steps: int = STEPS, tol: float = TOLERANCE,
             radius_tol: float = RADIUS_TOLERANCE, lrs: tuple[float, ...] = ()) -> Verdict:
    """Simulates ``steps`` updates from ``start`` and linearises at the equilibrium (float64 eigenvalues).

    Locally convergent (``local == "contracting"``) iff the spectral radius of ``F_h'`` is below
    ``1 - radius_tol``; ``"marginal"`` (eigenvalues on the unit circle, e.g. alternating updates of the
    unregularised GAN) is not convergent. ``lrs`` adds the spectral radius at other step sizes.
    """
    path, field, updates = _analysis(s, jnp.asarray(start, jnp.float32), jnp.asarray((s.lr,) + tuple(lrs)), steps)
    path, updates = np.asarray(path, np.float64), np.asarray(updates, np.float64)
    distance = float(np.linalg.norm(path[-1]))
    rho = _radius(updates[0])
    local = "contracting" if rho < 1 - radius_tol else "marginal" if rho <= 1 + radius_tol else "expanding"
    return Verdict(bool(distance < tol), distance, np.linalg.eigvals(np.asarray(field, np.float64)),
                   np.linalg.eigvals(updates[0]), rho, local, tuple(float(lr) for lr in lrs),
                   tuple(_radius(u) for u in updates[1:]), path)
