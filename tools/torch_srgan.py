"""PyTorch eager reference of the SRResNet and SRGAN train steps (the baseline for ``tools/bench.py --torch``).

The networks of ``jaxgen/models/srgan.py`` (Ledig et al. 2017, Figure 4), NCHW, with the same layer names so that
jaxgen's weights map one to one (:func:`load_flax`): SRResNet (conv 9x9 + PReLU, ``blocks`` residual blocks
conv-BN-PReLU-conv-BN, conv-BN + the long skip, log2(scale) x (conv 3x3 to 4 x width, PixelShuffle 2, PReLU),
conv 9x9) and the VGG-style discriminator (8 convs 3x3 with strides 1, 2, 1, 2, ..., LeakyReLU 0.2, BN after all
but the first, dense 1024, dense 1; D flattens NHWC-ordered, as jaxgen). BatchNorm momentum 0.1 (flax's 0.9), eps
1e-5; init N(0, 0.02) (``torch_dcgan.init_weights``). The perceptual loss's VGG is ``tools/torch_vgg.py``'s stack up
to ``model.vgg_layer`` with the config's weights (``model.vgg_weights``, hed's VGG-16 by default, read by
``jaxgen.nn.vgg.load_vgg`` and copied) and their preprocessing, frozen.

The step is the JAX adversarial trainer's with ``jaxgen/games/superres.py`` (its phases are independent, so each
makes its own LR batch: antialiased bicubic down-sampling by ``model.scale``, rounded to 8 bits):

    SRResNet (model.srgan_from = -1): sr = G(LR); loss = mean (sr - HR)^2; optG.step()
    SRGAN (model.srgan_from >= 0, whatever the step: the stage the config is named after):
      D phase: fake = G(LR) (train mode, no grad); d_loss = objective(D(HR), D(fake)) (two D calls: two BN
               batches); optD.step()
      G phase: sr = G(LR); g_loss = mean (s phi(sr) - s phi(HR))^2 + w * G objective(D(sr)) (phi(HR) without
               grad, s = model.vgg_scale = 1/12.75, w = loss.weights.adversarial = 1e-3); optG.step()
               (D's weight gradients of this pass are computed and discarded unless ``freeze_d_in_g``)

jaxgen's SRResNet stage also runs D's phase with zero gradients (the trainer's stage without critics: an Adam
update of D's weights that leaves them unchanged); this reference does not.

Importable: ``make_step(config, ...) -> step()`` (a jaxgen config of the ``superres`` game) runs one step on a fixed
random HR batch and returns its terms (``d_loss``, ``g_loss`` (the unweighted G objective), ``g_perceptual`` or
``g_mse``; the names of jaxgen's metrics); ``step.d_loss()`` and ``step.g_loss()`` give a phase's (loss, terms) at
the current weights without an optimizer update (train-mode BatchNorm still moves its running statistics). Runnable:
``python tools/torch_srgan.py --config srgan_photos --steps 5`` prints median ms/step as JSON.
"""

from __future__ import annotations

import os

import torch
import torch_vgg
from torch import nn
from torch.nn import functional as F
from torch_dcgan import D_LOSSES, G_LOSSES, config_step_main, in_precision, init_weights, make_optimizer
from torch_flax import tensor, weight

from jaxgen.defaults import games as game_defaults
from jaxgen.models import srgan


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.1, eps=1e-5)


class SRResNet(nn.Module):
    """``LR [N, C, h, w]`` -> ``SR [N, C, h 2^ups, w 2^ups]``; ``self.layers`` named as jaxgen's SRResNet."""

    def __init__(self, channels=3, blocks=16, width=64, ups=2):
        super().__init__()
        self.blocks, self.ups = blocks, ups
        layers = {"head": nn.Conv2d(channels, width, 9, padding=4), "head_prelu": nn.PReLU(init=0.25)}
        for i in range(blocks):
            layers.update({f"res{i}_conv1": nn.Conv2d(width, width, 3, padding=1), f"res{i}_bn1": _bn(width),
                           f"res{i}_prelu": nn.PReLU(init=0.25), f"res{i}_conv2": nn.Conv2d(width, width, 3, padding=1),
                           f"res{i}_bn2": _bn(width)})
        layers.update(body=nn.Conv2d(width, width, 3, padding=1), body_bn=_bn(width))
        for i in range(ups):
            layers.update({f"up{i}": nn.Conv2d(width, 4 * width, 3, padding=1), f"up{i}_prelu": nn.PReLU(init=0.25)})
        layers["out"] = nn.Conv2d(width, channels, 9, padding=4)
        self.layers = nn.ModuleDict(layers)

    def forward(self, x):
        f = self.layers
        h = skip = f["head_prelu"](f["head"](x))
        for i in range(self.blocks):
            r = f[f"res{i}_prelu"](f[f"res{i}_bn1"](f[f"res{i}_conv1"](h)))
            h = h + f[f"res{i}_bn2"](f[f"res{i}_conv2"](r))
        h = skip + f["body_bn"](f["body"](h))
        for i in range(self.ups):
            h = f[f"up{i}_prelu"](F.pixel_shuffle(f[f"up{i}"](h), 2))
        return f["out"](h)


class Discriminator(nn.Module):
    """``images [N, C, H, W]`` -> logits ``[N]``; ``self.layers`` named as jaxgen's SRGAN discriminator."""

    def __init__(self, channels=3, image_size=96, width=64, dense=1024):
        super().__init__()
        layers, cin = {}, channels
        for i, (w, s) in enumerate(zip(srgan.D_WIDTHS, srgan.D_STRIDES)):
            layers[f"conv{i}"] = nn.Conv2d(cin, width * w, 3, s, 1, bias=i == 0)
            if i > 0:
                layers[f"bn{i}"] = _bn(width * w)
            cin = width * w
        side = image_size // 2 ** sum(s == 2 for s in srgan.D_STRIDES)
        layers.update(dense=nn.Linear(side * side * cin, dense), logit=nn.Linear(dense, 1))
        self.layers = nn.ModuleDict(layers)

    def forward(self, x):
        f = self.layers
        for i in range(len(srgan.D_WIDTHS)):
            x = f[f"conv{i}"](x)
            x = F.leaky_relu(f[f"bn{i}"](x) if i > 0 else x, 0.2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # jaxgen's NHWC order: its dense kernel maps as it is
        return f["logit"](F.leaky_relu(f["dense"](x), 0.2))[:, 0]


def load_flax(named, variables) -> None:
    """Copies flax ``variables`` (``{"params": {name: ...}, "batch_stats": {name: ...}}``) into the torch modules of
    ``named`` (``(name, module)`` pairs) of the same names: Conv2d (kernel ``[kh, kw, in, out]``), Linear, BatchNorm2d
    (scale, bias, running mean and var), PReLU (negative_slope). Names missing from ``params`` are left alone."""
    params, stats = variables["params"], variables.get("batch_stats", {})
    with torch.no_grad():
        for name, m in named:
            if name not in params:
                continue
            p = params[name]
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(weight(p["kernel"]))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(tensor(p["scale"]))
                m.running_mean.copy_(tensor(stats[name]["mean"]))
                m.running_var.copy_(tensor(stats[name]["var"]))
            elif isinstance(m, nn.PReLU):
                m.weight.copy_(tensor(p["negative_slope"]).reshape(1))
            if "bias" in p:
                m.bias.copy_(tensor(p["bias"]))


def quantise(x: torch.Tensor) -> torch.Tensor:
    """``jaxgen.games.superres.quantise``: clipped to [-1, 1] and rounded to 8-bit levels."""
    return torch.round((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def downsample(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """``jaxgen.games.superres.downsample`` (the same kernel: Keys a = -0.5, antialiased), NCHW, 8-bit."""
    size = (hr.shape[2] // scale, hr.shape[3] // scale)
    return quantise(F.interpolate(hr, size=size, mode="bicubic", antialias=True, align_corners=False))


def vgg_features(cfg) -> nn.Sequential:
    """``x [N, C, H, W] in [-1, 1] -> features`` of the config's perceptual loss, frozen: the weights' preprocessing,
    then ``tools/torch_vgg.py``'s stack up to ``cfg.vgg_layer`` holding ``cfg.vgg_weights`` (read by jaxgen)."""
    from jaxgen.nn import vgg

    module, variables = vgg.load_vgg(int(cfg.vgg_depth), cfg.vgg_weights, outputs=(cfg.vgg_layer,))
    net, names = torch_vgg.features(int(cfg.vgg_depth), last=cfg.vgg_layer)
    load_flax(zip(names, net), variables)
    return nn.Sequential(torch_vgg.Preprocess(module.preprocessing), net).requires_grad_(False)


def make_step(config, threads=None, freeze_d_in_g=False, device="cpu", seed=0, image_shape=None):
    """One train step of the ``superres`` game's `config` (SRResNet on MSE, or SRGAN if ``model.srgan_from`` >= 0)
    on a fixed random HR batch of ``image_shape`` ``(H, W, C)`` (default: the config's data); see the module
    docstring. ``config.dtype`` bfloat16 runs G's and D's forward passes under autocast, as tools/torch_dcgan.py
(the VGG stays float32, as jaxgen's)."""
    torch.set_num_threads(threads or os.cpu_count())
    if image_shape is None:
        from jaxgen.data import pipeline

        image_shape = pipeline.output_info(config.data)["image_shape"]
    (h, w, c), cfg, scale = image_shape, config.model, int(config.model.scale)
    is_srgan = int(cfg.srgan_from) >= 0
    torch.manual_seed(seed)
    g = SRResNet(c, cfg.blocks, cfg.width, srgan.upsamplings(scale))
    d = Discriminator(c, h, cfg.d_width, cfg.d_dense)
    for net in (g, d):
        net.apply(init_weights)
        net.train()
        net.to(device)
    opt_g = make_optimizer(g.parameters(), config.optimizer.g.to_dict())
    opt_d = make_optimizer(d.parameters(), config.optimizer.d.to_dict())
    hr = quantise(torch.rand(config.batch_size, c, h, w, device=device) * 2 - 1)
    gen, disc = in_precision(g, config.dtype), in_precision(d, config.dtype)
    d_objective, g_objective = D_LOSSES[config.loss.objective], G_LOSSES[config.loss.objective]
    weight = {**game_defaults.WEIGHTS["superres"], **config.loss.weights}["adversarial"]
    phi = vgg_features(cfg).to(device) if is_srgan else None  # float32 in any dtype, as jaxgen's (superres)
    s = float(cfg.vgg_scale)

    def d_loss():
        with torch.no_grad():
            fake = gen(downsample(hr, scale))
        loss = d_objective(disc(hr), disc(fake))
        return loss, {"d_loss": loss}

    def g_loss():
        sr = gen(downsample(hr, scale))
        if not is_srgan:
            mse = torch.mean((sr - hr) ** 2)
            return mse, {"g_mse": mse}
        with torch.no_grad():
            target = s * phi(hr)
        perceptual = torch.mean((s * phi(sr) - target) ** 2)
        adversarial = g_objective(disc(sr))
        return perceptual + weight * adversarial, {"g_loss": adversarial, "g_perceptual": perceptual}

    def update(loss_fn, opt):
        loss, terms = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return terms

    def step():
        terms = update(d_loss, opt_d) if is_srgan else {}
        if freeze_d_in_g:
            d.requires_grad_(False)
        terms.update(update(g_loss, opt_g))
        if freeze_d_in_g:
            d.requires_grad_(True)
        return {k: v.detach() for k, v in terms.items()}

    step.d_loss, step.g_loss, step.hr = d_loss, g_loss, hr
    step.generator, step.discriminator, step.vgg = g, d, phi
    return step


def main(argv=None):
    config_step_main(argv, __doc__, "srgan_photos", make_step,
                     lambda config: {"srgan": int(config.model.srgan_from) >= 0})


if __name__ == "__main__":
    main()
