"""Fingerprints of today's results: tiny runs trained with a fixed seed, hashed to the byte.

    python tools/fingerprints.py --record      # write docs/fingerprints.json (before a refactor)
    python tools/fingerprints.py               # compare against it; exit 1 on any difference

Each entry trains a `:tiny` config for `--steps` steps with `jaxgen train` (seed 0, one CPU device), draws
`jaxgen sample --num 16 --seed 0` and hashes the PNG and the checkpoint's parameters (every leaf's bytes).
The toy entry runs `jaxgen toy` on every loss for two seeds and hashes its per-seed metrics. A refactor
that claims not to move results must leave every hash unchanged on the same jax version *and the same CPU*:
XLA:CPU compiles for the host's instruction set, so the parameters' bytes (float32 rounding of vectorised sums)
differ between CPU models. On 2026-12-02 this machine gave other params hashes than docs/fingerprints.json for
commit fc42111 itself (the PNGs were unchanged); record on the machine you compare on, before the refactor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "fingerprints.json")

# name -> (config, extra overrides). The six first, then the paths they do not cover.
RUNS = {
    "dcgan": ("configs/dcgan_mnist.py:tiny", []),
    "wgan_gp": ("configs/wgan_gp_mnist.py:tiny", []),
    "cdcgan": ("configs/cdcgan_mnist.py:tiny", []),
    "r1": ("configs/r1_mnist.py:tiny", []),
    "vae": ("configs/vae_mnist.py:tiny", []),
    "gated_pixelcnn": ("configs/gated_pixelcnn_mnist.py:tiny", []),
    "r1_lazy_ema": ("configs/r1_mnist.py:tiny", ["--config.loss.reg_every=4", "--config.ema_decay=0.9"]),
    "wgan_clip": ("configs/wgan_mnist.py:tiny", []),
    "began": ("configs/began_mnist.py:tiny", []),
    "acgan": ("configs/cdcgan_mnist.py:tiny", ["--config.model.conditioning=acgan"]),
    "projection_unfused": ("configs/cdcgan_mnist.py:tiny", ["--config.model.conditioning=projection",
                                                            "--config.fuse_phases=false"]),
    "gan_mlp": ("configs/gan_mnist.py:tiny", []),
}
TOY = ["--losses", "all", "--dataset", "ring8", "--seeds", "2", "--steps", "60", "--arch", "tiny",
       "--batch-size", "32"]


def _jaxgen(*args: str) -> str:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # one device, as a plain `jaxgen train` on this machine
    out = subprocess.run([sys.executable, "-m", "jaxgen", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"jaxgen {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _params_hash(workdir: str) -> str:
    code = ("import hashlib, jax, numpy as np, sys; from jaxgen.engine import workdir as workdir_lib; "
            "s = workdir_lib.restore(sys.argv[1])[2]; h = hashlib.sha256(); "
            "[h.update(np.asarray(x).tobytes()) for x in jax.tree.leaves(s['params'])]; print(h.hexdigest()[:16])")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code, workdir], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return out.stdout.strip()


def fingerprint(name: str, steps: int, tmp: str) -> dict:
    config, overrides = RUNS[name]
    workdir = os.path.join(tmp, name)
    _jaxgen("train", "--config", config, "--workdir", workdir, f"--config.num_steps={steps}",
            f"--config.checkpoint_every={steps}", "--config.seed=0", *overrides)
    png = os.path.join(tmp, f"{name}.png")
    _jaxgen("sample", "--workdir", workdir, "--num", "16", "--seed", "0", "--out", png)
    with open(png, "rb") as f:
        return {"png": _sha(f.read()), "params": _params_hash(workdir)}


def toy_fingerprint(tmp: str) -> dict:
    out = os.path.join(tmp, "toy")
    _jaxgen("toy", *TOY, "--out", out)
    with open(os.path.join(out, "results.json")) as f:
        metrics = json.load(f)["metrics"]
    with open(os.path.join(out, "results.md")) as f:
        table = f.read().split("\n\n")[0]
    return {"metrics": _sha(json.dumps(metrics, sort_keys=True).encode()), "table": table}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help=f"write {os.path.relpath(OUT, ROOT)}")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--only", help="comma-separated entries (default: all, and the toy table)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else [*RUNS, "toy"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            results[name] = toy_fingerprint(tmp) if name == "toy" else fingerprint(name, args.steps, tmp)
            print(name, json.dumps(results[name] if name != "toy" else results[name]["metrics"]), flush=True)
    if args.record:
        import jax

        record = {"jax": jax.__version__, "steps": args.steps, "toy_args": TOY, "fingerprints": results}
        with open(OUT, "w") as f:
            json.dump(record, f, indent=1)
        print(f"wrote {OUT}")
        return 0
    with open(OUT) as f:
        saved = json.load(f)
    if saved["steps"] != args.steps:
        raise SystemExit(f"{OUT} was recorded with --steps {saved['steps']}")
    moved = [n for n in names if saved["fingerprints"].get(n) != results[n]]
    for n in moved:
        print(f"MOVED {n}: recorded {saved['fingerprints'].get(n)} now {results[n]}")
    print("all fingerprints unchanged" if not moved else f"{len(moved)} fingerprints moved")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
