"""The measurements behind docs/research.md's explanation of sweep exactness and speed, on this machine.

    python tools/sweep_checks.py          # ~1 min; writes docs/sweep_checks.json

- ``exactness``: the tiny MLP GAN (configs/gan_mnist.py:tiny, 4 steps) swept over 2 seeds x 2 learning rates,
  against each run trained alone by the GAN trainer: the largest parameter difference per run, and the
  smallest difference between two different runs of the sweep (for scale).
- ``batched_dot``: 64 products [100, 128] x [128, 128] as one vmapped program vs 64 calls (medians of 5 x 20).
- ``bernoulli``: ``jax.random.bernoulli`` of [64, 784] for 64 keys, vmapped vs 64 calls (the dropout masks
  of the MLP GAN's D).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

import jax
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxgen import config as config_lib  # noqa: E402
from jaxgen.engine import sharding  # noqa: E402
from jaxgen.trainers import gan, sweep  # noqa: E402


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def exactness() -> dict:
    mesh = sharding.make_mesh(jax.devices()[:1])
    config = sweep.sweep_config(config_lib.load("configs/gan_mnist.py:tiny"), [("seed", [0, 1]), ("lr", [1e-4, 4e-4])])
    with tempfile.TemporaryDirectory() as tmp:
        state = jax.device_get(sweep.train_and_evaluate(config, os.path.join(tmp, "sweep"), mesh=mesh))
        runs = [jax.tree.map(lambda x, i=i: np.asarray(x)[i], state["params"]) for i in range(4)]
        alone = [jax.device_get(gan.train_and_evaluate(sweep.run_config(config, r), os.path.join(tmp, str(i)),
                                                       mesh=mesh)["params"])
                 for i, r in enumerate(sweep.runs(config))]
    between = min(_max_diff(runs[i], runs[j]) for i in range(4) for j in range(i + 1, 4))
    return {"vs_alone_max_abs": [_max_diff(r, a) for r, a in zip(runs, alone)], "between_runs_min": between,
            "param_abs_mean": float(np.mean([np.abs(x).mean() for x in jax.tree.leaves(runs[0])]))}


def _median_ms(fn, reps: int = 20, rounds: int = 5) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            out = fn()
        jax.block_until_ready(out)
        times.append((time.perf_counter() - start) / reps * 1e3)
    return statistics.median(times)


def vmapped_vs_calls(fn, args) -> dict:
    one, batched = jax.jit(fn), jax.jit(jax.vmap(fn))
    singles = [[a[i] for a in args] for i in range(len(args[0]))]
    seq = _median_ms(lambda: [one(*s) for s in singles])
    vm = _median_ms(lambda: batched(*args))
    return {"calls_ms": seq, "vmapped_ms": vm, "vmapped_speedup": seq / vm}


def main():
    x = jax.random.normal(jax.random.key(0), (64, 100, 128))
    w = jax.random.normal(jax.random.key(1), (64, 128, 128))
    keys = jax.random.split(jax.random.key(2), 64)
    record = {
        "command": "python tools/sweep_checks.py",
        "exactness": exactness(),
        "batched_dot": vmapped_vs_calls(lambda a, b: a @ b, (x, w)),
        "bernoulli": vmapped_vs_calls(lambda k: jax.random.bernoulli(k, 0.8, (64, 784)), (keys,)),
        "jax": jax.__version__, "cores": os.cpu_count(),
    }
    print(json.dumps(record, indent=1))
    path = os.path.join(REPO, "docs", "sweep_checks.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
