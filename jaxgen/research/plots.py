"""PNG figures of loss landscapes and Hessian spectra (matplotlib Agg; palette PNGs of tens of KB).

Each writer takes the arrays :mod:`jaxgen.research.landscape` and :mod:`jaxgen.research.hessian`
return, writes ``path`` (creating its directory) and returns it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from jaxgen import optional


def _pyplot():
    return optional.pyplot("the research figures")


def _save(fig, path: str, colors: int = 64) -> str:
    """Writes ``fig`` as a ``colors``-colour optimised PNG (several times smaller than matplotlib's RGBA)."""
    plt = _pyplot()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, format="png")
    plt.close(fig)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.open(buffer).convert("RGB").quantize(colors).save(path, format="PNG", optimize=True)
    return path


def _check_grid(xs, ys, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, values = np.asarray(xs), np.asarray(ys), np.asarray(values)
    if values.shape != (len(ys), len(xs)):
        raise ValueError(f"values must have shape [len(ys), len(xs)] = {(len(ys), len(xs))} "
                         f"(as slice2d returns them), got {values.shape}")
    return xs, ys, values


def _finish(fig, ax, path: str, xlabel: str, ylabel: str, title: str | None) -> str:
    """Labels, a light grid and the title of a 2-D plot, then the file."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=8)
    return _save(fig, path)


def interpolation_png(path: str, alphas, losses: Mapping[str, Sequence[float]], *, log_scale: bool = False,
                      xlabel: str = "alpha", title: str | None = None) -> str:
    """Curves of one or more losses ``{name: [N]}`` against ``alphas [N]`` on one axes (log y with
    ``log_scale``, which needs positive losses)."""
    if log_scale and any(np.min(v) <= 0 for v in losses.values()):
        raise ValueError("log_scale needs positive losses; plot them on a linear scale (log_scale=False)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, values in losses.items():
        ax.plot(alphas, values, label=name, linewidth=1.2)
    if log_scale:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    return _finish(fig, ax, path, xlabel, "loss", title)


def contour_png(path: str, xs, ys, values, *, levels: int = 30, label: str = "loss", title: str | None = None) -> str:
    """Filled contours and contour lines of ``values [len(ys), len(xs)]``, the origin (the checkpoint) starred."""
    xs, ys, values = _check_grid(xs, ys, values)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    filled = ax.contourf(xs, ys, values, levels=levels, cmap="viridis")
    ax.contour(xs, ys, values, levels=filled.levels, colors="black", linewidths=0.3)
    ax.plot([0.0], [0.0], marker="*", color="red", markersize=9, linestyle="none", label="checkpoint")
    fig.colorbar(filled, ax=ax, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=8)
    return _save(fig, path, colors=128)


def surface_png(path: str, xs, ys, values, *, label: str = "loss", title: str | None = None) -> str:
    """A 3-D surface of ``values [len(ys), len(xs)]`` over the ``(x, y)`` plane."""
    xs, ys, values = _check_grid(xs, ys, values)
    plt = _pyplot()
    fig = plt.figure(figsize=(4.8, 4.0))
    ax = fig.add_subplot(projection="3d")
    grid_x, grid_y = np.meshgrid(xs, ys)
    ax.plot_surface(grid_x, grid_y, values, cmap="viridis", linewidth=0, antialiased=False)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel(label)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=8)
    return _save(fig, path, colors=128)


def spectrum_png(path: str, grid, density, *, eigenvalues: Sequence[float] = (), log_scale: bool = True,
                 title: str | None = None) -> str:
    """The smoothed Hessian eigenvalue density on ``grid`` (log y by default, floored at 1e-12 of its
    peak), the given top ``eigenvalues`` marked by dashed red lines."""
    grid, density = np.asarray(grid), np.asarray(density)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if log_scale:
        floor = 1e-12 * float(density.max())
        ax.semilogy(grid, np.maximum(density, floor), color="black", linewidth=1.0)
        ax.set_ylim(bottom=floor)
    else:
        ax.plot(grid, density, color="black", linewidth=1.0)
    for i, value in enumerate(eigenvalues):
        ax.axvline(value, color="red", linestyle="--", linewidth=0.7, label="top eigenvalues" if i == 0 else None)
    if len(eigenvalues):
        ax.legend(fontsize=7)
    return _finish(fig, ax, path, "eigenvalue", "density", title)


def eigenvalues_png(path: str, values, *, title: str | None = None) -> str:
    """Complex eigenvalues ``[k]`` in the complex plane (the imaginary axis dashed: real parts left of it
    mean local convergence of gradient flow)."""
    values = np.asarray(values, np.complex128)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.axvline(0.0, color="gray", linestyle="--", linewidth=0.7)
    ax.axhline(0.0, color="gray", linewidth=0.4)
    ax.scatter(values.real, values.imag, s=16, color="black")
    return _finish(fig, ax, path, "real part", "imaginary part", title)
