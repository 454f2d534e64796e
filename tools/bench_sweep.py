"""N small GAN runs as one vmapped program vs the same N runs one after another, on this machine.

    python tools/bench_sweep.py                        # N = 1, 8, 64; writes docs/bench_sweep.json
    python tools/bench_sweep.py --runs 1 8 --steps 50  # quicker

Two workloads, each timed both ways in the same process, rounds alternating so that drift on a shared
machine hits both alike (medians over ``--rounds``; compilation is timed separately and excluded):

- ``toy``: the mode-coverage toy GAN of ``jaxgen toy`` (2-D ring of 8 Gaussians, PacGAN's small MLPs,
  batch 100, simultaneous updates): its per-run ``step`` jitted alone and called once per run, vs
  ``jax.vmap`` of the same step over N runs (seeds) in one call.
- ``sweep``: the tiny MLP GAN of ``configs/gan_mnist.py:tiny`` at batch 64 on MNIST batches:
  ``jaxgen train``'s step (``Task.step`` of the GAN trainer) called once per run, vs ``jaxgen sweep``'s
  step (one vmapped program for the N runs, one seed each). Data loading is not timed: every run reads
  its own copy of one fixed batch on both sides.

A "step" below is one training step of every one of the N runs; speed-up = sequential time / vmapped time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxgen import config as config_lib  # noqa: E402
from jaxgen.data import pipeline  # noqa: E402
from jaxgen.data import toy as toy_data
from jaxgen.engine import sharding  # noqa: E402
from jaxgen.trainers import gan, sweep, toy  # noqa: E402


def toy_steppers(n: int):
    """(sequential, vmapped) callables that advance n toy-GAN runs by one step each."""
    config = toy.default_config()
    config.dataset = "ring8"
    group = toy.group_losses(("ns",))[0]
    prog = sweep.run_program(toy.trainer_config(config, group), toy.run_table(group, list(range(n))),
                             {"image_shape": (toy_data.get(config.dataset).dim,)})
    one_hp = jax.tree.map(lambda x: x[0], prog.hp)

    def one_step(state, run_hp, seed, t):  # the step key is derived inside the program, as jaxgen toy does
        return prog.step_one(run_hp, seed, state, {}, t)[0]

    alone = jax.jit(one_step)
    batched = jax.jit(jax.vmap(one_step, in_axes=(0, 0, 0, None)))
    box = {"seq": [jax.jit(prog.init_one)(one_hp, s) for s in prog.seeds],
           "vm": jax.jit(jax.vmap(prog.init_one))(prog.hp, prog.seeds), "t": 0}

    def sequential():
        box["t"] += 1
        t = jnp.int32(box["t"])
        box["seq"] = [alone(s, one_hp, seed, t) for s, seed in zip(box["seq"], prog.seeds)]
        return box["seq"]

    def vmapped():
        box["t"] += 1
        box["vm"] = batched(box["vm"], prog.hp, prog.seeds, jnp.int32(box["t"]))
        return box["vm"]

    return sequential, vmapped


def sweep_steppers(n: int):
    """(sequential, vmapped) callables: `jaxgen train`'s GAN step for each of n runs, or `jaxgen sweep`'s."""
    base = config_lib.load("configs/gan_mnist.py:tiny", ["batch_size=64"])
    config = sweep.sweep_config(base, [("seed", list(range(n)))])
    info = pipeline.output_info(base.data)
    mesh = sharding.make_mesh(jax.devices()[:1])
    batch = next(iter(pipeline.make_loader(base.data, global_batch_size=64, seed=0)))
    alone = gan.create_task(base, info, mesh)  # runs differing only in their seed share this program
    swept = sweep.create_task(config, info, mesh)
    many = sharding.shard_batch(jax.tree.map(lambda x: np.stack([x[None]] * n), batch), mesh)
    # each sequential run reads its own copy too, as runs with their own data streams would
    ones = [sharding.shard_batch(jax.tree.map(np.copy, batch), mesh) for _ in range(n)]
    box = {"seq": [alone.init(jax.random.key(i)) for i in range(n)], "vm": swept.init(None), "t": 0}

    def sequential():
        box["t"] += 1
        box["seq"] = [alone.step(s, lambda: b, jax.random.key(box["t"]), box["t"])[0] for s, b in zip(box["seq"], ones)]
        return box["seq"]

    def vmapped():
        box["t"] += 1
        box["vm"] = swept.step(box["vm"], lambda: many, None, box["t"])[0]
        return box["vm"]

    return sequential, vmapped


def time_steps(fn, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / steps


def measure(make, n: int, steps: int, rounds: int) -> dict:
    sequential, vmapped = make(n)
    compile_s = {}
    for name, fn in (("sequential", sequential), ("vmapped", vmapped)):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        compile_s[name] = time.perf_counter() - start
    seq, vm = [], []
    for _ in range(rounds):
        seq.append(time_steps(sequential, steps))
        vm.append(time_steps(vmapped, steps))
    seq_s, vm_s = statistics.median(seq), statistics.median(vm)
    return {"runs": n, "sequential_ms_per_step": 1e3 * seq_s, "vmapped_ms_per_step": 1e3 * vm_s,
            "speedup": seq_s / vm_s, "run_steps_per_s_vmapped": n / vm_s, "first_call_s": compile_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--workloads", nargs="+", default=["toy", "sweep"], choices=["toy", "sweep"])
    parser.add_argument("--steps", type=int, default=100, help="steps per timed round (default 100)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "bench_sweep.json"))
    args = parser.parse_args(argv)
    makers = {"toy": toy_steppers, "sweep": sweep_steppers}
    rows = []
    for workload in args.workloads:
        for n in args.runs:
            row = {"workload": workload, **measure(makers[workload], n, args.steps, args.rounds)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| workload | N runs | sequential (ms/step) | vmapped (ms/step) | speed-up |\n|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workload']} | {r['runs']} | {r['sequential_ms_per_step']:.2f} | {r['vmapped_ms_per_step']:.2f} | "
              f"{r['speedup']:.1f}× |")
    record = {"command": "python tools/bench_sweep.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "jax": jax.__version__, "device": jax.devices()[0].device_kind},
              "steps": args.steps, "rounds": args.rounds, "rows": rows}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
