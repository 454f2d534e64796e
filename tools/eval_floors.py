"""The real-vs-real floors of the metrics and the FID-vs-number-of-samples curve, for docs/evaluation.md.

    python tools/eval_floors.py                       # every bundled digit dataset, LeNet features
    python tools/eval_floors.py --datasets mnist5k --features lenet --draws 5
    python tools/eval_floors.py --datasets twemoji,openmoji --features emojinet --no-parzen --cross --tag emoji

Floor: the whole train split plays the generator and is scored against the test split with the same
protocol as a model (FID, KID, PR, density/coverage, and the Inception Score of the real test and train
images), plus the Parzen log-likelihood of the test split under the train images other than the first
1,000 (on which the bandwidth is chosen), and, as a control of KID's noise, the KID between a random
quarter of the train split and the rest (8 draws). A model is judged by its
distance to these numbers, not to zero. Curve: FID and KID of N train images (N from 150 to the whole
split and the size of the test split, `--draws` random subsets each, mean ± std) against the whole test split:
FID's bias in N (Bińkowski et al. 2018; Chong & Forsyth 2020) and KID's lack of it. Writes
docs/eval_floors.json and docs/images/fid_vs_num_samples.png (`--tag T`: eval_floors_T.json and
fid_vs_num_samples_T.png). `--no-parzen` leaves out the pixel-space Parzen floor (meaningless and slow on 64x64
colour images); `--cross` adds the distance between the datasets (`cross`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import ml_collections
import numpy as np

from jaxgen.metrics import evaluate, features, frechet, inception_score, kid, reference


def data_config(name: str) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(name=name, split="train", data_dir=None, image_size=None, pad=0))


def floor(name: str, feature_spec: str, parzen: bool = True) -> dict:
    cfg = data_config(name)
    train = reference.real_images(cfg, "train")
    results = evaluate.evaluate(train, cfg, evaluate.Protocol(metrics=("fid", "kid", "is", "pr"), features=feature_spec))
    if parzen:  # the bandwidth is chosen on train[:1000], so those images must not be window centres too
        protocol = evaluate.Protocol(metrics=("parzen",))  # valid: train's first 1,000
        results.update(evaluate.evaluate(train[1000:], cfg, protocol))
    net = features.get(feature_spec, name)
    test_logits = reference.real_features(cfg, "test", net)["logits"]
    mean, std = inception_score.inception_score(test_logits, shuffle_seed=0)
    results[f"is_real_test_{net.name}"], results[f"is_real_test_{net.name}_std"] = mean, std
    # KID's noise when both sets come from one split: 8 random splits of train (a quarter vs the rest)
    train_pool = reference.real_features(cfg, "train", net)["pool"]
    rng, quarter, kids = np.random.default_rng(1), len(train_pool) // 4, []
    for i in range(8):
        perm = rng.permutation(len(train_pool))
        kids.append(kid.kid(train_pool[perm[:quarter]], train_pool[perm[quarter:]], seed=i,
                            subset_size=min(1000, quarter))[0])
    results["kid_train_quarter_vs_rest_mean"], results["kid_train_quarter_vs_rest_std"] = np.mean(kids), np.std(kids)
    return results


def curve(name: str, feature_spec: str, draws: int) -> dict:
    cfg = data_config(name)
    net = features.get(feature_spec, name)
    train = reference.real_features(cfg, "train", net)["pool"]
    test = reference.real_features(cfg, "test", net)["pool"]
    dim = train.shape[1]
    grid = sorted({150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, len(test)})  # len(test): a model's N on it
    sizes = [n for n in grid if dim < n < len(train)] + [len(train)]
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        fids, kids = [], []
        for _ in range(draws if n < len(train) else 1):
            subset = train[rng.choice(len(train), n, replace=False)]
            fids.append(frechet.fid_from_features(test, subset))
            kids.append(kid.kid(test, subset, subset_size=min(1000, n))[0])
        rows.append({"n": n, "fid_mean": float(np.mean(fids)), "fid_std": float(np.std(fids)),
                     "kid_mean": float(np.mean(kids)), "kid_std": float(np.std(kids)), "draws": len(fids)})
        print(name, rows[-1], file=sys.stderr, flush=True)
    return {"features": net.name, "dim": dim, "reference": f"test ({len(test)})", "rows": rows}


def cross(names: list[str], feature_spec: str) -> dict:
    """FID and KID of each dataset's test split (as the samples) against each other's, for datasets of one
    image shape: the distance between domains, e.g. Twemoji vs OpenMoji of the same codepoints, which is what
    the identity "translation" scores; read it beside the floor at N = the test split's size (the curve)."""
    out = {}
    for a in names:
        for b in names:
            if a != b:
                net = features.get(feature_spec, b)
                fake, real = (reference.real_features(data_config(n), "test", net)["pool"] for n in (a, b))
                mean, std = kid.kid(real, fake)
                out[f"{a}_test_vs_{b}_test"] = {"n": len(fake), "fid": float(frechet.fid_from_features(real, fake)),
                                                "kid": float(mean), "kid_std": float(std)}
                print(a, "vs", b, out[f"{a}_test_vs_{b}_test"], flush=True)
    return out


def plot(curves: dict, path: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, c in curves.items():
        n = [r["n"] for r in c["rows"]]
        for ax, key in zip(axes, ("fid", "kid")):
            ax.errorbar(n, [r[f"{key}_mean"] for r in c["rows"]], yerr=[r[f"{key}_std"] for r in c["rows"]],
                        marker="o", capsize=3, label=f"{name} train vs test ({c['features']}, {c['dim']}-d)")
    axes[0].set(xscale="log", xlabel="number of samples N", ylabel="FID", title="FID of real data vs N")
    axes[1].set(xscale="log", xlabel="number of samples N", ylabel="KID", title="KID of real data vs N")
    axes[1].axhline(0, color="grey", lw=0.5)
    for ax in axes:
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([150, 300, 500, 1000, 2000, 4000])
        ax.legend(fontsize=8)
    fig.suptitle("Real-vs-real: FID falls with N (biased), KID does not (unbiased)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(features.LENET_DATASETS))
    parser.add_argument("--features", default="lenet")
    parser.add_argument("--draws", type=int, default=5, help="random subsets per N on the curve")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--tag", default="", help="suffix of the output files (eval_floors_TAG.json …)")
    parser.add_argument("--parzen", action=argparse.BooleanOptionalAction, default=True,
                        help="the pixel-space Parzen floor (default on)")
    parser.add_argument("--cross", action="store_true",
                        help="also each dataset's test split against each other's (datasets of one image shape)")
    args = parser.parse_args()
    out = {"command": "python tools/eval_floors.py " + " ".join(sys.argv[1:]), "floors": {}, "curves": {}}
    datasets = args.datasets.split(",")
    for name in datasets:
        start = time.perf_counter()
        out["floors"][name] = floor(name, args.features, args.parzen)
        out["curves"][name] = curve(name, args.features, args.draws)
        print(name, json.dumps(out["floors"][name]), f"{time.perf_counter() - start:.0f} s", flush=True)
    if args.cross:
        out["cross"] = cross(datasets, args.features)
    suffix = f"_{args.tag}" if args.tag else ""
    paths = (os.path.join(args.out, f"eval_floors{suffix}.json"),
             os.path.join(args.out, "images", f"fid_vs_num_samples{suffix}.png"))
    os.makedirs(args.out, exist_ok=True)
    with open(paths[0], "w") as f:
        json.dump(out, f, indent=1)
    plot(out["curves"], paths[1])
    print("wrote", *paths)


if __name__ == "__main__":
    main()
