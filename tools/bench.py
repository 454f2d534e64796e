"""Times the compiled train step of each registered config; optionally beside PyTorch eager.

    python tools/bench.py                                  # every configs/*.py, default variant
    python tools/bench.py --configs dcgan_mnist --torch    # DCGAN beside tools/torch_dcgan.py, interleaved

A step is one full training iteration (k discriminator updates and one generator update) on a fixed
random batch of the config's shape: data loading is not timed. Times are medians over `--rounds` rounds
of `--steps` steps each, after warm-up (compilation); with --torch the JAX and PyTorch rounds alternate
so that drift on a shared machine hits both alike. Writes JSON (default docs/bench.json) and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def jax_stepper(config_path: str, overrides=()):
    """(run n steps, images per step, config) for the config's train step on a fixed random batch."""
    from jaxgen import config as config_lib
    from jaxgen import data as data_lib
    from jaxgen import trainers
    from jaxgen.engine import sharding

    config = config_lib.load(config_path, list(overrides))
    mesh = sharding.make_mesh()
    info = data_lib.output_info(config.data)
    task = trainers.get(config.trainer).create_task(config, info, mesh)
    state = task.init(jax.random.key(0))
    rng = np.random.default_rng(0)
    batch = sharding.shard_batch(
        {"image": rng.uniform(-1, 1, (config.batch_size, *info["image_shape"])).astype(np.float32),
         "label": rng.integers(0, 10, config.batch_size).astype(np.int32)}, mesh)
    key = jax.random.key(1)
    holder = {"state": state, "i": 0}

    def run(n):
        for _ in range(n):
            holder["state"], metrics = task.step(holder["state"], lambda: batch, jax.random.fold_in(key, holder["i"]))
            holder["i"] += 1
        jax.block_until_ready((holder["state"], metrics))

    return run, config.batch_size, config


def torch_stepper(config, freeze_d_in_g: bool):
    import torch
    import torch_dcgan

    step = torch_dcgan.make_step(width=config.model.width, z_dim=config.model.z_dim, batch=config.batch_size,
                                 freeze_d_in_g=freeze_d_in_g)

    def run(n):
        for _ in range(n):
            step()

    return run, torch.__version__


def time_rounds(runners: dict, steps: int, rounds: int, warmup: int) -> dict:
    """Median ms/step of each runner, measured in alternating rounds."""
    for run in runners.values():
        run(warmup)
    per_step = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(steps)
            per_step[name].append((time.perf_counter() - start) * 1e3 / steps)
    return {name: statistics.median(v) for name, v in per_step.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="*", help="config names (default: every configs/*.py)")
    parser.add_argument("--torch", action="store_true", help="also time tools/torch_dcgan.py beside DCGAN configs")
    parser.add_argument("--torch-freeze-d-in-g", action="store_true",
                        help="PyTorch skips D's weight gradients in the G phase (as jax.grad w.r.t. G does); "
                             "default: computes and discards them, as the PyTorch DCGAN example does")
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "bench.json"))
    parser.add_argument("overrides", nargs="*", help="config overrides key=value applied to every config")
    args = parser.parse_args(argv)
    names = args.configs or sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "configs", "*.py")))
    rows = []
    for name in names:
        run, images, config = jax_stepper(os.path.join(REPO, "configs", f"{name}.py"), args.overrides)
        runners = {"jax": run}
        torch_version = None
        if args.torch and config.model.name == "dcgan":
            runners["torch"], torch_version = torch_stepper(config, args.torch_freeze_d_in_g)
        ms = time_rounds(runners, args.steps, args.rounds, args.warmup)
        row = {"config": name, "batch_size": images, "jax_ms": round(ms["jax"], 2),
               "jax_images_per_s": round(images * 1e3 / ms["jax"], 1)}
        if "torch" in ms:
            row.update(torch_freeze_d_in_g=args.torch_freeze_d_in_g, torch_ms=round(ms["torch"], 2), torch_images_per_s=round(images * 1e3 / ms["torch"], 1),
                       speedup_vs_torch=round(ms["torch"] / ms["jax"], 2), torch_version=torch_version)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                          "processor": platform.processor(), "jax": jax.__version__,
                          "device": jax.devices()[0].device_kind, "device_count": jax.device_count()},
              "command": "python tools/bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print("\n| config | batch | JAX ms/step | JAX img/s | PyTorch ms/step | PyTorch img/s | JAX speed-up |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['batch_size']} | {r['jax_ms']} | {r['jax_images_per_s']} | "
              f"{r.get('torch_ms', '–')} | {r.get('torch_images_per_s', '–')} | {r.get('speedup_vs_torch', '–')} |")


if __name__ == "__main__":
    main()
