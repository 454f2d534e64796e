"""A PyTorch VGG-16/19 convolution stack written from the paper's configurations (Simonyan & Zisserman 2015, tables
D and E), independent of ``jaxgen/nn/vgg.py``: the reference of tests/nn/test_vgg.py and the perceptual loss of
tools/torch_srgan.py.

``features(depth, seed)`` is torchvision's ``features`` Sequential (conv 3x3 padding 1, ReLU, ..., MaxPool 2x2;
its indices are torchvision's state-dict keys ``features.N.weight``) with He-random weights, and the layer names
``conv1_1, relu1_1, ..., pool5`` of its modules; ``last`` cuts it after that layer. ``preprocess`` (and the module
``Preprocess``) applies one of ``jaxgen.nn.vgg``'s input conventions (``Preprocessing``: ImageNet's or HED's) to
NCHW images in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

PAPER = {16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
         19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]}


def features(depth: int, seed: int = 0, last: str | None = None) -> tuple[nn.Sequential, list[str]]:
    """(torchvision's ``features`` Sequential in eval mode, its layer names), He-random weights drawn from ``seed``,
    up to and including layer ``last`` (default: pool5)."""
    torch.manual_seed(seed)
    layers, names, channels, block, conv = [], [], 3, 1, 0
    for v in PAPER[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            names.append(f"pool{block}")
            block, conv = block + 1, 0
            continue
        conv += 1
        layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU()]
        names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        nn.init.kaiming_normal_(layers[-2].weight)
        nn.init.uniform_(layers[-2].bias, -0.1, 0.1)
        channels = v
    end = names.index(last) + 1 if last is not None else len(names)
    return nn.Sequential(*layers[:end]).eval(), names[:end]


def preprocess(images: torch.Tensor, p) -> torch.Tensor:
    """NCHW images in [-1, 1] -> the network's input under ``p`` (a ``jaxgen.nn.vgg.Preprocessing``):
    ``((x + 1) / 2 * scale)[RGB or BGR] - mean) / std``, grey repeated to 3 channels."""
    x = (images + 1) * (0.5 * p.scale)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if p.bgr:
        x = x.flip(1)
    mean, std = (torch.tensor(v, dtype=x.dtype, device=x.device)[:, None, None] for v in (p.mean, p.std))
    return (x - mean) / std


class Preprocess(nn.Module):
    """:func:`preprocess` under ``p`` as a module (to put before :func:`features`' stack)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, images):
        return preprocess(images, self.p)
