"""PyTorch eager reference of the pix2pix train step (the baseline for ``tools/bench.py --torch``).

The networks of ``jaxgen/nn/unet.py`` and ``jaxgen/nn/patchgan.py`` (Isola et al. 2017; the authors'
``UnetGenerator`` / ``NLayerDiscriminator`` with BatchNorm): a U-Net of log2(H) levels, channels
``width * min(2**i, 8)``, dropout 0.5 in the first three decoder blocks; a PatchGAN of ``layers`` stride-2 convs on
``cat(source, target)``. Init N(0, 0.02), BatchNorm scales N(1, 0.02), momentum 0.1 (flax's 0.9), eps 1e-5. The
step is the JAX adversarial trainer's (``jaxgen/trainers/gan.py`` with ``jaxgen/games/paired.py``):

    D phase: fake = G(x) (train mode, no grad); d_loss = BCE(D([x, y]), 1) + BCE(D([x, fake]), 0); optD.step()
    G phase: fake = G(x) (a second pass, as the trainer draws G's output again); g_loss = BCE(D([x, fake]), 1)
             + lambda * mean |fake - y|; optG.step()   (D's gradients of this pass are computed and discarded
             unless ``freeze_d_in_g``)

(the authors' code reuses the D phase's G pass; the trainer's phases are independent, so both pay two passes).
Importable: ``make_step(image_size=64, channels=(3, 3), batch=4, ...) -> step()``; runnable:
``python tools/torch_pix2pix.py --image-size 64 --batch 4 --steps 20`` prints median ms/step as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import torch
from torch import nn
from torch.nn import functional as F
from torch_dcgan import init_weights, median_ms

from jaxgen.nn import patchgan


class UNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, depth: int, width: int = 64, dropout_blocks: int = 3):
        super().__init__()
        ch = [width * min(2**i, 8) for i in range(depth)]
        self.depth = depth
        self.down = nn.ModuleList(nn.Conv2d(in_channels if i == 0 else ch[i - 1], ch[i], 4, 2, 1,
                                            bias=not 0 < i < depth - 1) for i in range(depth))
        self.down_norm = nn.ModuleList(nn.BatchNorm2d(ch[i], momentum=0.1, eps=1e-5) if 0 < i < depth - 1
                                       else nn.Identity() for i in range(depth))
        self.up, self.up_norm = nn.ModuleList(), nn.ModuleList()
        for j in range(depth):
            cin = ch[depth - 1] if j == 0 else 2 * ch[depth - 1 - j]
            last = j == depth - 1
            cout = out_channels if last else ch[depth - 2 - j]
            self.up.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=last))
            self.up_norm.append(nn.Identity() if last else nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5))
        self.dropout_blocks = dropout_blocks

    def forward(self, x):
        skips = []
        for i in range(self.depth):
            x = self.down_norm[i](self.down[i](F.leaky_relu(x, 0.2) if i > 0 else x))
            skips.append(x)
        for j in range(self.depth):
            x = self.up[j](F.relu(x))
            if j < self.depth - 1:
                x = self.up_norm[j](x)
                if j < self.dropout_blocks:
                    x = F.dropout(x, 0.5, training=True)
                x = torch.cat([x, skips[self.depth - 2 - j]], dim=1)
        return torch.tanh(x)


NORMS = {"batch": lambda c: nn.BatchNorm2d(c, momentum=0.1, eps=1e-5),
         "instance": lambda c: nn.InstanceNorm2d(c, eps=1e-5, affine=True)}  # flax's InstanceNorm: scale and bias


class PatchGAN(nn.Module):
    def __init__(self, in_channels: int, layers: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        blocks, cin = [], in_channels
        for i in range(layers + 1):
            cout = width * min(2**i, 8)
            blocks.append(nn.Conv2d(cin, cout, 4, 2 if i < layers else 1, 1, bias=i == 0 or norm == "instance"))
            if i > 0:
                blocks.append(NORMS[norm](cout))
            blocks.append(nn.LeakyReLU(0.2))
            cin = cout
        blocks.append(nn.Conv2d(cin, 1, 4, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        return self.net(x)[:, 0]


def make_step(image_size=64, channels=(3, 3), batch=4, g_width=64, d_width=64, d_layers=0, l1_weight=100.0,
              lr=2e-4, b1=0.5, b2=0.999, threads=None, freeze_d_in_g=False, seed=0):
    """One pix2pix train step (a D update, then a G update) on a fixed random batch; returns ``step()``."""
    torch.set_num_threads(threads or os.cpu_count())
    torch.manual_seed(seed)
    layers = d_layers or patchgan.layers_for(image_size)
    g = UNet(channels[0], channels[1], int(math.log2(image_size)), g_width)
    d = PatchGAN(channels[0] + channels[1], layers, d_width)
    for net in (g, d):
        net.apply(init_weights)
        net.train()
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(b1, b2))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(b1, b2))
    x = torch.rand(batch, channels[0], image_size, image_size) * 2 - 1
    y = torch.rand(batch, channels[1], image_size, image_size) * 2 - 1

    def bce(logits, target):
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def step():
        with torch.no_grad():
            fake = g(x)
        d_loss = bce(d(torch.cat([x, y], 1)), 1.0) + bce(d(torch.cat([x, fake], 1)), 0.0)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        if freeze_d_in_g:
            d.requires_grad_(False)
        fake = g(x)
        g_loss = bce(d(torch.cat([x, fake], 1)), 1.0) + l1_weight * torch.mean(torch.abs(fake - y))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if freeze_d_in_g:
            d.requires_grad_(True)
        return d_loss.detach(), g_loss.detach()

    return step


def main(make=make_step, doc=__doc__, steps=20):
    """Prints the median time of `make(image_size, batch=, threads=)`'s step as JSON (the tool's command line)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    ms = median_ms(make(args.image_size, batch=args.batch, threads=args.threads), args.steps, warmup=3)
    print(json.dumps({"ms_per_step": round(ms, 2), "images_per_s": round(args.batch * 1e3 / ms, 1)}))


if __name__ == "__main__":
    main()
