"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") on the
bundled MNIST digits: vertical and horizontal stacks without the blind spot, gated tanh·sigmoid units.

    jaxgen train --config gated_pixelcnn_mnist --workdir runs/gated_pixelcnn_mnist
    jaxgen train --config gated_pixelcnn_mnist:cond --workdir runs/gated_pixelcnn_cond_mnist  # class-conditional
    jaxgen train --config gated_pixelcnn_mnist:8bit --workdir runs/gated_pixelcnn_mnist_8bit
    jaxgen train --config gated_pixelcnn_mnist:tiny --workdir /tmp/gated_tiny    # seconds; tests

5 gated layers of 16 features per stack with 3-wide kernels (sized for a 2-core CPU, ≈0.5 s a step),
Adam 1e-3, batch 64, 800 steps. Variants combine with commas (`cond,8bit`).
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    return likelihood.autoregressive_config("gated_pixelcnn", arg, num_steps=800, features=16, layers=5,
                                            head_features=32)
