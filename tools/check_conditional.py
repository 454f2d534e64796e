"""Does a class-conditional run draw the digit it is asked for? An independent classifier decides.

    python tools/check_conditional.py --workdir runs/cdcgan [--per-class 200] [--grid docs/images/cdcgan_mnist_classes.png]

Fits a scikit-learn logistic regression on the run's training split (pixels in [-1, 1]), reports its
accuracy on the test split, then draws `--per-class` samples of every class from the newest checkpoint
and prints, per class, the fraction the classifier assigns to the requested label. Writes the grid with
one row per class (8 columns) to `--grid`. (A LeNet domain classifier and FID come with the evaluation
metrics; this check needs neither.)
"""

from __future__ import annotations

import argparse
import json

import jax
import numpy as np
from sklearn.linear_model import LogisticRegression

from jaxgen import data as data_lib
from jaxgen.engine import loop, writers
from jaxgen.engine import workdir as workdir_lib


def _split(data_cfg, split):
    examples = data_lib.read_split(data_cfg, split)
    return examples["image"].reshape(len(examples["image"]), -1), examples["label"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--grid", default=None, help="PNG path for a one-row-per-class grid")
    args = parser.parse_args()
    config, task, state, step = workdir_lib.restore(args.workdir)
    if task.num_classes is None:
        raise SystemExit(f"{args.workdir} holds an unconditional model")
    x_train, y_train = _split(config.data, "train")
    x_test, y_test = _split(config.data, "test")
    clf = LogisticRegression(max_iter=300, C=0.05).fit(x_train, y_train)
    report = {"step": step, "classifier_test_accuracy": round(float(clf.score(x_test, y_test)), 4), "per_class": {}}
    for c in range(task.num_classes):
        images = task.generate(state, jax.random.key(c), args.per_class, np.full((args.per_class,), c, np.int32))
        predicted = clf.predict(np.asarray(jax.device_get(images)).reshape(args.per_class, -1))
        report["per_class"][c] = round(float(np.mean(predicted == c)), 3)
    report["mean"] = round(float(np.mean(list(report["per_class"].values()))), 3)
    print(json.dumps(report, indent=1))
    if args.grid:
        images, ncol = loop.sample_grid(task, state, jax.random.key(0), 8 * task.num_classes)
        writers.save_grid(args.grid, images, ncol)
        print("wrote", args.grid)


if __name__ == "__main__":
    main()
