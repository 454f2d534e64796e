"""Where a config's train step spends its time, by XLA operation; and A/B of the transposed conv's kernel gradient.

    python tools/profile_step.py configs/pix2pix_emoji.py                  # ms/step of the 30 costliest ops
    python tools/profile_step.py configs/pix2pix_emoji.py --compare-rows 0 512 1000000000

The step is `tools/bench.py`'s (a fixed random batch of the config's shape). The profile traces `--steps` steps
after `--steps` of warm-up with `jax.profiler` and sums each trace event's duration by name (HLO fusions,
convolutions, copies: names as in the compiled program's text); run it with
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 0`` for one thread's view. ``--compare-rows`` builds one
task per value of :data:`jaxgen.nn.upsample.SUBPIXEL_KERNEL_GRAD_ROWS` (0: every transposed conv takes the mirror
conv's kernel gradient; a huge value: every one the sub-pixel conv's) in one process, and prints the median CPU
seconds per step of alternating rounds (`--rounds` rounds of `--steps` steps).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import sys
import tempfile
import time

import jaxgen  # noqa: F401  (first: its host allocator setting, before numpy and JAX start threads)

# isort: split
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

from jaxgen.nn import upsample  # noqa: E402


def profile(config: str, overrides, steps: int, top: int) -> list[tuple[str, float]]:
    """[(op name, ms per step)] of the `top` costliest trace events of `steps` steps."""
    import jax

    run, *_ = bench.jax_stepper(config, overrides)
    run(steps)
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        run(steps)
        jax.profiler.stop_trace()
        trace, = glob.glob(os.path.join(tmp, "**", "*.trace.json.gz"), recursive=True)
        events = json.load(gzip.open(trace))["traceEvents"]
    total = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and "dur" in event:
            total[event["name"]] += event["dur"]
    return [(name, us / 1e3 / steps) for name, us in total.most_common(top)]


def compare_rows(config: str, overrides, values, steps: int, rounds: int) -> dict[int, float]:
    """{rows: median CPU seconds per step} with `SUBPIXEL_KERNEL_GRAD_ROWS` = rows, alternating rounds."""
    runs = {}
    for rows in values:  # each task is traced (its first steps) while the constant holds its value
        upsample.SUBPIXEL_KERNEL_GRAD_ROWS = rows
        runs[rows], *_ = bench.jax_stepper(config, overrides)
        runs[rows](2)
    times = {rows: [] for rows in values}
    for _ in range(rounds):
        for rows, run in runs.items():
            start = time.process_time()
            run(steps)
            times[rows].append((time.process_time() - start) / steps)
    return {rows: float(np.median(t)) for rows, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="config file (with an optional :variant)")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4, help="with --compare-rows")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--compare-rows", type=int, nargs="+", help="values of SUBPIXEL_KERNEL_GRAD_ROWS to time")
    args = parser.parse_args(argv)
    if args.compare_rows:
        for rows, seconds in compare_rows(args.config, args.overrides, args.compare_rows, args.steps,
                                          args.rounds).items():
            print(f"SUBPIXEL_KERNEL_GRAD_ROWS={rows}: {seconds:.4f} CPU s/step")
        return
    for name, ms in profile(args.config, args.overrides, args.steps, args.top):
        print(f"{ms:9.1f} ms/step  {name[:110]}")


if __name__ == "__main__":
    main()
