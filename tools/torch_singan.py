"""PyTorch eager reference of a SinGAN scale step (the baseline for ``tools/bench.py --torch``).

The networks of ``jaxgen/models/singan.py`` (the official code's): `layers` valid 3 x 3 convolutions, BatchNorm
(momentum 0.1, eps 1e-5) and LeakyReLU(0.2) between them; G = ``prev + tanh(body(pad(amp z + prev)))``, D a patch
map. The step is the JAX trainer's at the coarsest scale (``jaxgen/trainers/gan.py`` with ``jaxgen/games/singan.py``,
``prev`` = 0, ``z`` one channel broadcast):

    n_critic x D phase: fake = G(z) (train mode, no grad); loss = mean D(fake) - mean D(real)
                        + lambda * (||grad sum D(x_hat)|| - 1)^2 on an interpolate; optD.step()
    G phase: loss = -mean D(G(z')) + alpha * mean (G(z*) - real)^2; optG.step()   (D frozen with ``freeze_d_in_g``)

Importable: ``make_step(config) -> step()``; runnable: ``python tools/torch_singan.py --size 64,96`` prints the
median ms/step as JSON.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
from torch import nn
from torch.nn import functional as F
from torch_dcgan import init_weights, median_ms


def body(width: int, out: int, layers: int) -> nn.Sequential:
    blocks, cin = [], 3
    for _ in range(layers - 1):
        blocks += [nn.Conv2d(cin, width, 3), nn.BatchNorm2d(width, momentum=0.1, eps=1e-5), nn.LeakyReLU(0.2)]
        cin = width
    return nn.Sequential(*blocks, nn.Conv2d(cin, out, 3))


class Generator(nn.Module):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.layers, self.body = layers, body(width, 3, layers)

    def forward(self, z, prev, amp=1.0):
        return prev + torch.tanh(self.body(F.pad(amp * z + prev, (self.layers,) * 4)))


def make_step(size=(64, 96), width=32, layers=5, n_critic=3, gp=0.1, alpha=10.0, lr=5e-4, b1=0.5, b2=0.999,
              threads=None, freeze_d_in_g=False, seed=0):
    """One SinGAN step at one scale of `size` (n_critic D updates, one G update); returns ``step()``."""
    torch.set_num_threads(threads or os.cpu_count())
    torch.manual_seed(seed)
    g, d = Generator(width, layers), body(width, 1, layers)
    for net in (g, d):
        net.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(b1, b2))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(b1, b2))
    real = torch.rand(1, 3, *size) * 2 - 1
    z_rec, prev = torch.randn(1, 1, *size), torch.zeros(1, 3, *size)

    def step():
        for _ in range(n_critic):
            with torch.no_grad():
                fake = g(torch.randn(1, 1, *size), prev)
            t = torch.rand(1, 1, 1, 1)
            x_hat = (t * real + (1 - t) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.norm(dim=1) - 1) ** 2).mean()  # per position, over channels (the official code)
            loss = d(fake).mean() - d(real).mean() + gp * penalty
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
        if freeze_d_in_g:
            d.requires_grad_(False)
        g_loss = -d(g(torch.randn(1, 1, *size), prev)).mean() + alpha * F.mse_loss(g(z_rec, prev), real)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if freeze_d_in_g:
            d.requires_grad_(True)
        return g_loss.detach()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="64,96", help="H,W of the scale")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split(","))
    ms = median_ms(make_step(size, args.width, threads=args.threads), args.steps, warmup=3)
    print(json.dumps({"ms_per_step": round(ms, 2)}))


if __name__ == "__main__":
    main()
