"""PyTorch eager reference of the vq game's autoencoder step (VQ-VAE; VQ-GAN with ``model.disc_start`` >= 0), the
baseline for ``tools/bench.py --torch``.

The networks of ``jaxgen/models/vqvae.py``, NCHW: encoder conv 4x4 s2 (width / 2), ReLU, conv 4x4 s2 (width), ReLU,
conv 3x3, ``res_blocks`` x (x + conv1x1(ReLU(conv3x3(ReLU(x))))), ReLU, conv 1x1 to D; the EMA quantiser (nearest
code, straight-through, commitment, counts / sums with decay and Laplace smoothing, dead-code restarts); decoder
conv 3x3, the residual blocks, ReLU, transposed conv 4x4 s2 (width / 2), ReLU, transposed conv 4x4 s2 to C; the
decoder likelihood's learned scale (discretised logistic with the mean detached). VQ-GAN adds the PatchGAN without
normalisation (hinge), LPIPS with uniform weights on ``model.vgg_layers`` of the hed VGG-16 (``tools/torch_vgg.py``'s
stack holding jaxgen's weights) and the adaptive weight from ``torch.autograd.grad`` at the decoder's last weight.

A step on a fixed random batch, as the trainer's autoencoder stages (jaxgen also runs an Adam update of the prior
with zero gradients, and of D before ``disc_start``; this reference does not):

    VQ-GAN only, D phase: x_hat = AE(x) (no grad, no EMA update); d = hinge(D(x), D(x_hat)); optD.step()
    G phase: x_hat = AE(x) (EMA update); loss = rec + 0.25 commitment + scale [+ perceptual + lambda * (-mean D(x_hat))];
             optG.step()

Importable: ``make_step(config, threads, freeze_d_in_g, device) -> step()``. Runnable:
``python tools/torch_vq.py --config vqvae_mnist --steps 5`` prints median ms/step as JSON.
"""

from __future__ import annotations

import math
import os
import sys

import torch
import torch_vgg
from torch import nn
from torch.nn import functional as F
from torch_dcgan import config_step_main, make_optimizer


class Residual(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.conv3, self.conv1 = nn.Conv2d(width, hidden, 3, padding=1), nn.Conv2d(hidden, width, 1)

    def forward(self, x):
        return x + self.conv1(F.relu(self.conv3(F.relu(x))))


class Autoencoder(nn.Module):
    def __init__(self, channels, width, res_blocks, res_width, num_codes, code_dim, decay, restart_after):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(width // 2, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), *[Residual(width, res_width) for _ in range(res_blocks)], nn.ReLU(),
            nn.Conv2d(width, code_dim, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, width, 3, padding=1), *[Residual(width, res_width) for _ in range(res_blocks)],
            nn.ReLU(), nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, channels, 4, 2, 1))
        bound = math.sqrt(3 / code_dim)
        codebook = torch.empty(num_codes, code_dim).uniform_(-bound, bound)
        self.register_buffer("codebook", codebook)
        self.register_buffer("counts", torch.ones(num_codes))
        self.register_buffer("sums", codebook.clone())
        self.register_buffer("idle", torch.zeros(num_codes, dtype=torch.long))
        self.log_scale = nn.Parameter(torch.tensor(-2.0))
        self.decay, self.restart_after = decay, restart_after

    def forward(self, x, update: bool):
        z = self.encoder(x).permute(0, 2, 3, 1)  # NHWC, as the codebook's rows
        flat = z.reshape(-1, z.shape[-1])
        codes = torch.cdist(flat, self.codebook).argmin(1)
        q = self.codebook[codes].view_as(z)
        commitment = F.mse_loss(z, q.detach())
        if update:
            with torch.no_grad():
                self._ema(flat.detach(), codes)
        z_q = (z + (q - z).detach()).permute(0, 3, 1, 2)
        return self.decoder(z_q), commitment

    def _ema(self, flat, codes):
        k, d = self.codebook.shape[0], self.decay
        onehot = F.one_hot(codes, k).float()
        n = onehot.sum(0)
        self.counts.mul_(d).add_(n, alpha=1 - d)
        self.sums.mul_(d).add_(onehot.T @ flat, alpha=1 - d)
        total = self.counts.sum()
        self.codebook.copy_(self.sums / ((self.counts + 1e-5) / (total + k * 1e-5) * total)[:, None])
        self.idle.copy_(torch.where(n > 0, torch.zeros_like(self.idle), self.idle + 1))
        if self.restart_after > 0:
            dead = self.idle >= self.restart_after
            picks = flat[torch.randint(0, flat.shape[0], (k,))]
            self.codebook.copy_(torch.where(dead[:, None], picks, self.codebook))
            self.sums.copy_(torch.where(dead[:, None], picks, self.sums))
            self.counts.copy_(torch.where(dead, torch.ones_like(self.counts), self.counts))
            self.idle.masked_fill_(dead, 0)


def logistic_nll(x, mean, log_scale):
    """Nats per dimension of 8-bit ``x`` in [-1, 1] under the 256-bin discretised logistic (PixelCNN++)."""
    inv = torch.exp(-log_scale)
    plus, minus = inv * (x - mean + 1 / 255), inv * (x - mean - 1 / 255)
    mid = F.logsigmoid(plus) + F.logsigmoid(-minus) + torch.log(-torch.expm1(minus - plus))
    logp = torch.where(x < -0.999, F.logsigmoid(plus), torch.where(x > 0.999, F.logsigmoid(-minus), mid))
    return -logp.mean()


def patchgan(channels, width, layers):
    convs, c = [], channels
    for i in range(layers + 1):
        out = width * min(2**i, 8)
        convs += [nn.Conv2d(c, out, 4, 2 if i < layers else 1, 1), nn.LeakyReLU(0.2)]
        c = out
    return nn.Sequential(*convs, nn.Conv2d(c, 1, 4, 1, 1))


def lpips_uniform(layers):
    """``(x, y) -> mean over N of LPIPS with uniform weights`` on the hed VGG-16's `layers` (jaxgen's weights)."""
    from torch_srgan import load_flax

    from jaxgen.nn import vgg

    last = max(layers, key=lambda name: vgg.layer_names(16).index(name))
    module, variables = vgg.load_vgg(16, "hed", outputs=(last,))
    net, names = torch_vgg.features(16, last=last)
    load_flax(zip(names, net), variables)
    pre = torch_vgg.Preprocess(module.preprocessing)
    net.requires_grad_(False)

    def feats(x):
        out, h = {}, pre(x)
        for name, layer in zip(names, net):
            h = layer(h)
            if name in layers:
                out[name] = h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        return out

    def distance(x, y):
        fx, fy = feats(x), feats(y)
        return sum((fx[k] - fy[k]).pow(2).sum(1).mean() for k in layers)

    return distance


def make_step(config, threads=None, freeze_d_in_g=False, device="cpu", seed=0):
    """One autoencoder-stage step of the vq game's `config` on a fixed random batch (module docstring)."""
    from jaxgen.data import pipeline
    from jaxgen.nn import patchgan as jax_patchgan

    torch.set_num_threads(threads or os.cpu_count())
    torch.manual_seed(seed)
    h, w, c = pipeline.output_info(config.data)["image_shape"]
    m = config.model
    ae = Autoencoder(c, m.width, m.res_blocks, m.res_width, m.num_codes, m.code_dim, m.decay, m.restart_after).to(device)
    opt_g = make_optimizer(ae.parameters(), config.optimizer.g.to_dict())
    x = (torch.randint(0, 256, (config.batch_size, c, h, w), device=device).float() / 127.5 - 1)
    gan = int(m.disc_start) >= 0
    weights = dict(config.loss.weights)
    perceptual = lpips_uniform(tuple(m.vgg_layers)) if weights.get("perceptual", 0) > 0 else None
    if gan:
        d = patchgan(c, m.d_width, int(m.d_layers) or jax_patchgan.layers_for(h)).to(device)
        opt_d = make_optimizer(d.parameters(), config.optimizer.d.to_dict())
    last = ae.decoder[-1].weight

    def step():
        if gan:
            with torch.no_grad():
                fake = ae(x, update=False)[0]
            d_loss = F.relu(1 - d(x)).mean() + F.relu(1 + d(fake)).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        x_hat, commitment = ae(x, update=True)
        err = x_hat - x
        rec = err.abs().mean() if m.rec_loss == "l1" else err.pow(2).mean()
        if perceptual is not None:
            rec = rec + weights["perceptual"] * perceptual(x_hat, x)
        loss = rec + 0.25 * commitment + logistic_nll(x, x_hat.detach(), ae.log_scale)
        if gan:
            if freeze_d_in_g:
                d.requires_grad_(False)
            g_gan = -d(x_hat).mean()
            g_rec_grad = torch.autograd.grad(rec, last, retain_graph=True)[0]
            g_gan_grad = torch.autograd.grad(g_gan, last, retain_graph=True)[0]
            lam = (g_rec_grad.norm() / (g_gan_grad.norm() + 1e-4)).clamp(0, 1e4).detach()
            loss = loss + weights.get("gan", 1.0) * lam * g_gan
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        if gan:
            d.requires_grad_(True)
        return {"g_rec": rec.detach()}

    return step


if __name__ == "__main__":
    config_step_main(sys.argv[1:], __doc__, "vqvae_mnist", make_step)
