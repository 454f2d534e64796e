"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", Sec. 3.5) on the bundled MNIST
digits (mnist5k, 4,000 train / 1,000 test, 28×28).

    jaxgen train --config pixelcnn_mnist --workdir runs/pixelcnn_mnist            # binarised
    jaxgen train --config pixelcnn_mnist:8bit --workdir runs/pixelcnn_mnist_8bit  # 256-way softmax
    jaxgen train --config pixelcnn_mnist:tiny --workdir /tmp/pixelcnn_tiny        # seconds; tests

7×7 type-A conv, 5 residual blocks of masked 3×3 type-B convs, 32 features (the paper: 15 layers of 2h =
256 on full MNIST; this is sized for a 2-core CPU, 0.3-0.4 s a step), Adam 1e-3, batch 64, 4,000 steps (64
epochs, about 20 min). The test split is scored (exact NLL, nats; bits/dim for 8-bit) three times; samples
are drawn once at the end (an exact sample is 784 network passes on a window of the canvas).
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    return likelihood.autoregressive_config("pixelcnn", arg, num_steps=4000, features=32, blocks=5,
                                            head_features=32)
