"""EmojiNet: the small colour CNN jaxgen trains as the feature network of its emoji datasets.

    x [N, 64, 64, 3] in [-1, 1] -> Conv 3x3 stride 2 (w_0) -> GroupNorm -> ReLU
      -> 3 x (Conv 3x3 w_i -> GroupNorm -> ReLU -> MaxPool 2), w = 32, 64, 128, 256 (64 -> 32 -> 16 -> 8 -> 4)
      -> global average pool [N, 256] -> Dense(hidden) -> ReLU = "pool" [N, hidden]
      -> Dropout -> Dense(num_classes) = "logits" [N, K]

The "pool" features (penultimate layer, 256-d) stand in for Inception's pool features in FID/KID/PR on emoji,
the logits (the 9 Unicode emoji groups) for its classes in the Inception Score, as LeNet's do on digits
(`jaxgen.nn.lenet`). The first stage halves the resolution with its conv's stride rather than a pool, which
makes a training step markedly cheaper on a CPU (docs/evaluation.md). GroupNorm rather than BatchNorm: the
network has no batch statistics, so the classifier state stays `{"params", "opt"}`, and a feature depends on
its own image only, in training and in evaluation.
The global average pool makes it accept any image size, though its features are only meaningful at the 64x64
it is trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
from flax import linen as nn


class EmojiNet(nn.Module):
    """Returns `{"pool": [N, hidden], "logits": [N, num_classes]}` for images [N, H, W, C] in [-1, 1]."""

    num_classes: int = 9
    widths: Sequence[int] = (32, 64, 128, 256)
    hidden: int = 256
    groups: int = 8  # GroupNorm groups per stage (each width must be a multiple)
    dropout: float = 0.3

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> dict[str, jnp.ndarray]:
        for i, width in enumerate(self.widths):
            x = nn.Conv(width, (3, 3), strides=2 if i == 0 else 1, padding="SAME", use_bias=False)(x)
            x = nn.relu(nn.GroupNorm(num_groups=self.groups)(x))
            if i > 0:
                x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        pool = nn.relu(nn.Dense(self.hidden)(jnp.mean(x, axis=(1, 2))))
        logits = nn.Dense(self.num_classes)(nn.Dropout(self.dropout, deterministic=not train)(pool))
        return {"pool": pool, "logits": logits}
