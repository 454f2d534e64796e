"""Scores trained likelihood workdirs on the whole test split and writes the table of docs/likelihood.md.

    python tools/likelihood_table.py runs/vae_mnist runs/pixelcnn_mnist …   # writes docs/likelihood.json

Per workdir (newest checkpoint): the trainer's own evaluation (`task.evaluate`, fixed evaluation
binarisation / dequantisation) with, for VAEs, the importance-weighted bounds K = `--iwae` (default
1, 50, 5000). The training budget (steps, batch, epochs, wall time from metrics.jsonl) is recorded beside
each number. Prints the markdown rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax

from jaxgen.engine import workdir as workdir_lib


def budget(workdir: str, config) -> dict:
    """Steps, batch size, epochs of the train split and training wall time (sum of logged intervals)."""
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    rates = [(r["step"], r["steps_per_sec"]) for r in rows if "steps_per_sec" in r]
    seconds, last = 0.0, 0
    for step, rate in rates:
        seconds += (step - last) / rate
        last = step
    return {"steps": config.num_steps, "batch_size": config.batch_size, "train_seconds": round(seconds, 1)}


def describe(config) -> str:
    m = config.model
    if m.name == "vae":
        return f"{m.kind.upper()} {m.encoder} z={m.latent_dim}" + (f" {m.decoder_scale} σ" if m.data == "continuous" else "")
    keys = ("cell", "conditional", "num_components", "covariance_type", "reg_covar")
    return m.name + "".join(f" {k}={m[k]}" for k in keys if k in m and m[k])


def run(workdir: str, iwae: tuple[int, ...]) -> dict:
    def edit(config):
        if config.model.name == "vae" and config.model.kind == "vae":
            config.eval.iwae_samples = iwae
        config.eval.split = "test"

    config, task, state, step = workdir_lib.restore(workdir, edit=edit)
    start = time.perf_counter()
    results = task.evaluate(state, jax.random.key(0))
    data = config.model.get("data", "continuous")  # the classical fits model dequantised data
    return {"workdir": workdir, "step": step, "model": describe(config), "data": data,
            "dataset": config.data.name, **budget(workdir, config), "eval_seconds": round(time.perf_counter() - start, 1),
            "results": {k: round(float(v), 3) for k, v in results.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--iwae", default="1,50,5000", help="K of the importance-weighted bounds (VAEs)")
    parser.add_argument("--out", default="docs/likelihood.json")
    args = parser.parse_args()
    iwae = tuple(int(k) for k in args.iwae.split(","))
    old = {}
    if os.path.exists(args.out):
        old = {r["workdir"]: r for r in json.load(open(args.out))}
    for workdir in args.workdirs:
        row = run(workdir, iwae)
        old[workdir] = row
        print(f"| {row['model']} | {row['data']} | " + ", ".join(f"{k} {v}" for k, v in row["results"].items())
              + f" | {row['steps']} steps × {row['batch_size']}, {row['train_seconds']} s |", flush=True)
    with open(args.out, "w") as f:
        json.dump(list(old.values()), f, indent=1)


if __name__ == "__main__":
    main()
