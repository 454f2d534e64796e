"""PyTorch eager reference of the StyleGAN2 train step (the baseline for ``tools/bench.py --torch``).

The networks of ``jaxgen/models/stylegan2.py`` in NCHW with the same layer names, so that jaxgen's weights map one to
one (:func:`load_flax`): the mapping network (pixel norm, equalized dense layers with the lr multiplier, LReLU 0.2),
the synthesis network (learned constant; per level modulated convolutions ``x * s``, conv (the first of a level a
stride-2 transposed conv + the [1, 3, 3, 1] filter), demodulation, bias, noise ``N(0, 1) * strength`` per channel,
``sqrt(2) * lrelu``; toRGB 1x1 modulated without demodulation, summed with the up-sampled image) and the residual
discriminator (fromRGB, per level ``(skip(down(x)) + conv_s2(filter(conv(x)))) / sqrt(2)``, minibatch stddev in
jaxgen's group layout, conv, dense, dense; D flattens NHWC-ordered, as jaxgen). Equalized weights are stored N(0, 1)
(the mapping's N(0, 1 / lr_mul^2)) and scaled at run time, as jaxgen's.

The step is the JAX adversarial trainer's for ``configs/stylegan2_emoji.py`` (the classic game; NVIDIA's phases),
step i on a fixed random real batch:

    D-main: fake = G(z) (training call: style mixing, w_avg update; no grad);
            loss = softplus(-D(real)) + softplus(D(fake)) (means); optD.step()
    D-reg (i % loss.reg_every == 0): loss = reg_every * gamma * 1/2 E||d D(real) / d real||^2; optD.step()
    G-main: loss = softplus(-D(G(z))); optG.step(); EMA of G (decay ``ema_decay``)
    G-reg (i % loss.g_reg_every == 0): ws = mapping + mixing (training call, no w_avg update), images = synthesis(ws),
            y ~ N(0, I) / sqrt(HW), lengths = sqrt(mean_layers sum_w (d <images, y> / d ws)^2),
            a <- a + 0.01 (mean lengths - a), loss = g_reg_every * weight * mean (lengths - a)^2; optG.step()

Adam per group with the lazy-regularisation correction of ``jaxgen.engine.optimizers`` (lr and betas ** (N / (N + 1))).
D's weight gradients of the G-main pass are computed and discarded unless ``freeze_d_in_g`` (as tools/torch_dcgan.py).

Importable: ``make_step(config, ...) -> step()`` runs one step and returns its terms; ``step.generator``,
``step.discriminator``. Runnable: ``python tools/torch_stylegan2.py --config stylegan2_emoji --steps 5`` prints
median ms/step as JSON.
"""

from __future__ import annotations

import math
import os

import torch
from torch import nn
from torch.nn import functional as F
from torch_dcgan import config_step_main
from torch_flax import tensor, weight

from jaxgen.engine.optimizers import lazy_ratio

SQRT2 = math.sqrt(2.0)
FILTER = torch.tensor([1.0, 3.0, 3.0, 1.0])


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def filter2d(x, pad, gain=1.0):
    """``jaxgen.nn.fir.filter2d`` (NCHW): zero padding ``(lo, hi)``, the [1, 3, 3, 1] / 8 filter per axis (2-D gain)."""
    k = FILTER.to(x) / FILTER.sum()
    f = (torch.outer(k, k) * gain).expand(x.shape[1], 1, 4, 4)
    return F.conv2d(F.pad(x, [pad[0], pad[1], pad[0], pad[1]]), f, groups=x.shape[1])


def upsample2d(x):
    n, c, h, w = x.shape
    x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, 2 * h, 2 * w)
    return filter2d(x, (2, 1), gain=4.0)


def downsample2d(x):
    return filter2d(x, (1, 1))[:, :, ::2, ::2]


class Dense(nn.Module):
    """jaxgen's ``EqualizedDense``: ``x @ (W * gain / sqrt(in) * lr_mul) + b * lr_mul``, W ``[out, in]``."""

    def __init__(self, cin, cout, gain=SQRT2, bias=True, lr_mul=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), bias_init)) if bias else None
        self.scale, self.lr_mul = gain / math.sqrt(cin) * lr_mul, lr_mul

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, None if self.bias is None else self.bias * self.lr_mul)


class Conv(nn.Module):
    """jaxgen's ``EqualizedConv``: weight ``[out, in, k, k] ~ N(0, 1)`` times ``gain / sqrt(k k in)``; "SAME", or
    ``stride`` 2 without padding."""

    def __init__(self, cin, cout, k=3, gain=SQRT2, bias=True, stride=1):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.stride, self.pad = gain / math.sqrt(cin * k * k), stride, (k // 2 if stride == 1 else 0)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.pad)


class ModulatedConv(nn.Module):
    """``jaxgen.nn.modulated.ModulatedConv`` (NCHW), the unfused form."""

    def __init__(self, cin, cout, w_dim, k=3, demodulate=True, up=False):
        super().__init__()
        self.affine = Dense(w_dim, cin, gain=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale, self.demodulate, self.up = 1 / math.sqrt(cin * k * k), demodulate, up

    def forward(self, x, w):
        s = self.affine(w)  # [N, C_in]
        weight = self.weight * self.scale
        x = x * s[:, :, None, None]
        if self.up:  # jaxgen's lax.conv_transpose has no kernel flip: torch's takes the flipped one
            x = filter2d(F.conv_transpose2d(x, weight.flip(2, 3).transpose(0, 1), stride=2), (1, 1), gain=4.0)
        else:
            x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
        if self.demodulate:
            x = x * torch.rsqrt(s.square() @ weight.square().sum((2, 3)).T + 1e-8)[:, :, None, None]
        return x + self.bias[None, :, None, None]


class Noise(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        n, _, h, w = x.shape
        return x + torch.randn(n, 1, h, w, device=x.device) * self.strength[None, :, None, None]


class Generator(nn.Module):
    """``forward(z, mix)``: mapping, mixing (``mix``: training calls), synthesis; ``mapping``, ``latents``,
    ``synthesis``; the ``w_avg`` buffer moves in training calls (``update_w_avg``)."""

    def __init__(self, widths, channels, w_dim, mapping_layers, lr_mul, mixing_prob, w_avg_decay):
        super().__init__()
        self.widths, self.w_dim, self.mixing_prob, self.w_avg_decay = widths, w_dim, mixing_prob, w_avg_decay
        self.mapping_network = nn.ModuleDict({f"dense{i}": Dense(w_dim, w_dim, lr_mul=lr_mul)
                                              for i in range(mapping_layers)})
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.const = nn.Parameter(torch.randn(widths[0], 4, 4))
        layers = {"conv4": ModulatedConv(widths[0], widths[0], w_dim), "noise_conv4": Noise(widths[0]),
                  "to_rgb4": ModulatedConv(widths[0], channels, w_dim, 1, demodulate=False)}
        for level in range(1, len(widths)):
            r, cin, cout = 4 * 2**level, widths[level - 1], widths[level]
            layers.update({f"conv{r}_0": ModulatedConv(cin, cout, w_dim, up=True), f"noise_conv{r}_0": Noise(cout),
                           f"conv{r}_1": ModulatedConv(cout, cout, w_dim), f"noise_conv{r}_1": Noise(cout),
                           f"to_rgb{r}": ModulatedConv(cout, channels, w_dim, 1, demodulate=False)})
        self.synthesis_layers = nn.ModuleDict(layers)
        self.num_layers = 2 * len(widths)

    def mapping(self, z):
        x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        for dense in self.mapping_network.values():
            x = lrelu(dense(x))
        return x

    def latents(self, z, mix: bool, update_w_avg: bool):
        w = self.mapping(z)
        if update_w_avg:
            with torch.no_grad():
                mean = w.mean(0)
                self.w_avg.copy_(mean + self.w_avg_decay * (self.w_avg - mean))
        ws = w[:, None].repeat(1, self.num_layers, 1)
        if mix and self.mixing_prob > 0 and float(torch.rand(())) < self.mixing_prob:
            cutoff = int(torch.randint(1, self.num_layers, ()))
            ws[:, cutoff:] = self.mapping(torch.randn_like(z))[:, None]
        return ws

    def synthesis(self, ws):
        f = self.synthesis_layers

        def layer(x, i, name):
            return SQRT2 * lrelu(f[f"noise_{name}"](f[name](x, ws[:, i])))

        x = layer(self.const[None].expand(ws.shape[0], -1, -1, -1), 0, "conv4")
        image = f["to_rgb4"](x, ws[:, 1])
        for level in range(1, len(self.widths)):
            r = 4 * 2**level
            x = layer(layer(x, 2 * level - 1, f"conv{r}_0"), 2 * level, f"conv{r}_1")
            image = upsample2d(image) + f[f"to_rgb{r}"](x, ws[:, 2 * level + 1])
        return image

    def forward(self, z, mix: bool = True):
        return self.synthesis(self.latents(z, mix, update_w_avg=mix))


def minibatch_stddev(x, group=4):
    """``jaxgen.nn.progressive.minibatch_stddev`` (one feature; example i in group i mod N/G), NCHW."""
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, n // g, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean((1, 2, 3))  # [N / G]
    return torch.cat([x, y.repeat(g)[:, None, None, None].expand(n, 1, h, w)], 1)


class Discriminator(nn.Module):
    def __init__(self, widths, channels, mbstd_group):
        super().__init__()
        top, self.mbstd_group = len(widths) - 1, mbstd_group
        r_top = 4 * 2**top
        layers = {f"from_rgb{r_top}": Conv(channels, widths[top], 1)}
        for level in range(top, 0, -1):
            r, width, out = 4 * 2**level, widths[level], widths[level - 1]
            layers.update({f"skip{r}": Conv(width, out, 1, gain=1.0, bias=False), f"conv{r}_0": Conv(width, width),
                           f"conv{r}_1": Conv(width, out, stride=2)})
        layers.update(conv4=Conv(widths[0] + 1, widths[0]), dense=Dense(16 * widths[0], widths[0]),
                      out=Dense(widths[0], 1, gain=1.0))
        self.layers, self.top = nn.ModuleDict(layers), top

    def forward(self, x):
        f = self.layers
        h = lrelu(f[f"from_rgb{x.shape[2]}"](x))
        for level in range(self.top, 0, -1):
            r = 4 * 2**level
            skip = f[f"skip{r}"](downsample2d(h))
            y = lrelu(f[f"conv{r}_1"](filter2d(lrelu(f[f"conv{r}_0"](h)), (2, 2))))
            h = (skip + y) / SQRT2
        h = lrelu(f["conv4"](minibatch_stddev(h, self.mbstd_group)))
        h = lrelu(f["dense"](h.permute(0, 2, 3, 1).flatten(1)))  # jaxgen's NHWC order
        return f["out"](h)[:, 0]


def load_flax(net: nn.Module, params: dict, model_state: dict | None = None) -> None:
    """Copies jaxgen's ``params`` (and G's ``batch_stats/w_avg``) of the same network into `net`."""
    flat = {}

    def walk(tree, prefix):
        for k, v in tree.items():
            walk(v, f"{prefix}{k}/") if isinstance(v, dict) else flat.__setitem__(f"{prefix}{k}", v)

    walk(params, "")
    with torch.no_grad():
        for name, module in net.named_modules():
            path = name.replace("synthesis_layers.", "synthesis/").replace("mapping_network.", "mapping_network/")
            path = path.replace("layers.", "").replace(".", "/")
            if isinstance(module, (Dense, Conv, ModulatedConv)):
                module.weight.copy_(weight(flat[f"{path}/kernel"]))
                if module.bias is not None:
                    module.bias.copy_(tensor(flat[f"{path}/bias"]))
            elif isinstance(module, Noise):
                module.strength.copy_(tensor(flat[f"{path}/strength"]))
        if isinstance(net, Generator):
            net.const.copy_(tensor(flat["synthesis/const"]).permute(2, 0, 1))
            if model_state:
                net.w_avg.copy_(tensor(model_state["batch_stats"]["w_avg"]))


def _adam(params, cfg, interval):
    ratio = lazy_ratio(interval)
    return torch.optim.Adam(params, lr=cfg["learning_rate"] * ratio, betas=(cfg["b1"] ** ratio, cfg["b2"] ** ratio))


def make_step(config, threads=None, freeze_d_in_g=False, device="cpu", seed=0, image_shape=None):
    """One train step of `config` (a ``stylegan2`` config of the classic game) on a fixed random real batch of
    ``image_shape`` ``(H, W, C)`` (default: the config's data); see the module docstring."""
    from jaxgen.models import progan

    if config.dtype != "float32":
        raise ValueError("the PyTorch StyleGAN2 reference runs in float32 only")
    torch.set_num_threads(threads or os.cpu_count())
    if image_shape is None:
        from jaxgen.data import pipeline

        image_shape = pipeline.output_info(config.data)["image_shape"]
    (h, _, c), m, lc = image_shape, config.model, config.loss
    widths = progan.widths(m, image_shape)
    torch.manual_seed(seed)
    g = Generator(widths, c, int(m.z_dim), int(m.mapping_layers), float(m.mapping_lr_mul), float(m.mixing_prob),
                  float(m.w_avg_decay)).to(device)
    d = Discriminator(widths, c, int(m.mbstd_group)).to(device)
    ema = [p.detach().clone() for p in g.parameters()]
    weight = float(lc.weights.get("path_length", 0.0))
    opt_g = _adam(g.parameters(), config.optimizer.g.to_dict(), lc.g_reg_every if weight > 0 else 1)
    opt_d = _adam(d.parameters(), config.optimizer.d.to_dict(), lc.reg_every)
    real = torch.rand(config.batch_size, c, h, h, device=device) * 2 - 1
    z_dim, batch, counter, pl_mean = int(m.z_dim), config.batch_size, [0], torch.zeros((), device=device)

    def update(opt, loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def step():
        nonlocal pl_mean
        i, terms = counter[0], {}
        with torch.no_grad():
            fake = g(torch.randn(batch, z_dim, device=device))
        terms["d_loss"] = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        update(opt_d, terms["d_loss"])
        if i % lc.reg_every == 0:
            x = real.detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
            terms["penalty"] = 0.5 * grads.square().sum((1, 2, 3)).mean()
            update(opt_d, lc.reg_every * lc.penalty_weight * terms["penalty"])
        if freeze_d_in_g:
            d.requires_grad_(False)
        terms["g_loss"] = F.softplus(-d(g(torch.randn(batch, z_dim, device=device)))).mean()
        update(opt_g, terms["g_loss"])
        if freeze_d_in_g:
            d.requires_grad_(True)
        with torch.no_grad():
            for e, p in zip(ema, g.parameters()):
                e.lerp_(p, 1 - config.ema_decay)
        if weight > 0 and i % lc.g_reg_every == 0:
            ws = g.latents(torch.randn(batch, z_dim, device=device), mix=True, update_w_avg=False)
            images = g.synthesis(ws)
            y = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
            (grads,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
            lengths = grads.square().sum(2).mean(1).sqrt()
            pl_mean = pl_mean + 0.01 * (lengths.mean().detach() - pl_mean)
            terms["g_path_length"] = (lengths - pl_mean).square().mean()
            update(opt_g, lc.g_reg_every * weight * terms["g_path_length"])
        counter[0] += 1
        return {k: v.detach() for k, v in terms.items()}

    step.generator, step.discriminator = g, d
    return step


def main(argv=None):
    config_step_main(argv, __doc__, "stylegan2_emoji", make_step)


if __name__ == "__main__":
    main()
