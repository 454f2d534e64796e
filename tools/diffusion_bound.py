"""The variational bound of a trained diffusion workdir on a split: the full T-term sum (the number Ho et al.
report: T network passes per image) beside the one-t estimate a training run reports (two passes per image).

    python tools/diffusion_bound.py runs/ddpm_emoji                       # every test image
    python tools/diffusion_bound.py runs/ddpm_emoji --num 128 --batch 64 --seed 1 --no-ema

Both estimators score the same images, the first `--num` of `--split` (all if 0) as the pipeline gives them, with
the EMA weights where the run keeps them (as evaluation does; `--no-ema`: the raw ones). Prints one JSON line: bits
per dimension of each estimator (the mean over the images and its standard error), the full bound's three parts
(L_T, the sum of L_{t-1}, L_0) in bits per dimension, the images scored and the seconds each estimator took (compiled,
on this machine). The full sum costs T passes per image: on a 2-core CPU about 3 ms per image and pass for the
width-16 emoji U-Net, so ~15 minutes for the 304 test emoji at T = 1000.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import jax
import numpy as np

import jaxgen
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import JaxgenError
from jaxgen.losses import likelihood as lik
from jaxgen.metrics import reference
from jaxgen.models import diffusion


def bound(workdir: str, split: str = "test", num: int = 0, batch: int = 64, seed: int = 0, ema: bool | None = None,
          step: int | None = None) -> dict:
    """The full and the one-t bound of `workdir`'s diffusion model on `split` (see the module docstring)."""
    m = jaxgen.load(workdir, step=step, ema=ema)
    if m.config.model.get("name") != "diffusion":
        raise JaxgenError(f"{workdir} holds a {m.config.model.get('name')!r} model, not a diffusion model")
    if m.num_classes is not None:
        raise JaxgenError(f"{workdir} is class-conditional; this tool scores unconditional diffusion models")
    _, info = workdir_lib.read(workdir)
    shape = tuple(info["image_shape"])
    params = m.state["ema"] if m.ema else m.state["params"]
    levels = np.asarray(lik.to_levels(reference.real_images(m.config.data, split, num or None)))
    count, dims = len(levels), math.prod(shape)
    levels = levels[np.arange(count + -count % batch) % count]  # whole batches (repeats dropped): one compiled shape
    out = {"workdir": workdir, "step": m.step, "ema": m.ema, "split": split, "images": count}
    for name in ("full", "sampled"):
        cfg = m.config.model.copy_and_resolve_references()
        cfg.eval_bound = name
        nll = jax.jit(diffusion.density(cfg, shape).nll)
        jax.block_until_ready(nll(params, levels[:batch], jax.random.key(seed)))  # compile
        start = time.perf_counter()
        totals, parts = [], []
        for i in range(0, len(levels), batch):
            total, terms = nll(params, levels[i:i + batch], jax.random.fold_in(jax.random.key(seed), i))
            totals.append(np.asarray(total))
            parts.append({k: np.asarray(v) for k, v in terms.items()})
        seconds = time.perf_counter() - start
        bpd = np.asarray(lik.bits_per_dim(np.concatenate(totals)[:count], dims))
        out[f"{name}_bpd"] = float(bpd.mean())
        out[f"{name}_bpd_sem"] = float(bpd.std(ddof=1) / math.sqrt(len(bpd))) if len(bpd) > 1 else float("nan")
        out[f"{name}_seconds"] = round(seconds, 2)
        if name == "full":
            for k in ("prior", "diffusion", "decoder"):
                nats = np.concatenate([p[k] for p in parts])[:count].mean()
                out[f"full_{k}_bpd"] = float(lik.bits_per_dim(nats, dims))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir")
    parser.add_argument("--split", default="test")
    parser.add_argument("--num", type=int, default=0, help="images of the split (default 0: all)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=int, help="the checkpoint (default: the newest)")
    parser.add_argument("--no-ema", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(bound(args.workdir, args.split, args.num, args.batch, args.seed,
                           ema=False if args.no_ema else None, step=args.step)))


if __name__ == "__main__":
    main()
