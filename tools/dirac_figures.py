"""The Dirac-GAN table and figures (Mescheder, Geiger & Nowozin 2018, Sections 2 and 3).

    python tools/dirac_figures.py      # writes docs/dirac.json, the table in docs/dynamics.md, docs/images/dirac_*.png

Every (objective, regulariser, update scheme) of :mod:`jaxgen.research.dirac` with its defaults
(h = 0.1, 2,000 steps from (theta, psi) = (1, 1)): does the trajectory converge, the eigenvalues of the
field's Jacobian J at (0, 0), the spectral radius of the update operator's Jacobian, the largest step
size of a grid with spectral radius < 1, and what the paper concludes. Figures: the field (streamlines)
with the simulated trajectory for twelve rows, one figure per update scheme, and the spectral radius
against the step size. ``--doc ''`` prints the table instead of writing it between the
``<!-- dirac-table -->`` markers of the doc.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from jaxgen.research import dirac

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LRS = tuple(float(h) for h in np.geomspace(0.01, 3.0, 25))  # the step-size grid of the stability column
BEGIN, END = "<!-- dirac-table -->", "<!-- /dirac-table -->"
PANELS = [("mm", "none"), ("ns", "none"), ("wgan", "none"), ("wgan", "wgan_gp"), ("ns", "dragan"),
          ("mm", "consensus"), ("mm", "instance_noise"), ("wgan", "instance_noise"), ("mm", "r1"), ("ns", "r2"),
          ("lsgan", "none"), ("hinge", "r1")]
CURVES = [("mm", "none"), ("wgan", "none"), ("mm", "instance_noise"), ("mm", "r1"), ("wgan", "r1"),
          ("mm", "consensus"), ("wgan", "consensus")]
FAMILY = ("mm", "ns", "wgan")  # of the paper's form f(D(G(z))) + f(-D(x)): f'(0) = 1/2, 1/2, 1


def paper(objective: str, regulariser: str, scheme: str) -> tuple[bool | None, str]:
    """What the paper says (or, for rows it does not analyse, what its formulas predict): ``(converges, text)``."""
    in_family = objective in FAMILY
    if regulariser == "none":
        if objective == "wgan":
            return False, "not convergent: WGAN with a fixed number of D updates and fixed h (Section 3)"
        if objective in ("mm", "ns"):
            return False, ("not convergent: F_h' has eigenvalues 1 ± i h f'(0), modulus > 1 (Section 2)"
                           if scheme == "simultaneous" else
                           "not convergent: F_h' has its eigenvalues on the unit circle for h f'(0) <= 2 (Section 2)")
        if objective == "hinge":
            return False, ("not analysed; near (0, 0) it is the unclipped WGAN field, J = ±i: "
                           "Section 2 predicts no convergence")
        return None, "not analysed (not of the paper's form f(D(G(z))) + f(-D(x)))"
    if regulariser in ("wgan_gp", "dragan"):
        name = "WGAN-GP" if regulariser == "wgan_gp" else "DRAGAN (not analysed by name)"
        where = "(Section 3)" if (objective, regulariser) == ("wgan", "wgan_gp") else "(the WGAN-GP case of Section 3)"
        return False, f"{name}: on a linear D the term is (|psi| - 1)^2, pushing |psi| to 1: not convergent {where}"
    if regulariser in ("r1", "r2"):
        if in_family or objective == "hinge":
            note = "" if in_family else "not analysed; with f'(0) = 1 "
            return True, (f"{note}convergent: J = -gamma/2 ± sqrt(gamma^2/4 - f'(0)^2) (Section 3; R1/R2 in general: "
                          "Theorem 4.1)")
        return None, "not analysed (not of the paper's form)"
    if regulariser == "instance_noise":
        if objective in ("mm", "ns"):
            return True, "convergent: J = f''(0) sigma^2 ± sqrt(f''(0)^2 sigma^4 - f'(0)^2), f''(0) < 0 (Section 3)"
        if objective in ("wgan", "hinge"):
            return False, "f''(0) = 0: the formula of Section 3 gives J = ±i, no damping (it needs f''(0) < 0)"
        return None, "not analysed (not of the paper's form)"
    if in_family or objective == "hinge":
        return True, "convergent for small enough h: J = -gamma f'(0)^2 ± i f'(0) (Section 3)"
    return None, "not analysed (not of the paper's form)"


def _complex(values) -> list[list[float]]:
    return [[float(v.real), float(v.imag)] for v in values]


def _format_eigenvalues(values) -> str:
    values = np.asarray(values) + 0.0  # no "-0"
    if np.all(np.abs(values.imag) < 1e-9):
        return ", ".join(f"{v.real:.4g}" for v in sorted(values.real, reverse=True))
    v = values[np.argmax(values.imag)]
    return f"{v.real:.4g} ± {v.imag:.4g}i"


def run_rows():
    """classify() of every row; returns the JSON records and the verdicts keyed by (objective, regulariser, scheme)."""
    records, verdicts = [], {}
    for objective in dirac.OBJECTIVES:
        for regulariser in dirac.REGULARISERS:
            for scheme in dirac.SCHEMES:
                s = dirac.setting(objective, regulariser, scheme)
                v = dirac.classify(s, lrs=LRS)
                verdicts[objective, regulariser, scheme] = v
                stable = [h for h, r in zip(v.lrs, v.radii) if r < 1 - dirac.RADIUS_TOLERANCE]
                claim, text = paper(objective, regulariser, scheme)
                records.append(dict(
                    objective=objective, regulariser=regulariser, scheme=scheme, setting=s._asdict(),
                    start=list(dirac.START), steps=dirac.STEPS, tolerance=dirac.TOLERANCE,
                    converges=v.converges, final_distance=v.final_distance, final_point=v.path[-1].tolist(),
                    field_eigenvalues=_complex(v.field_eigenvalues), update_eigenvalues=_complex(v.update_eigenvalues),
                    spectral_radius=v.spectral_radius, local=v.local,
                    largest_stable_lr=max(stable) if stable else None, lr_grid=list(LRS), radii=list(v.radii),
                    paper_converges=claim, paper=text,
                    agrees=None if claim is None else claim == (v.converges and v.local == "contracting")))
    return records, verdicts


def _agreement(rows) -> str:
    """Whether the simulation (converged and contracting, or not) matches the paper, over both schemes."""
    flags = [r["agrees"] for r in rows]
    if None in flags:
        return "—"
    return "yes" if all(flags) else "no" if not any(flags) else "partly"


def table(records) -> str:
    """The markdown table: one line per (objective, regulariser), both schemes side by side."""
    by_key = {(r["objective"], r["regulariser"], r["scheme"]): r for r in records}
    lines = ["| objective | regulariser | eigenvalues of J at (0, 0) | simultaneous: ρ(F_h'), final distance | "
             "alternating: ρ(F_h'), final distance | largest stable h (sim / alt) | paper | agrees |",
             "|---|---|---|---|---|---|---|---|"]
    for objective in dirac.OBJECTIVES:
        for regulariser in dirac.REGULARISERS:
            rows = [by_key[objective, regulariser, scheme] for scheme in dirac.SCHEMES]
            cells = []
            for r in rows:
                mark = "**converges**" if r["converges"] else "no"
                cells.append(f"{r['spectral_radius']:.6g} ({r['local']}), {r['final_distance']:.2g}: {mark}")
            stable = " / ".join("—" if r["largest_stable_lr"] is None else
                                f"{'≥ ' if r['largest_stable_lr'] == LRS[-1] else ''}{r['largest_stable_lr']:.2g}"
                                for r in rows)
            texts = dict.fromkeys(r["paper"] for r in rows)
            eig = [complex(*e) for e in rows[0]["field_eigenvalues"]]
            lines.append(f"| {objective} | {regulariser} | {_format_eigenvalues(eig)} | {cells[0]} | {cells[1]} | "
                         f"{stable} | {'; '.join(texts)} | {_agreement(rows)} |")
    return "\n".join(lines)


def save_png(fig, path: str) -> int:
    """Agg PNG, quantised to 32 colours (the pattern of jaxgen.trainers.toy.save_samples_png); returns bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80, format="png")
    plt.close(fig)
    buffer.seek(0)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # octree quantisation keeps small saturated marks (the red start point) that median cut merges into grey
    Image.open(buffer).convert("RGB").quantize(32, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    return os.path.getsize(path)


def field_figure(verdicts, scheme: str, path: str) -> int:
    """Streamlines of the field on [-2, 2]^2 and the trajectory from (1, 1) for each panel row."""
    grid = np.linspace(-2.0, 2.0, 31)
    theta, psi = np.meshgrid(grid, grid)
    fig, axes = plt.subplots(3, 4, figsize=(12.8, 9.6))
    for ax, (objective, regulariser) in zip(axes.flat, PANELS):
        s = dirac.setting(objective, regulariser, scheme)
        v = verdicts[objective, regulariser, scheme]
        field = np.asarray(dirac.field_on_grid(s, jnp.asarray(theta), jnp.asarray(psi)))
        ax.streamplot(grid, grid, field[..., 0], field[..., 1], density=0.8, color="0.6", linewidth=0.6,
                      arrowsize=0.7)
        if s.clip:
            for sign in (1, -1):
                ax.axhspan(sign * s.clip, sign * 2.0, color="tab:red", alpha=0.08, lw=0)
        trajectory = np.clip(v.path, -2.0, 2.0)
        ax.plot(trajectory[:, 0], trajectory[:, 1], color="tab:blue", lw=0.9)
        ax.plot(*dirac.START, "o", color="tab:red", ms=4)
        ax.plot(0, 0, "k*", ms=7)
        verdict = "converges" if v.converges else f"no convergence, |x| = {v.final_distance:.2g}"
        ax.set_title(f"{objective} + {regulariser}: {verdict}\nρ(F_h') = {v.spectral_radius:.4g}", fontsize=8)
        ax.set(xlim=(-2, 2), ylim=(-2, 2))
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    fig.suptitle(f"Dirac-GAN, {scheme} gradient descent, h = 0.1, {dirac.STEPS} steps from (θ, ψ) = (1, 1) "
                 "(x: θ, y: ψ; shaded: |ψ| beyond WGAN's clip)", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def step_size_figure(verdicts, path: str) -> int:
    """Spectral radius of F_h' against h for a few rows, one panel per scheme."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, scheme in zip(axes, dirac.SCHEMES):
        for objective, regulariser in CURVES:
            v = verdicts[objective, regulariser, scheme]
            ax.plot(v.lrs, v.radii, lw=1.2, label=f"{objective} + {regulariser}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(xscale="log", ylim=(0.4, 1.6), xlabel="step size h", title=f"{scheme} gradient descent")
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("spectral radius of F_h' at (0, 0)")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return save_png(fig, path)


def write_table(doc: str, text: str) -> None:
    with open(doc) as f:
        content = f.read()
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} markers; run with --doc '' to print the table")
    head, rest = content.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(doc, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=os.path.join(REPO, "docs", "dirac.json"))
    parser.add_argument("--doc", default=os.path.join(REPO, "docs", "dynamics.md"))
    parser.add_argument("--images", default=os.path.join(REPO, "docs", "images"))
    args = parser.parse_args()

    start = time.time()
    records, verdicts = run_rows()
    with open(args.json, "w") as f:
        json.dump({"paper": "Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually Converge?",
                   "command": "python tools/dirac_figures.py", "rows": records}, f, indent=1)
    text = table(records)
    if args.doc:
        write_table(args.doc, text)
    else:
        print(text)
    image = {name: os.path.join(args.images, f"dirac_{name}.png") for name in dirac.SCHEMES + ("step_size",)}
    sizes = {scheme: field_figure(verdicts, scheme, image[scheme]) for scheme in dirac.SCHEMES}
    sizes["step_size"] = step_size_figure(verdicts, image["step_size"])
    converged = sum(r["converges"] for r in records)
    print(f"{len(records)} rows ({converged} converge), figures {sizes} bytes, {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
