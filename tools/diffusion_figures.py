"""Figures of a trained diffusion workdir (configs/ddpm_*.py), into docs/images/ (see docs/diffusion.md).

    python tools/diffusion_figures.py runs/ddpm_mnist                          # the run's sampler (DDIM-100)
    python tools/diffusion_figures.py runs/ddpm_mnist --sampler ddpm           # ancestral, all T steps
    python tools/diffusion_figures.py runs/ddpm_mnist --sampler ddim --steps 20 --eta 0

Writes `<name>_<sampler><steps>_samples.png` (`--num` samples of the EMA weights, `--no-ema`: the raw ones) and
`<name>_<sampler><steps>_trajectory.png` (one row per image: x_T, then the iterate at `--columns - 1` evenly
spaced steps of the reverse process, ending at x_0, clipped to [-1, 1] for display), and prints the sampling time
per image (compiled, on this machine) as JSON. `<name>` is the workdir's basename.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxgen
from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.losses import diffusion as dl
from jaxgen.losses import likelihood as lik
from jaxgen.models import diffusion


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir")
    parser.add_argument("--out-dir", default="docs/images")
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), help="default: the run's model.sampler")
    parser.add_argument("--steps", type=int, help="DDIM's strided steps (default: the run's model.sample_steps)")
    parser.add_argument("--eta", type=float, help="DDIM's eta (default: the run's model.eta)")
    parser.add_argument("--num", type=int, default=64, help="samples in the grid")
    parser.add_argument("--rows", type=int, default=6, help="images in the trajectory figure")
    parser.add_argument("--columns", type=int, default=11, help="x_T and this many - 1 later iterates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=int, help="the checkpoint (default: the newest)")
    parser.add_argument("--no-ema", action="store_true")
    args = parser.parse_args(argv)

    m = jaxgen.load(args.workdir, step=args.step, ema=False if args.no_ema else None)
    _, info = workdir_lib.read(args.workdir)
    shape = tuple(info["image_shape"])
    cfg = m.config.model.copy_and_resolve_references()
    if args.sampler:
        cfg.sampler = args.sampler
        cfg.sample_steps = 0 if args.sampler == "ddpm" else cfg.sample_steps
    if args.steps is not None:
        cfg.sample_steps = args.steps
    if args.eta is not None:
        cfg.eta = args.eta
    net = diffusion.model(cfg, shape, m.num_classes)
    sched = diffusion._schedule(cfg)
    run = jax.jit(diffusion.sampler(cfg, net, sched), static_argnames="trajectory")
    params = m.state["ema"] if m.ema else m.state["params"]
    labels = None if m.num_classes is None else jnp.arange(args.num) % m.num_classes
    k_x, k_run = jax.random.split(jax.random.key(args.seed))
    x_T = jax.random.normal(k_x, (args.num, *shape))
    jax.block_until_ready(run(params, x_T, k_run, labels))  # compile
    start = time.perf_counter()
    x0 = jax.block_until_ready(run(params, x_T, k_run, labels))
    seconds = time.perf_counter() - start
    steps = len(dl.strided_steps(sched.num_steps, int(cfg.sample_steps) or sched.num_steps))
    stem = os.path.join(args.out_dir, f"{os.path.basename(os.path.normpath(args.workdir))}_{cfg.sampler}{steps}"
                        + ("_rawg" if args.no_ema else ""))
    writers.save_grid(f"{stem}_samples.png", np.asarray(lik.to_images(lik.to_levels(x0), "8bit")),
                      int(np.ceil(np.sqrt(args.num))))

    rows = args.rows
    sub_labels = None if labels is None else labels[:rows]
    final, xs = run(params, x_T[:rows], k_run, sub_labels, trajectory=True)
    pick = np.unique(np.linspace(0, steps - 1, args.columns - 1).round().astype(int))
    frames = [x_T[:rows], *[xs[i] for i in pick]]  # [columns][rows, H, W, C]
    grid = np.stack([np.clip(np.asarray(f), -1, 1) for f in frames], axis=1).reshape(-1, *shape)
    writers.save_grid(f"{stem}_trajectory.png", grid, len(frames), scale=2)
    ts = dl.strided_steps(sched.num_steps, steps)
    print(json.dumps({"workdir": args.workdir, "step": m.step, "ema": m.ema, "sampler": cfg.sampler, "steps": steps,
                      "eta": float(cfg.eta), "num": args.num, "seconds": round(seconds, 2),
                      "seconds_per_image": round(seconds / args.num, 4),
                      "trajectory_t": [int(sched.num_steps)] + [int(ts[i + 1]) if i + 1 < len(ts) else 0 for i in pick],
                      "files": [f"{stem}_samples.png", f"{stem}_trajectory.png"]}))


if __name__ == "__main__":
    main()
