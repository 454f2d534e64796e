"""LeNet classifier on the bundled 8x8 digits of scikit-learn (digits train split): jaxgen's domain feature network.

    jaxgen train --config lenet_digits --workdir ~/.cache/jaxgen/features/lenet_digits
    jaxgen train --config lenet_digits:tiny --workdir /tmp/lenet_tiny    # seconds; for tests

Its penultimate layer (128-d) gives the features of FID/KID/precision-recall and its logits the Inception
Score on MNIST-like data (`--features lenet`). `jaxgen eval` trains exactly this config into the path above
on first use if nothing is there. Adam 1e-3, batch 64, 1,000 steps (43 epochs of 1,497 digits), random shifts of
2 pixels; test accuracy is logged every 500 steps: 98.7 % at the end (docs/evaluation.md).
"""

from jaxgen.defaults import classifier


def get_config(arg=None):
    return classifier.default_config("digits", arg)
