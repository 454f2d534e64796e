"""LeNet: the small convolutional digit classifier used as jaxgen's domain feature network.

LeCun et al. 1998's LeNet-5 shape (two conv + max-pool stages, two fully-connected layers) with the widths
of the Keras/PyTorch MNIST examples and ReLU:

    x [N, H, W, C] in [-1, 1] -> Conv(5x5, w0, SAME) -> ReLU -> MaxPool 2 -> Conv(5x5, w1, SAME) -> ReLU
      -> MaxPool 2 -> flatten -> Dense(hidden) -> ReLU = "pool" features [N, hidden]
      -> Dropout -> Dense(num_classes) = "logits" [N, K]

For 28x28 digits the feature maps are 28 -> 14 -> 7; for 8x8 digits 8 -> 4 -> 2. The "pool" features (the
penultimate layer, after ReLU) play the part of Inception's 2048-d pool features in FID/KID/PR, the logits
that of its 1008 logits in the Inception Score: the common practice for MNIST-like data where ImageNet
features are meaningless (e.g. Lucic et al. 2018 use a LeNet-style classifier for MNIST's FID).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
from flax import linen as nn


class LeNet(nn.Module):
    """Returns `{"pool": [N, hidden], "logits": [N, num_classes]}` for images [N, H, W, C] in [-1, 1]."""

    num_classes: int = 10
    widths: Sequence[int] = (32, 64)
    hidden: int = 128
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> dict[str, jnp.ndarray]:
        for width in self.widths:
            x = nn.relu(nn.Conv(width, (5, 5), padding="SAME")(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        pool = nn.relu(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1)))
        logits = nn.Dense(self.num_classes)(nn.Dropout(self.dropout, deterministic=not train)(pool))
        return {"pool": pool, "logits": logits}
