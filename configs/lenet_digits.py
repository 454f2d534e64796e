"""LeNet classifier on the bundled 8x8 digits of scikit-learn (digits train split): jaxgen's domain feature network.

    jaxgen train --config lenet_digits --workdir ~/.cache/jaxgen/features/lenet_digits
    jaxgen train --config lenet_digits:tiny --workdir /tmp/lenet_tiny    # seconds; for tests

Its penultimate layer (128-d) gives the features of FID/KID/precision-recall and its logits the Inception
Score on MNIST-like data (`--features lenet`). `jaxgen eval` trains exactly this config into the path above
on first use if nothing is there. Adam 1e-3, batch 64, 3,000 steps (128 epochs of 1,497 digits), random shifts of 2 pixels;
test accuracy is logged every 500 steps (docs/evaluation.md has the result).
"""

from jaxgen.trainers import classifier


def get_config(arg=None):
    return classifier.default_config("digits", arg)
