"""PyTorch eager reference of the DCGAN train step (the baseline for ``tools/bench.py``).

Same architecture, initialisation and BatchNorm settings as ``jaxgen/models/dcgan.py`` and the same step as
the JAX adversarial trainer (Goodfellow et al. 2014, Algorithm 1 with k=1, non-saturating G loss, Adam
lr 2e-4, betas (0.5, 0.999) for both nets):

    D phase: z1 ~ N(0, 1); fake = G(z1)  (G in train mode: batch statistics, running stats updated; no grad)
             d_loss = BCE(D(real), 1) + BCE(D(fake), 0)   (D called separately: two BatchNorm batches)
             optD.step()
    G phase: z2 ~ N(0, 1); g_loss = BCE(D(G(z2)), 1)   (D in train mode); backward through D into G;
             optG.step()   (the D gradients of this pass are computed and discarded, as in the PyTorch DCGAN
             example; ``freeze_d_in_g=True`` skips them, like ``jax.grad`` w.r.t. G's parameters does)

Importable: ``make_step(width=64, z_dim=100, batch=64, threads=None) -> step()`` runs one full step on a fixed
random batch. Runnable: ``python tools/torch_dcgan.py --batch 64 --steps 50`` prints median ms/step and
images/s as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

from jaxgen.models.dcgan import layout as _layout


def layout(size: int) -> tuple[int, int]:
    """``(base, n)`` with ``size = base * 2**n``: the rule of ``jaxgen.models.dcgan.layout``."""
    return _layout((size, size, 1))


class Generator(nn.Module):
    def __init__(self, z_dim=100, width=64, image_size=28, channels=1):
        super().__init__()
        self.base, n_up = layout(image_size)
        self.ch0 = width * 2 ** (n_up - 1)
        self.project = nn.Linear(z_dim, self.base * self.base * self.ch0, bias=False)
        self.project_bn = nn.BatchNorm2d(self.ch0, momentum=0.1, eps=1e-5)
        layers: list[nn.Module] = []
        ch = self.ch0
        for i in range(n_up):
            last = i == n_up - 1
            out = channels if last else ch // 2
            layers.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out, momentum=0.1, eps=1e-5), nn.ReLU(inplace=True)]
            ch = out
        layers.append(nn.Tanh())
        self.up = nn.Sequential(*layers)

    def forward(self, z):
        x = self.project(z).view(z.shape[0], self.ch0, self.base, self.base)
        return self.up(F.relu(self.project_bn(x)))


class Discriminator(nn.Module):
    def __init__(self, width=64, image_size=28, channels=1, norm="batch"):
        super().__init__()
        base, n_down = layout(image_size)
        layers: list[nn.Module] = []
        ch_in, ch = channels, width
        for i in range(n_down):
            use_bn = i > 0 and norm == "batch"
            layers.append(nn.Conv2d(ch_in, ch, 4, 2, 1, bias=not use_bn))
            if use_bn:
                layers.append(nn.BatchNorm2d(ch, momentum=0.1, eps=1e-5))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch_in, ch = ch, ch * 2
        layers += [nn.Flatten(), nn.Linear(base * base * ch_in, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).squeeze(1)


def init_weights(m: nn.Module) -> None:
    """Radford et al.: N(0, 0.02) weights, zero biases; BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build_models(width=64, z_dim=100, image_size=28, channels=1, d_norm="batch", seed=0):
    torch.manual_seed(seed)
    g = Generator(z_dim, width, image_size, channels)
    d = Discriminator(width, image_size, channels, d_norm)
    g.apply(init_weights)
    d.apply(init_weights)
    return g, d


def make_step(
    width=64,
    z_dim=100,
    batch=64,
    threads=None,
    image_size=28,
    channels=1,
    channels_last=False,
    freeze_d_in_g=False,
    seed=0,
):
    """One full D-then-G train step on a fixed random batch; returns ``step() -> (d_loss, g_loss)`` floats-to-be."""
    torch.set_num_threads(threads or os.cpu_count())
    g, d = build_models(width, z_dim, image_size, channels, seed=seed)
    g.train()
    d.train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    g.to(memory_format=fmt)
    d.to(memory_format=fmt)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = (torch.rand(batch, channels, image_size, image_size) * 2 - 1).contiguous(memory_format=fmt)
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    d_params = list(d.parameters())

    def step():
        # D phase
        z1 = torch.randn(batch, z_dim)
        with torch.no_grad():
            fake = g(z1)
        opt_d.zero_grad(set_to_none=True)
        d_loss = F.binary_cross_entropy_with_logits(d(real), ones) + F.binary_cross_entropy_with_logits(
            d(fake), zeros
        )
        d_loss.backward()
        opt_d.step()
        # G phase
        z2 = torch.randn(batch, z_dim)
        opt_g.zero_grad(set_to_none=True)
        if freeze_d_in_g:
            for p in d_params:
                p.requires_grad_(False)
        g_loss = F.binary_cross_entropy_with_logits(d(g(z2)), ones)
        g_loss.backward()
        if freeze_d_in_g:
            for p in d_params:
                p.requires_grad_(True)
        opt_g.step()
        return d_loss.detach(), g_loss.detach()

    step.generator, step.discriminator = g, d
    return step


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--z-dim", type=int, default=100)
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--freeze-d-in-g", action="store_true", help="skip D's weight gradients in the G phase")
    a = p.parse_args(argv)
    step = make_step(
        a.width, a.z_dim, a.batch, a.threads, a.image_size, a.channels, a.channels_last, a.freeze_d_in_g
    )
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        d_loss, g_loss = step()
        float(d_loss), float(g_loss)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(
        json.dumps(
            {
                "impl": "torch_eager",
                "model": "dcgan",
                "image_shape": [a.image_size, a.image_size, a.channels],
                "batch": a.batch,
                "width": a.width,
                "steps": a.steps,
                "threads": torch.get_num_threads(),
                "channels_last": a.channels_last,
                "freeze_d_in_g": a.freeze_d_in_g,
                "ms_per_step_median": round(1e3 * med, 3),
                "ms_per_step_min": round(1e3 * min(times), 3),
                "images_per_s": round(a.batch / med, 1),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
