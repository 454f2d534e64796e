"""PyTorch eager reference of a DDPM training step (the baseline for ``tools/bench.py --torch``).

The U-Net of ``jaxgen/models/diffusion.py`` (GroupNorm with ``norm_groups(C)`` groups, SiLU, 3x3 convolutions, the
sinusoidal time embedding through two linear layers, single-head attention where the side <= ``attention_below``,
stride-2 conv down (padded after, as flax's SAME), nearest x2 + conv up, every skip concatenated), and the step of ``jaxgen/trainers/likelihood.py``
with its ``loss``: t ~ U{1..T}, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, loss = mean (eps - eps_theta)^2,
Adam, then the EMA of the parameters (when ``ema_decay`` > 0).

Importable: ``make_step(config) -> step()``, ``unet(config)`` and ``load_flax(net, params)`` (jaxgen's weights into
the PyTorch U-Net: tests/tools/test_torch_ddpm.py checks that both compute the same ε); runnable: ``python tools/torch_ddpm.py`` prints the median ms/step of
configs/ddpm_mnist.py as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_dcgan import median_ms  # noqa: E402
from torch_flax import tensor, weight  # noqa: E402

from jaxgen.models.diffusion import norm_groups  # noqa: E402


def _norm(c):
    return nn.GroupNorm(norm_groups(c), c, eps=1e-6)  # flax's GroupNorm epsilon


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
    args = t.float()[:, None] * freqs[None]
    return F.pad(torch.cat([torch.sin(args), torch.cos(args)], -1), (0, dim - 2 * half))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, dropout):
        super().__init__()
        self.n1, self.c1, self.t = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1), nn.Linear(temb, cout)
        self.n2, self.c2, self.drop = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1), nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x))) + self.t(F.silu(temb))[:, :, None, None]
        return self.skip(x) + self.c2(self.drop(F.silu(self.n2(h))))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm, self.qkv, self.proj = _norm(c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(c), -1)
        return x + self.proj(torch.einsum("bij,bcj->bci", weights, v).reshape(b, c, h, w))


class UNet(nn.Module):
    def __init__(self, channels, size, width, mult, blocks, attention_below, dropout):
        super().__init__()
        temb = 4 * width
        self.width, self.blocks, self.levels = width, blocks, len(mult)
        self.temb = nn.Sequential(nn.Linear(width, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down, chans, c, s = nn.ModuleList(), [width], width, size
        for level, m in enumerate(mult):
            for _ in range(blocks):
                self.down.append(nn.ModuleList([ResBlock(c, width * m, temb, dropout),
                                                Attention(width * m) if s <= attention_below else nn.Identity()]))
                c = width * m
                chans.append(c)
            if level < len(mult) - 1:  # flax's SAME at stride 2 pads one row and column, after (bottom, right)
                self.down.append(nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, c, 3, stride=2)))
                chans.append(c)
                s //= 2
        self.mid = nn.ModuleList([ResBlock(c, c, temb, dropout), Attention(c), ResBlock(c, c, temb, dropout)])
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for _ in range(blocks + 1):
                cout = width * mult[level]
                self.up.append(nn.ModuleList([ResBlock(c + chans.pop(), cout, temb, dropout),
                                              Attention(cout) if s <= attention_below else nn.Identity()]))
                c = cout
            if level > 0:
                self.up.append(nn.Conv2d(c, c, 3, padding=1))
                s *= 2
        self.out = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, t):
        temb = self.temb(timestep_embedding(t, self.width))
        h = self.stem(x)
        skips = [h]
        for layer in self.down:
            h = layer[1](layer[0](h, temb)) if isinstance(layer, nn.ModuleList) else layer(h)
            skips.append(h)
        h = self.mid[2](self.mid[1](self.mid[0](h, temb)), temb)
        for layer in self.up:
            if isinstance(layer, nn.ModuleList):
                h = layer[1](layer[0](torch.cat([h, skips.pop()], 1), temb))
            else:
                h = layer(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out(h)


def load_flax(net: UNet, params: dict) -> None:
    """Copies the ``params`` of jaxgen's U-Net of the same config (``jaxgen.models.diffusion.UNet``) into `net`."""

    def linear(module, p):  # a flax Conv or Dense kernel (a Dense as a 1x1 conv here)
        module.weight.copy_(weight(p["kernel"]).reshape(module.weight.shape))
        module.bias.copy_(tensor(p["bias"]))

    def norm(module, p):
        module.weight.copy_(tensor(p["scale"]))
        module.bias.copy_(tensor(p["bias"]))

    def block(module, p):
        for sub, name in ((module.c1, "Conv_0"), (module.t, "Dense_0"), (module.c2, "Conv_1"), (module.skip, "skip")):
            if name in p:
                linear(sub, p[name])
        norm(module.n1, p["GroupNorm_0"])
        norm(module.n2, p["GroupNorm_1"])

    def attention(module, name):
        if not isinstance(module, nn.Identity):
            norm(module.norm, params[name]["GroupNorm_0"])
            linear(module.qkv, params[name]["Dense_0"])
            linear(module.proj, params[name]["proj"])

    with torch.no_grad():
        linear(net.stem, params["stem"])
        linear(net.temb[0], params["temb0"])
        linear(net.temb[2], params["temb1"])
        down, up = iter(net.down), iter(net.up)
        for level in range(net.levels):
            for i in range(net.blocks):
                res, attn = next(down)
                block(res, params[f"down{level}_{i}"])
                attention(attn, f"down{level}_attn{i}")
            if level < net.levels - 1:
                linear(next(down)[1], params[f"downsample{level}"])
        block(net.mid[0], params["mid0"])
        attention(net.mid[1], "mid_attn")
        block(net.mid[2], params["mid1"])
        for level in reversed(range(net.levels)):
            for i in range(net.blocks + 1):
                res, attn = next(up)
                block(res, params[f"up{level}_{i}"])
                attention(attn, f"up{level}_attn{i}")
            if level > 0:
                linear(next(up), params[f"upsample{level}"])
        norm(net.out[0], params["GroupNorm_0"])
        linear(net.out[2], params["out"])


def unet(config) -> UNet:
    """The PyTorch U-Net of `config` (a configs/ddpm_*.py; unconditional)."""
    from jaxgen import data as data_lib

    m = config.model
    h, _, c = data_lib.output_info(config.data)["image_shape"]
    return UNet(c, h, m.width, tuple(m.channel_mult), m.num_res_blocks, m.attention_below, m.dropout)


def make_step(config, threads=None, seed=0):
    """One DDPM training step of `config` (a configs/ddpm_*.py) on a fixed random batch; returns ``step()``."""
    from jaxgen import data as data_lib
    from jaxgen.losses import diffusion as dl

    torch.set_num_threads(threads or os.cpu_count())
    torch.manual_seed(seed)
    m = config.model
    h, _, c = data_lib.output_info(config.data)["image_shape"]
    net = unet(config)
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=config.optimizer.learning_rate,
                           betas=(config.optimizer.b1, config.optimizer.b2))
    abar = torch.as_tensor(dl.betas(m.schedule, m.num_timesteps), dtype=torch.float64)
    abar = torch.cumprod(1 - abar, 0).float()
    x0 = torch.round((torch.rand(config.batch_size, c, h, h) * 2 - 1 + 1) * 127.5) / 127.5 - 1
    decay = config.ema_decay

    def step():
        t = torch.randint(1, m.num_timesteps + 1, (config.batch_size,))
        noise = torch.randn_like(x0)
        a = abar[t - 1][:, None, None, None]
        loss = F.mse_loss(net(a.sqrt() * x0 + (1 - a).sqrt() * noise, t), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if decay > 0:
            with torch.no_grad():
                for e, p in zip(ema, net.parameters()):
                    e.mul_(decay).add_(p, alpha=1 - decay)

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/ddpm_mnist.py")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    from jaxgen import config as config_lib

    step = make_step(config_lib.load(args.config, []))
    print(json.dumps({"config": args.config, "torch_ms": median_ms(step, args.steps, 2)}))


if __name__ == "__main__":
    main()
