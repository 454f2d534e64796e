"""What `jaxgen research landscape|game` compute on a workdir, and the files they write.

    jaxgen research landscape --workdir runs/dcgan --kind interp      # init -> checkpoint, both losses
    jaxgen research landscape --workdir runs/dcgan --kind slice2d     # filter-normalised planes, per player
    jaxgen research landscape --workdir runs/dcgan --kind hessian     # top eigenvalues + spectral density
    jaxgen research game --workdir runs/dcgan                         # leading eigenvalues of the game Jacobian

Every loss is `research.probe`'s: the trainer's training losses on fixed batches, noise and state. A GAN
has two players, its optimizer groups "g" and "d" (each every network of the game it updates: CycleGAN's "g" is
both translators): slices and Hessians are taken per player (G's loss over G's parameters with D fixed,
D's over D's), the interpolation moves both, the game Jacobian is the two groups'. Outputs go to
``WORKDIR/research/`` (or ``out``): ``<kind>.json`` (settings and numbers), ``<kind>.npz`` (arrays) and PNG plots.
"""

from __future__ import annotations

import json
import os
import sys
import time

import jax
import numpy as np

from jaxgen.errors import JaxgenError
from jaxgen.research import game as game_lib
from jaxgen.research import hessian, landscape, plots
from jaxgen.research import probe as probe_lib

KINDS = ("interp", "slice2d", "hessian")


def _report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def player_loss(probe: probe_lib.Probe, player: str):
    """params of `player` (its group) -> every loss, the other player's parameters held at the checkpoint's."""
    if player == "all":
        return probe.losses
    return lambda p: probe.losses(probe.with_group(player, p))


def player_params(probe: probe_lib.Probe, player: str):
    return probe.group(player)


def game_losses(probe: probe_lib.Probe):
    """The two-player game of an adversarial probe on grouped parameters: `(g_loss, d_loss, params)` with
    `params = {"g": G's group, "d": D's group}`, the form `research.game` takes."""
    params = {"g": probe.group("g"), "d": probe.group("d")}

    def loss(name):
        return lambda p: probe.losses({**probe.params, **p["g"], **p["d"]})[name]

    return loss("g_loss"), loss("d_loss"), params


def _players(probe: probe_lib.Probe, players: str | None) -> tuple[str, ...]:
    if players is None:
        return probe.players
    chosen = tuple(p.strip() for p in players.split(",") if p.strip())
    unknown = [p for p in chosen if p not in probe.players]
    if unknown or not chosen:
        raise JaxgenError(f"--players {players!r}: this workdir's players are {', '.join(probe.players)}")
    return chosen


def _write(out: str, name: str, record: dict, arrays: dict) -> list[str]:
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, f"{name}.json"), os.path.join(out, f"{name}.npz")]
    with open(paths[0], "w") as f:
        json.dump(record, f, indent=1)
    np.savez(paths[1], **arrays)
    return paths


def _header(probe: probe_lib.Probe, **settings) -> dict:
    return {"workdir": probe.workdir, "step": probe.step, "batches": probe.num_batches,
            "batch_size": int(probe.config.batch_size), **settings}


def interp(probe: probe_lib.Probe, out: str, *, points: int = 31, lo: float = -0.25, hi: float = 1.25,
           from_step: int | None = None, chunk: int = 8) -> list[str]:
    """Losses along (1 - a) start + a checkpoint, a in [lo, hi]; start = initialisation or `from_step`."""
    start = probe.initial_params() if from_step is None else probe.params_at(from_step)
    alphas = np.linspace(lo, hi, points)
    losses = landscape.interpolate(probe.losses, start, probe.params, alphas, batch_size=chunk, report=_report)
    record = _header(probe, kind="interp", start="init" if from_step is None else f"step {from_step}",
                     alphas=alphas.tolist(), losses={k: np.asarray(v).tolist() for k, v in losses.items()})
    paths = _write(out, "interp", record, {"alphas": alphas, **losses})
    title = f"{os.path.basename(probe.workdir.rstrip('/'))}: {record['start']} (0) -> step {probe.step} (1)"
    return paths + [plots.interpolation_png(os.path.join(out, "interp.png"), alphas, losses, title=title)]


def slice2d(probe: probe_lib.Probe, out: str, *, players: str | None = None, points: int = 21, span: float = 1.0,
            seed: int = 0, chunk: int = 8) -> list[str]:
    """Per player: its losses on the plane checkpoint + x dx + y dy, dx, dy filter-normalised Gaussian."""
    paths, coords = [], np.linspace(-span, span, points)
    for i, player in enumerate(_players(probe, players)):
        params = player_params(probe, player)
        kx, ky = jax.random.split(jax.random.fold_in(jax.random.key(seed), i))
        dx = landscape.filter_normalize(landscape.random_direction(kx, params), params)
        dy = landscape.filter_normalize(landscape.random_direction(ky, params), params)
        start = time.perf_counter()
        values = landscape.slice2d(player_loss(probe, player), params, dx, dy, coords, coords, batch_size=chunk,
                                   report=_report)
        own = probe.own_loss(player)
        record = _header(probe, kind="slice2d", player=player, loss=own, coords=coords.tolist(), seed=seed,
                         seconds=time.perf_counter() - start,
                         losses={k: np.asarray(v).tolist() for k, v in values.items()})
        name = f"slice2d_{player}"
        paths += _write(out, name, record, {"coords": coords, **values})
        title = f"{own} over {'all' if player == 'all' else player.upper()}'s parameters, step {probe.step}"
        paths.append(plots.contour_png(os.path.join(out, f"{name}_contour.png"), coords, coords, values[own],
                                       label=own, title=title))
        paths.append(plots.surface_png(os.path.join(out, f"{name}_surface.png"), coords, coords, values[own],
                                       label=own, title=title))
    return paths


def hessian_spectrum(probe: probe_lib.Probe, out: str, *, players: str | None = None, k: int = 10,
                     iters: int = 60, draws: int = 4, seed: int = 0) -> list[str]:
    """Per player: the top-k eigenvalues (Lanczos) of its own loss's Hessian and its spectral density (SLQ)."""
    paths = []
    for i, player in enumerate(_players(probe, players)):
        params, own, rng = player_params(probe, player), probe.own_loss(player), jax.random.fold_in(
            jax.random.key(seed), i)
        loss = player_loss(probe, player)
        start = time.perf_counter()
        top = hessian.top_eigenvalues(loss, params, k, rng, key=own, num_iters=iters, report=_report)
        op = hessian.hvp_operator(loss, params, key=own)
        density = hessian.spectral_density(op.matvec, op.dim, jax.random.fold_in(rng, 1), num_draws=draws,
                                           num_iters=iters, dtype=op.dtype, report=_report)
        record = _header(probe, kind="hessian", player=player, loss=own, parameters=op.dim, lanczos_iters=iters,
                         draws=draws, seed=seed, seconds=time.perf_counter() - start,
                         top_by_magnitude=top.values.tolist(), largest=top.largest.tolist(),
                         smallest=top.smallest.tolist(), residuals=top.residuals.tolist(),
                         trace_per_param=float(np.mean(np.sum(density.weights * density.nodes, axis=1))))
        name = f"hessian_{player}"
        paths += _write(out, name, record, {"grid": density.grid, "density": density.density,
                                            "nodes": density.nodes, "weights": density.weights})
        paths.append(plots.spectrum_png(os.path.join(out, f"{name}.png"), density.grid, density.density,
                                        eigenvalues=top.largest[:3],
                                        title=f"Hessian of {own}, step {probe.step} ({op.dim:,} parameters)"))
    return paths


def run_landscape(workdir: str, kind: str, *, out: str | None = None, step: int | None = None, batches: int = 4,
                  **options) -> list[str]:
    """`jaxgen research landscape`: one of `KINDS` on a workdir; returns the paths written."""
    if kind not in KINDS:
        raise JaxgenError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    probe = probe_lib.load(workdir, step, batches)
    out = out or os.path.join(workdir, "research")
    if kind == "interp":
        return interp(probe, out, **options)
    if kind == "slice2d":
        return slice2d(probe, out, **options)
    return hessian_spectrum(probe, out, **options)


def run_game(workdir: str, *, out: str | None = None, step: int | None = None, batches: int = 4, k: int = 10,
             method: str = "auto", which: str = "modulus", krylov: int | None = None, seed: int = 0) -> list[str]:
    """`jaxgen research game`: the k eigenvalues of the game Jacobian of a GAN checkpoint of largest modulus
    (`which="modulus"`) or real part ("real": the least stable directions)."""
    probe = probe_lib.load(workdir, step, batches)
    if probe.players != ("g", "d"):
        raise JaxgenError(f"{workdir} is not a GAN: the game Jacobian needs two players' losses")
    out = out or os.path.join(workdir, "research")
    g_loss, d_loss, params = game_losses(probe)
    dim = sum(x.size for x in jax.tree.leaves(params))
    method = ("dense" if dim <= game_lib.DENSE_LIMIT else "arnoldi") if method == "auto" else method
    start = time.perf_counter()
    if method == "arnoldi":
        matvec, dim = game_lib.jvp_operator(g_loss, d_loss, params)
        values, residuals = game_lib.leading_eigenvalues(matvec, dim, k, krylov, which=which, seed=seed,
                                                         report=_report)
    else:
        values = game_lib.eigenvalues(g_loss, d_loss, params, k, method="dense", which=which)
        residuals = np.zeros(len(values))
    record = _header(probe, kind="game", parameters=dim, method=method, which=which, krylov_dim=krylov, seed=seed,
                     seconds=time.perf_counter() - start, real=values.real.tolist(), imag=values.imag.tolist(),
                     modulus=np.abs(values).tolist(), residuals=residuals.tolist())
    paths = _write(out, "game", record, {"eigenvalues": values, "residuals": residuals})
    return paths + [plots.eigenvalues_png(os.path.join(out, "game.png"), values,
                                          title=f"game Jacobian, step {probe.step} ({dim:,} parameters)")]
