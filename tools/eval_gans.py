"""Evaluates trained GAN workdirs with the full protocol and writes the table of docs/evaluation.md.

    python tools/eval_gans.py runs/dcgan runs/gan runs/zoo/mm runs/zoo/lsgan …   # writes docs/eval_gans.json

Per workdir (newest checkpoint, sample seed 0): FID, KID, IS, precision/recall and density/coverage of
`--num` samples (default 4,000: the size of the train split, so that the numbers sit beside the
real-vs-real floor of tools/eval_floors.py with the same N), then the Parzen log-likelihood of the test split
under `--parzen-num` samples (default 10,000, Goodfellow et al.'s protocol) and the nearest-neighbour grids
(into `<workdir>/eval/`). Each result is also appended to the workdir's metrics.jsonl, as `jaxgen eval` does.
Also draws precision vs recall and density vs coverage of every run beside the real-vs-real floor of
docs/eval_floors.json (if present) into docs/images/eval_gans_pr.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax

from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.metrics import evaluate, names


def run(workdir: str, args, nets: dict) -> dict:
    """The two evaluations of one workdir; `nets` keeps each dataset's feature network across workdirs."""
    config, task, state, step = workdir_lib.restore(workdir)
    start = time.perf_counter()
    results = {}
    for metrics, num in (("fid,kid,is,pr", args.num), ("parzen,nn", args.parzen_num)):
        protocol = evaluate.Protocol.parse(metrics, num_samples=num, features=args.features)
        if config.data.name not in nets:
            nets[config.data.name] = evaluate.feature_net(protocol, config.data.name)
        samples = evaluate.generate_samples(task, state, num, jax.random.key(0))
        results.update(evaluate.evaluate(samples, config.data, protocol, os.path.join(workdir, "eval"),
                                         tag=f"step_{step:07d}", net=nets[config.data.name]))
    writer = writers.MetricWriter(workdir)
    writer.write(step, results)
    writer.close()
    return {"workdir": workdir, "step": step, "model": config.model.name,
            "loss": config.loss.objective + ("" if config.loss.penalty == "none" else f"+{config.loss.penalty}"),
            "eval_s": round(time.perf_counter() - start, 1), **results}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--num", type=int, default=4000)
    parser.add_argument("--parzen-num", type=int, default=10000)
    parser.add_argument("--features", default="auto")
    parser.add_argument("--out", default="docs/eval_gans.json")
    args = parser.parse_args()
    rows, nets = [], {}
    for workdir in args.workdirs:
        rows.append(run(workdir, args, nets))
        print(json.dumps(rows[-1]), flush=True)
    with open(args.out, "w") as f:
        json.dump({"command": "python tools/eval_gans.py " + " ".join(sys.argv[1:]), "rows": rows}, f, indent=1)
    print(markdown(rows, args.num, args.parzen_num))
    figure = os.path.join(os.path.dirname(os.path.abspath(args.out)), "images", "eval_gans_pr.png")
    plot(rows, args.num, os.path.join(os.path.dirname(os.path.abspath(args.out)), "eval_floors.json"), figure)
    print("wrote", args.out, figure)


def plot(rows: list[dict], num: int, floors_path: str, path: str) -> None:
    """Precision/recall and density/coverage of each run (and of real data, if the floors exist)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = names.count(num)
    points = [(os.path.relpath(r["workdir"], "runs") if r["workdir"].startswith("runs") else r["workdir"], r)
              for r in rows]
    if os.path.exists(floors_path):
        with open(floors_path) as f:
            floor = json.load(f)["floors"].get(rows[0].get("dataset", "mnist5k"), {})
        if f"precision{n}_test_lenet" in floor:
            points.append(("real (train split)", floor))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (x, y) in zip(axes, (("recall", "precision"), ("coverage", "density"))):
        for label, r in points:
            ax.scatter(r[f"{x}{n}_test_lenet"], r[f"{y}{n}_test_lenet"], marker="*" if "real" in label else "o",
                       s=120 if "real" in label else 40)
            ax.annotate(label, (r[f"{x}{n}_test_lenet"], r[f"{y}{n}_test_lenet"]), fontsize=8,
                        xytext=(4, 3), textcoords="offset points")
        ax.set(xlabel=f"{x} ({n} samples, LeNet features)", ylabel=y, xlim=(-0.03, 1.08))
        ax.grid(alpha=0.3)
    axes[0].set_title("precision vs recall (k = 3)")
    axes[1].set_title("density vs coverage (k = 5)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)


def markdown(rows: list[dict], num: int, parzen_num: int) -> str:
    """The table of docs/evaluation.md: one row per workdir, metrics named by their protocol."""
    n, p = names.count(num), names.count(parzen_num)
    feats = next((k.split("_")[-1] for k in rows[0] if k.startswith(f"fid{n}_test_")), "lenet")
    cols = [(f"fid{n}_test_{feats}", "FID", "{:.1f}"), (f"kid{n}_test_{feats}", "KID", "{:.1f}"),
            (f"is{n}_{feats}", "IS", "{:.2f}"), (f"precision{n}_test_{feats}", "precision", "{:.3f}"),
            (f"recall{n}_test_{feats}", "recall", "{:.3f}"), (f"density{n}_test_{feats}", "density", "{:.3f}"),
            (f"coverage{n}_test_{feats}", "coverage", "{:.3f}"),
            (f"parzen{p}_test_pixels", "Parzen (nats)", "{:.1f}"), (f"nn{p}_train_pixels", "NN ratio", "{:.2f}")]
    lines = ["| run | step | " + " | ".join(f"{label} `{key}`" for key, label, _ in cols) + " |",
             "|---" * (len(cols) + 2) + "|"]
    for r in rows:
        cells = []
        for key, _, fmt in cols:
            text = fmt.format(r[key]) if key in r else "–"
            if key + "_std" in r:
                text += " ± " + fmt.format(r[key + "_std"])
            if key + "_se" in r:
                text += " ± " + fmt.format(r[key + "_se"])
            cells.append(text)
        lines.append(f"| {r['workdir']} ({r['model']}, {r['loss']}) | {r['step']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
