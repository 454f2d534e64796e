"""LeNet classifier on the bundled MNIST digits (mnist5k train split): jaxgen's domain feature network.

    jaxgen train --config lenet_mnist --workdir ~/.cache/jaxgen/features/lenet_mnist5k
    jaxgen train --config lenet_mnist:tiny --workdir /tmp/lenet_tiny    # seconds; for tests

Its penultimate layer (128-d) gives the features of FID/KID/precision-recall and its logits the Inception
Score on MNIST-like data (`--features lenet`). `jaxgen eval` trains exactly this config into the path above
on first use if nothing is there. Adam 1e-3, batch 64, 1,000 steps (16 epochs), random shifts of 2 pixels;
test accuracy is logged every 500 steps: 98.5 % at the end (98.1 %, 98.0 % with seeds 1, 2; docs/evaluation.md).
"""

from jaxgen.defaults import classifier


def get_config(arg=None):
    return classifier.default_config("mnist5k", arg)
