"""The DCGAN and WGAN-GP train steps on this machine's accelerator, float32 and bfloat16, beside PyTorch eager,
and which up/down-sampling lowering is faster here.

    python tools/device_check.py                                # GPU/TPU: batch 64 and 256 (meant for < 5 min)
    python tools/device_check.py --small --out /tmp/check.json  # any machine: tiny configs, a few steps (CPU: ~1 min)

Rows: DCGAN (``configs/dcgan_mnist.py``, the non-saturating loss) and WGAN-GP (``configs/wgan_gp_mnist.py`` with
``n_critic = 1``, as ``tools/bench.py --losses`` runs it: one D update with its double-backward penalty and one
G update), each in ``config.dtype`` float32 and bfloat16 (compute dtype; parameters and optimizer state float32),
on one device (the first), with a fixed random batch. Each row times, in alternating rounds (``tools/bench.py``'s
``time_rounds``: medians over ``--rounds`` rounds of ``--steps`` steps, after compiling and ``--warmup`` steps):

- JAX with the backend's lowering (``jaxgen.nn.upsample.default_impl``: ``"fast"``, the sub-pixel forms, on the
  CPU and GPU, where they were measured faster; XLA's own ``"lax"`` elsewhere);
- JAX with the other lowering, forced with ``$JAXGEN_UPSAMPLE_IMPL`` while its step is built and compiled;
- PyTorch eager (``tools/torch_dcgan.py``) on the same device, bfloat16 as ``torch.autocast`` with float32 weights.
  Without PyTorch, or without a CUDA build of it on a GPU, the JAX columns still print and one line says why.

It prints the device, the jax/jaxlib/torch versions, the XLA compiler options jaxgen passes on this backend
(``jaxgen.engine.compilation.compiler_options``: XLA:CPU's convolutions kept on Eigen; none on GPU/TPU), a
Markdown table (ms/step, images/s, JAX's speed-up over PyTorch, the faster lowering) and the total wall time, and
writes every timed step as a JSON row (``--out``; default ``docs/device_check.json``, none with ``--small``; a
JAX row also holds its first step's metrics and ``build_s``, the seconds to build and compile it). Compiled
programs go to jaxgen's compilation cache, as with every ``jaxgen`` command, so programs that rows share (the
parameter initialisation) compile once, and a second run compiles nothing.
``--small`` runs the ``:tiny`` configs (width 8) at batch 8 for a few steps: it checks that everything runs
(the test suite runs it on the CPU); its times mean little.

On a GPU machine, from a copy of this repository (only the package registry needs to be reachable):

    python3 -m venv .venv && . .venv/bin/activate
    pip install -e ".[bench]" "jax[cuda12]"     # PyTorch from PyPI (its CUDA build on Linux), JAX for CUDA 12
    python -c "import jax, torch; print(jax.devices(), torch.cuda.is_available())"
    python tools/device_check.py                # then put its table in docs/benchmarks.md, "Device check"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time

import jaxgen  # noqa: F401  (first: its host allocator setting, before numpy and JAX start threads)

# isort: split
import jax
import jaxlib

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(TOOLS), TOOLS]  # this checkout's jaxgen, and tools/ (not a package)
import bench  # noqa: E402

from jaxgen.nn import upsample  # noqa: E402

CONFIGS = {"dcgan": "dcgan_mnist", "wgan_gp": "wgan_gp_mnist"}  # model row: bundled config (run with n_critic = 1)
DTYPES = ("float32", "bfloat16")
FULL = {"batch": [64, 256], "steps": 20, "rounds": 5, "warmup": 5}  # the defaults of a full run ...
SMALL = {"batch": [8], "steps": 2, "rounds": 2, "warmup": 1}  # ... and of --small


@contextlib.contextmanager
def lowering(impl: str):
    """``$JAXGEN_UPSAMPLE_IMPL = impl`` inside, restored after: what is traced inside uses that lowering."""
    before = os.environ.get(upsample.IMPL_ENV)
    os.environ[upsample.IMPL_ENV] = impl
    try:
        yield
    finally:
        if before is None:
            del os.environ[upsample.IMPL_ENV]
        else:
            os.environ[upsample.IMPL_ENV] = before


def lowerings() -> tuple[str, str]:
    """(this backend's lowering, the other one): ``jaxgen.nn.upsample.default_impl()`` and its alternative."""
    default = upsample.default_impl()
    return default, next(impl for impl in upsample.CONV_IMPLS if impl != default)


def jax_runner(spec: str, overrides: list[str], impl: str, mesh):
    """(run n steps, config, the first step's metrics as floats, seconds to build the task and run its first
    step: compiling, or loading from the compilation cache) of config `spec`'s step traced under lowering `impl`."""
    start = time.perf_counter()
    with lowering(impl):
        run, _, config, _ = bench.jax_stepper(spec, overrides, mesh=mesh)
        first = run(1)
    return run, config, {k: float(v) for k, v in first.items()}, time.perf_counter() - start


def torch_device() -> tuple[str | None, str]:
    """(the PyTorch device beside JAX's default backend, or None; why there is none)."""
    try:
        import torch
    except (ImportError, OSError) as e:
        return None, f"PyTorch is not installed or does not load ({type(e).__name__}: {e}); pip install torch"
    backend = jax.default_backend()
    if backend == "cpu":
        return "cpu", ""
    if backend == "gpu" and torch.cuda.is_available():
        return "cuda", ""
    if backend == "gpu":
        return None, (f"torch {torch.__version__} sees no CUDA device (a CPU build?); "
                      f"pip install torch from PyPI brings its CUDA build on Linux")
    return None, f"no PyTorch eager reference on backend {backend!r}"


def measure(model: str, dtype: str, batch: int, args, mesh, torch_on: str | None) -> list[dict]:
    """The rows of one (model, dtype, batch): JAX under the default and the other lowering, and PyTorch on
    `torch_on` (None: no PyTorch row)."""
    default, other = lowerings()
    spec = CONFIGS[model] + (":tiny" if args.small else "")
    overrides = ["n_critic=1", f"dtype={dtype}", f"batch_size={batch}"]
    runners, rows = {}, {}
    for impl in (default, other):
        runners[impl], config, first, build_s = jax_runner(spec, overrides, impl, mesh)
        rows[impl] = {"framework": "jax", "lowering": impl, "default_lowering": impl == default,
                      "build_s": round(build_s, 1), "first_step": first}
    if torch_on is not None:
        runners["torch"], _ = bench.torch_stepper(config, freeze_d_in_g=False, device=torch_on,
                                                  threads=len(os.sched_getaffinity(0)))
        rows["torch"] = {"framework": "torch", "lowering": None, "device": torch_on}
    times = bench.time_rounds(runners, args.steps, args.rounds, args.warmup)
    common = {"model": model, "config": spec, "loss": config.loss.name, "dtype": dtype, "batch_size": batch}
    out = []
    for name, row in rows.items():
        ms, cpu_ms = times[name]
        row = {**common, **row, "ms": round(ms, 3), "cpu_ms": round(cpu_ms, 3),
               "images_per_s": round(batch * 1e3 / ms, 1)}
        if name != "torch" and "torch" in times:
            row["speedup_vs_torch"] = round(times["torch"][0] / ms, 3)
        if name == other:
            row["speedup_vs_default"] = round(times[default][0] / ms, 3)
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def print_table(rows: list[dict], default: str, other: str, torch_missing: str) -> None:
    """Markdown, one line per (model, dtype, batch): JAX (default lowering), PyTorch, JAX (other lowering)."""
    print(f"\n| model | dtype | batch | JAX ms/step (`{default}`, default) | JAX img/s | PyTorch ms/step | "
          f"PyTorch img/s | **JAX speed-up** | JAX ms/step (`{other}`) | faster lowering |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    cases = {}
    for r in rows:
        cases.setdefault((r["model"], r["dtype"], r["batch_size"]), {})[r["lowering"] or "torch"] = r
    wins = {default: 0, other: 0}
    for (model, dtype, batch), case in cases.items():
        jd, jo, pt = case[default], case[other], case.get("torch")
        winner = default if jd["ms"] <= jo["ms"] else other
        wins[winner] += 1
        cells = [model, dtype, batch, jd["ms"], jd["images_per_s"], pt["ms"] if pt else "–",
                 pt["images_per_s"] if pt else "–", jd.get("speedup_vs_torch", "–"), jo["ms"],
                 f"`{winner}` ({max(jd['ms'], jo['ms']) / min(jd['ms'], jo['ms']):.2f}×)"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if torch_missing:
        print(f"\nPyTorch: {torch_missing}")
    print(f"\nFaster lowering here: `{default}` (the default) in {wins[default]} of {len(cases)} rows, "
          f"`{other}` in {wins[other]}.")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true",
                        help="the :tiny configs at batch 8 for a few steps: checks that it runs (the test suite)")
    parser.add_argument("--batch", type=int, nargs="+", help="batch sizes (default 64 256; --small: 8)")
    parser.add_argument("--steps", type=int, help="steps per round (default 20; --small: 2)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 5; --small: 2)")
    parser.add_argument("--warmup", type=int, help="steps after compiling, before timing (default 5; --small: 1)")
    parser.add_argument("--out", help="JSON file (default docs/device_check.json; --small: none)")
    args = parser.parse_args(argv)
    if os.environ.get(upsample.IMPL_ENV):
        parser.error(f"unset {upsample.IMPL_ENV}: device_check times both lowerings itself")
    for key, value in (SMALL if args.small else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    out = args.out or (None if args.small else os.path.join(bench.REPO, "docs", "device_check.json"))

    from jaxgen import cache
    from jaxgen.engine import compilation, sharding

    start = time.perf_counter()
    cache_dir = cache.use_compilation_cache()  # as every jaxgen command: programs shared by rows compile once
    device = jax.devices()[0]
    default, other = lowerings()
    torch_on, torch_missing = torch_device()
    torch_version = None
    if torch_on is not None:
        import torch

        torch_version = torch.__version__
    machine = {"backend": jax.default_backend(), "device": device.device_kind, "devices_used": 1,
               "device_count": jax.device_count(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
               "torch": torch_version, "torch_device": torch_on, "torch_missing": torch_missing or None,
               "compiler_options": compilation.compiler_options(), "default_lowering": default,
               "compilation_cache": cache_dir, "platform": platform.platform(),
               "cpus_allowed": len(os.sched_getaffinity(0))}
    print(f"device: {device.device_kind} ({machine['backend']}; 1 of {machine['device_count']} devices) · "
          f"jax {machine['jax']} · jaxlib {machine['jaxlib']} · torch {torch_version or '–'} on "
          f"{torch_on or '–'} · XLA compiler options: {machine['compiler_options'] or 'none'} · "
          f"lowerings: `{default}` (default), `{other}` · batch {', '.join(map(str, args.batch))} · "
          f"{args.rounds} rounds × {args.steps} steps",
          flush=True)
    mesh = sharding.make_mesh([device])
    rows = []
    for model in CONFIGS:
        for dtype in DTYPES:
            for batch in args.batch:
                rows += measure(model, dtype, batch, args, mesh, torch_on)
    print_table(rows, default, other, torch_missing)
    wall = time.perf_counter() - start
    print(f"\nTotal wall time: {wall:.0f} s")
    result = {"machine": machine, "small": args.small, "batch_sizes": args.batch, "steps": args.steps,
              "rounds": args.rounds, "warmup": args.warmup, "wall_s": round(wall, 1),
              "command": "python tools/device_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": rows}
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
