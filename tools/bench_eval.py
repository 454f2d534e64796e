"""Times feature extraction and every metric for 10,000 MNIST-sized samples with the LeNet features.

    python tools/bench_eval.py                       # writes docs/bench_eval.json, prints a Markdown table
    python tools/bench_eval.py --num 10000 --features lenet --dataset mnist5k
    python tools/bench_eval.py --inception weights.pth      # also InceptionV3 features of --inception-num samples

The samples are the 4,000 training digits tiled to `--num` with a little Gaussian noise (a stand-in for a
generator: the cost does not depend on what the images show). Each stage runs twice: the first call
includes compilation, the second is the steady state. The reference is the test split (1,000 digits; its
features come from the cache after the first run). `--inception FILE` adds InceptionV3 (FID variant) features
of `--inception-num` samples (28x28 grey -> 299x299 RGB); any weight file of the right shapes times the same,
e.g. random weights written by `tests/nn/torch_inception.py`. Parzen: `--num` centres, the test split, and the
10-value bandwidth grid on 1,000 validation images, in 784-d pixel space, as the protocol does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import jax
import ml_collections
import numpy as np

from jaxgen.metrics import (
    evaluate,
    features,
    frechet,
    inception_score,
    kid,
    nearest,
    parzen,
    precision_recall,
    reference,
)


def timed(fn):
    times = []
    for _ in range(2):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num", type=int, default=10000)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--features", default="lenet")
    parser.add_argument("--inception", help="an InceptionV3 weight file: also time Inception features")
    parser.add_argument("--inception-num", type=int, default=64)
    parser.add_argument("--out", default="docs/bench_eval.json")
    args = parser.parse_args()
    cfg = ml_collections.ConfigDict(dict(name=args.dataset, split="train", data_dir=None, image_size=None, pad=0))
    train = reference.real_images(cfg, "train")
    rng = np.random.default_rng(0)
    samples = np.clip(np.resize(train, (args.num, *train.shape[1:])) + rng.normal(0, 0.05, (args.num, *train.shape[1:])),
                      -1, 1).astype(np.float32)
    net = features.get(args.features, args.dataset)
    real = reference.real_features(cfg, "test", net)
    rows = []

    def stage(name, fn, in_total=True):
        """Times `fn` twice; `in_total`: one of the stages of the domain-network evaluation summed at the end."""
        out, (first, second) = timed(fn)
        rows.append({"stage": name, "first_s": round(first, 3), "steady_s": round(second, 3), "in_total": in_total})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        return out

    fake = stage(f"{args.features} features of {args.num} samples", lambda: net.extract(samples))
    stage("FID", lambda: frechet.fid_from_features(real["pool"], fake["pool"]))
    stage("KID (100 subsets of 1,000)", lambda: kid.kid(real["pool"], fake["pool"]))
    stage("IS (10 splits)", lambda: inception_score.inception_score(fake["logits"]))
    stage("precision/recall (k=3) + density/coverage (k=5)", lambda: precision_recall.prdc(real["pool"], fake["pool"]))
    pix = lambda x: (x.reshape(len(x), -1) + 1) / 2  # noqa: E731
    valid, test = reference.real_images(cfg, "train[:1000]"), reference.real_images(cfg, "test")
    stage(f"Parzen ({args.num} centres, 10 bandwidths x 1,000 valid + 1,000 test, 784-d)",
          lambda: parzen.parzen_protocol(pix(samples), pix(valid), pix(test)))
    stage(f"nearest training image of {args.num} samples (pixels, 4,000 x 784-d)",
          lambda: nearest.nearest_neighbours(samples.reshape(args.num, -1), train.reshape(len(train), -1)))
    wide = [rng.standard_normal((args.num, 2048)).astype(np.float32) for _ in range(2)]
    stage(f"FID of {args.num} x 2048-d features (Inception's size: statistics + square root)",
          lambda: frechet.fid_from_features(*wide), in_total=False)
    if args.inception:
        inception = features.get(f"inception:{args.inception}", args.dataset)
        stage(f"inception features of {args.inception_num} samples (batches of {inception.batch_size})",
              lambda: inception.extract(samples[:args.inception_num]), in_total=False)
    protocol = evaluate.Protocol(metrics=("fid", "kid", "is", "pr"), features=args.features)
    stage("jaxgen eval pipeline: features + FID, KID, IS, PR", lambda: evaluate.evaluate(samples, cfg, protocol),
          in_total=False)
    total = sum(r["steady_s"] for r in rows if r["in_total"])
    result = {"command": "python tools/bench_eval.py " + " ".join(sys.argv[1:]),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "jax": jax.__version__,
                          "device": jax.devices()[0].device_kind},
              "num_samples": args.num, "rows": rows, "steady_total_s": round(total, 2)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("| stage | first call (s, with compilation) | steady state (s) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['stage']} | {r['first_s']} | {r['steady_s']} |")
    print(f"| the {args.features} stages above (features, FID … nearest), steady state | | {total:.2f} |")


if __name__ == "__main__":
    main()
