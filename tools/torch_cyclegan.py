"""PyTorch eager reference of the CycleGAN train step (the baseline for ``tools/bench.py --torch``).

The networks of ``jaxgen/models/cyclegan.py`` (Zhu et al. 2017; the authors' ``ResnetGenerator`` and
``NLayerDiscriminator``): a ResNet generator (c7s1-w, d2w, d4w, B residual blocks, u2w, uw, c7s1-C; reflection
padding, instance norm with a learnt scale and bias as flax's, tanh) and ``tools/torch_pix2pix.py``'s PatchGAN with
instance norm. Init N(0, 0.02), biases 0 (``torch_dcgan.init_weights``). The step is the JAX adversarial
trainer's (``jaxgen/trainers/gan.py`` with ``jaxgen/games/cycle.py``), one Adam over both generators and one over
both critics:

    D phase: fake_b = g_ab(a), fake_a = g_ba(b) (no grad), each through its history pool (the authors' ImagePool);
             d_loss = sum over critics of 1/2 MSE(D(real), 1) + 1/2 MSE(D(pooled fake), 0); optD.step()
    G phase: fake_b, fake_a again; g_loss = adversarial/2 (MSE(d_b(fake_b), 1) + MSE(d_a(fake_a), 1))
             + cycle (L1(g_ba(fake_b), a) + L1(g_ab(fake_a), b)) + identity (L1(g_ab(b), b) + L1(g_ba(a), a));
             optG.step()   (the critics' gradients of this pass are computed and discarded unless ``freeze_d_in_g``)

(the authors' code updates G first and reuses its fakes for D; the trainer's phases are independent, D first).
Importable: ``make_step(image_size=64, batch=4, ...) -> step()``; runnable:
``python tools/torch_cyclegan.py --image-size 64 --batch 4 --steps 10`` prints median ms/step as JSON.
"""

from __future__ import annotations

import os
import random

import torch
import torch_pix2pix
from torch import nn
from torch.nn import functional as F
from torch_dcgan import init_weights

from jaxgen.models import cyclegan
from jaxgen.nn import patchgan

instance_norm = torch_pix2pix.NORMS["instance"]  # flax's InstanceNorm: a learnt scale and bias


def _conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, instance_norm(channels), nn.ReLU()]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), *_conv_norm_relu(nn.Conv2d(channels, channels, 3), channels),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), instance_norm(channels))

    def forward(self, x):
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    def __init__(self, channels: int = 3, width: int = 64, blocks: int = 6):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), *_conv_norm_relu(nn.Conv2d(channels, width, 7), width)]
        for i in (1, 2):
            layers += _conv_norm_relu(nn.Conv2d(width * 2 ** (i - 1), width * 2**i, 3, 2, 1), width * 2**i)
        layers += [ResidualBlock(width * 4) for _ in range(blocks)]
        for i in (1, 0):
            layers += _conv_norm_relu(nn.ConvTranspose2d(width * 2 ** (i + 1), width * 2**i, 3, 2, 1, 1), width * 2**i)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ImagePool:
    """The authors' history of fakes (``util/image_pool.py``): fill, then swap with probability 1/2."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, fakes):
        if self.size == 0:
            return fakes
        out = []
        for fake in fakes:
            fake = fake.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(fake)
                out.append(fake)
            elif random.uniform(0, 1) > 0.5:
                slot = random.randint(0, self.size - 1)
                out.append(self.images[slot].clone())
                self.images[slot] = fake
            else:
                out.append(fake)
        return torch.cat(out)


def make_step(image_size=64, channels=3, batch=4, g_width=64, g_blocks=0, d_width=64, d_layers=3, adversarial=2.0,
              cycle=10.0, identity=5.0, pool_size=50, lr=2e-4, b1=0.5, b2=0.999, threads=None, freeze_d_in_g=False,
              seed=0):
    """One CycleGAN train step (a D update of both critics, then a G update of both generators) on a fixed random
    unpaired batch; returns ``step()``."""
    torch.set_num_threads(threads or os.cpu_count())
    torch.manual_seed(seed)
    random.seed(seed)
    blocks = g_blocks or cyclegan.blocks_for(image_size)
    layers = d_layers or patchgan.layers_for(image_size)
    g_ab, g_ba = (ResNetGenerator(channels, g_width, blocks) for _ in range(2))
    d_a, d_b = (torch_pix2pix.PatchGAN(channels, layers, d_width, norm="instance") for _ in range(2))
    for net in (g_ab, g_ba, d_a, d_b):
        net.apply(init_weights)
        net.train()
    opt_g = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=lr, betas=(b1, b2))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=lr, betas=(b1, b2))
    pools = {"a": ImagePool(pool_size), "b": ImagePool(pool_size)}
    a = torch.rand(batch, channels, image_size, image_size) * 2 - 1
    b = torch.rand(batch, channels, image_size, image_size) * 2 - 1

    def mse(out, target):
        return F.mse_loss(out, torch.full_like(out, target))

    def step():
        with torch.no_grad():
            fake_b, fake_a = pools["b"].query(g_ab(a)), pools["a"].query(g_ba(b))
        d_loss = sum(0.5 * mse(d(real), 1.0) + 0.5 * mse(d(fake), 0.0)
                     for d, real, fake in ((d_a, a, fake_a), (d_b, b, fake_b)))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        for d in (d_a, d_b) if freeze_d_in_g else ():
            d.requires_grad_(False)
        fake_b, fake_a = g_ab(a), g_ba(b)
        g_loss = (adversarial / 2 * (mse(d_b(fake_b), 1.0) + mse(d_a(fake_a), 1.0))
                  + cycle * (F.l1_loss(g_ba(fake_b), a) + F.l1_loss(g_ab(fake_a), b))
                  + identity * (F.l1_loss(g_ab(b), b) + F.l1_loss(g_ba(a), a)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for d in (d_a, d_b) if freeze_d_in_g else ():
            d.requires_grad_(True)
        return d_loss.detach(), g_loss.detach()

    return step


if __name__ == "__main__":
    torch_pix2pix.main(make_step, __doc__, steps=10)
