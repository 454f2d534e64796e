"""What `jaxgen edit interpolate|arithmetic|mix|truncate` compute on a workdir, and the PNG grid each writes.

    jaxgen edit interpolate --workdir runs/sg --out interp.png [--pairs 4 --frames 8 --space z|w --method slerp|lerp]
    jaxgen edit arithmetic  --workdir runs/sg --out arith.png --a A --b B --c C [--concept class|loop --pool 512]
    jaxgen edit mix         --workdir runs/sg --out mix.png [--rows 3 --cols 4 --bands coarse,fine | --layers 0:4]
    jaxgen edit truncate    --workdir runs/sg --out trunc.png [--rows 4 --psi 1,0.7,0.5,0,-0.5,-1 --cutoff K]

Every command draws its latents from ``jax.random.key(--seed)`` and gives every image the noise images of
``jax.random.key(0)``. `check` runs before JAX is imported (this module imports it only in `run`).
"""

from __future__ import annotations

import math

from jaxgen.edit import bands, concepts
from jaxgen.errors import JaxgenError

PSIS = "1,0.7,0.5,0,-0.5,-1"  # the paper's figure 8


def parse_psis(text: str) -> tuple[float, ...]:
    try:
        psis = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise JaxgenError(f"--psi must be comma-separated numbers (e.g. {PSIS}), got {text!r}") from None
    if not all(math.isfinite(p) for p in psis):
        raise JaxgenError(f"--psi values must be finite, got {text!r}")
    return psis


def parse_layers(text: str) -> tuple[int, int]:
    start, colon, stop = text.partition(":")
    if not (colon and start.isdigit() and stop.isdigit() and int(start) < int(stop)):
        raise JaxgenError(f"--layers must be START:STOP with 0 <= START < STOP (the layers START..STOP-1), got {text!r}")
    return int(start), int(stop)


def parse_bands(text: str) -> tuple[str, ...]:
    names = tuple(text.split(","))
    unknown = [b for b in names if b not in bands.BANDS]
    if unknown:
        raise JaxgenError(f"unknown --bands {unknown[0]!r}: choose from {', '.join(bands.BANDS)} (comma-separated)")
    return names


def check(args) -> None:
    """One-line errors for option values, without JAX."""
    at_least = {"pairs": 1, "frames": 2, "pool": 1, "per_group": 1, "rows": 1, "cols": 1, "cutoff": 1, "scale": 1}
    for name, low in at_least.items():
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise JaxgenError(f"--{name.replace('_', '-')} must be at least {low}, got {value}")
    command = args.edit_command
    if command == "interpolate" and args.space == "w" and args.method == "slerp":
        raise JaxgenError("--method slerp is for Gaussian z; w's distribution is learned: use --method lerp in W")
    if command == "arithmetic":
        if not args.noise >= 0:
            raise JaxgenError(f"--noise must be at least 0, got {args.noise}")
        if args.classifier and args.concept == "loop":
            raise JaxgenError("--classifier goes with --concept class")
        if args.pool < 3 * args.per_group:
            raise JaxgenError(f"--pool {args.pool} cannot hold 3 groups of --per-group {args.per_group}")
    if command == "mix":
        if args.layers and args.bands:
            raise JaxgenError("--layers and --bands exclude each other: copy a band or a layer range")
        if args.layers:
            parse_layers(args.layers)
        if args.bands:
            parse_bands(args.bands)
    if command == "truncate":
        parse_psis(args.psi)


def run(args) -> str:
    """Writes the edit's grid to ``args.out``; returns the line to print."""
    import jax
    import numpy as np

    import jaxgen
    from jaxgen.edit import arithmetic, interpolation, mixing, truncation
    from jaxgen.edit.generator import Generator
    from jaxgen.engine import writers

    model = jaxgen.load(args.workdir, args.step, ema=False if args.no_ema else None)
    g, key, command = Generator(model), jax.random.key(args.seed), args.edit_command
    what = f"checkpoint {model.step} of {args.workdir}"
    if command == "interpolate":
        space, method = interpolation.resolve(g, args.space, args.method)
        labels = None if args.label is None else np.full((args.pairs,), args.label, np.int32)
        z = g.latents(key, 2 * args.pairs)
        cells = interpolation.strips(g, z[:args.pairs], z[args.pairs:], args.frames, space, method, labels=labels)
        line = f"{args.pairs} strips of {args.frames} images ({method} in {space.upper()})"
    elif command == "arithmetic":
        concept = concepts.get(args.concept, model.config.data.name, args.classifier)
        cells, info = arithmetic.figure(g, concept, args.a, args.b, args.c, args.pool, args.per_group, args.noise,
                                        args.seed)
        line = (f"{args.a} - {args.b} + {args.c} in {info['space'].upper()} (rows A, B, C: {args.per_group} examples "
                f"and their mean; then the result and its neighbours; the result's {concept.name}: {info['result']})")
    elif command == "mix":
        chosen = [parse_layers(args.layers)] if args.layers else (parse_bands(args.bands) if args.bands else None)
        z = g.latents(key, args.rows + args.cols)
        cells = mixing.grid(g, z[:args.rows], z[args.rows:], chosen)
        copied = f"layers {args.layers}" if args.layers else ", ".join(chosen or bands.present(g.num_layers))
        line = (f"style mixing of {args.rows} A x {args.cols} B, copying {copied} (this generator's bands: "
                f"{bands.describe(g.num_layers)})")
    else:
        psis = parse_psis(args.psi)
        cells = truncation.grid(g, g.latents(key, args.rows), psis, args.cutoff)
        line = f"truncation of {args.rows} latents at psi = {args.psi}" + (
            f" on layers < {args.cutoff}" if args.cutoff else "")
    cells = np.asarray(jax.device_get(cells))
    if not np.isfinite(cells).all():
        raise JaxgenError(f"{what} draws non-finite images: edit an earlier checkpoint with --step")
    try:
        writers.save_grid(args.out, cells.reshape(-1, *cells.shape[2:]), cells.shape[1], args.scale)
    except OSError as e:
        raise JaxgenError(f"cannot write --out {args.out!r}: {e.strerror or e}") from e
    return f"wrote {line} from {what} to {args.out}"
