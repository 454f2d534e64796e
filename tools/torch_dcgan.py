"""PyTorch eager reference of the GAN train step of every loss-zoo row (the baseline for ``tools/bench.py``).

Same architecture, initialisation and BatchNorm settings as ``jaxgen/models/dcgan.py`` (BEGAN: the
autoencoder D of ``jaxgen/models/began.py``) and the same step as the JAX adversarial trainer
(``jaxgen/trainers/gan.py``; Goodfellow et al. 2014, Algorithm 1 with k = ``n_critic``):

    D phase (n_critic times): z ~ N(0, 1); fake = G(z)  (G in train mode; no grad)
             d_loss = objective(D(real), D(fake))   (D called separately: two BatchNorm batches)
                      [+ weight * penalty: input gradient with autograd.grad(create_graph=True)]
             optD.step()   [WGAN: clamp D's parameters; BEGAN: update k_t]
    G phase: z ~ N(0, 1); g_loss = G objective(D(G(z)))   (D in train mode); backward through D into G;
             optG.step()   (the D gradients of this pass are computed and discarded, as in the PyTorch DCGAN
             example; ``freeze_d_in_g=True`` skips them, like ``jax.grad`` w.r.t. G's parameters does)

The objectives and penalties mirror ``jaxgen.losses.gan`` and ``jaxgen.losses.penalties``.
Importable: ``make_step(width=64, z_dim=100, batch=64, threads=None, ..., loss="ns") -> step()`` runs one full
step on a fixed random batch. Runnable: ``python tools/torch_dcgan.py --loss wgan_gp --batch 64 --steps 50``
prints median ms/step and images/s as JSON.
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


# The objectives of jaxgen.losses.gan in PyTorch, on D's raw outputs [N] (logits, critic values, energies).
D_LOSSES = {
    "mm": lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
    "wgan": lambda real, fake: fake.mean() - real.mean(),
    "lsgan": lambda real, fake: 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean(),
    "hinge": lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
}
D_LOSSES["ns"] = D_LOSSES["mm"]
G_LOSSES = {
    "mm": lambda fake: -F.softplus(fake).mean(),
    "ns": lambda fake: F.softplus(-fake).mean(),
    "wgan": lambda fake: -fake.mean(),
    "hinge": lambda fake: -fake.mean(),
    "lsgan": lambda fake: 0.5 * (fake - 1).pow(2).mean(),
    "began": lambda fake: fake.mean(),
}


def input_gradients(d, x: torch.Tensor) -> torch.Tensor:
    """``d sum_i D(x_i) / d x`` flattened to ``[N, -1]``, kept in the graph (``create_graph=True``)."""
    x = x.detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    return grads.flatten(1)


def penalty_at(name: str, d, points: torch.Tensor) -> torch.Tensor:
    """The term of penalty ``name`` at given points: ``E[(||grad D|| - 1)^2]`` (WGAN-GP, DRAGAN) or
    ``1/2 E[||grad D||^2]`` (R1, R2); double-backward through ``d`` when the result is differentiated."""
    grads = input_gradients(d, points)
    if name in ("r1", "r2"):
        return 0.5 * grads.pow(2).sum(1).mean()
    if name in ("wgan_gp", "dragan"):
        return (grads.norm(dim=1) - 1).pow(2).mean()
    raise ValueError(f"unknown penalty {name!r}")


def penalty_points(name: str, real: torch.Tensor, fake: torch.Tensor, dragan_c: float = 0.5) -> torch.Tensor:
    """Where penalty ``name`` is evaluated (``jaxgen.losses.penalties``' samplers; torch's random numbers)."""
    if name == "wgan_gp":
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        return eps * real + (1 - eps) * fake
    if name == "dragan":
        return real + dragan_c * real.std() * torch.randn_like(real)
    return real if name == "r1" else fake


class AutoencoderDiscriminator(nn.Module):
    """BEGAN's D as ``jaxgen/models/began.py``: ``[Conv(4, s2, p1) -> ELU] * n -> Linear(code)``, then
    ``Linear -> ELU -> [ConvT(4, s2, p1) -> ELU] * (n-1) -> ConvT(4, s2, p1)``; returns the per-example mean
    absolute reconstruction error ``[N]``."""

    def __init__(self, width=64, image_size=28, channels=1, code_dim=64):
        super().__init__()
        self.base, n = layout(image_size)
        self.ch = width * 2 ** (n - 1)
        enc: list[nn.Module] = []
        ch_in = channels
        for i in range(n):
            enc += [nn.Conv2d(ch_in, width * 2**i, 4, 2, 1), nn.ELU()]
            ch_in = width * 2**i
        self.enc = nn.Sequential(*enc, nn.Flatten(), nn.Linear(self.base * self.base * self.ch, code_dim))
        self.dec_in = nn.Linear(code_dim, self.base * self.base * self.ch)
        dec: list[nn.Module] = []
        ch = self.ch
        for i in range(n):
            last = i == n - 1
            dec.append(nn.ConvTranspose2d(ch, channels if last else ch // 2, 4, 2, 1))
            if not last:
                dec.append(nn.ELU())
                ch //= 2
        self.dec = nn.Sequential(*dec)

    def forward(self, x):
        h = F.elu(self.dec_in(self.enc(x))).view(x.shape[0], self.ch, self.base, self.base)
        return (x - self.dec(h)).abs().flatten(1).mean(1)


def make_optimizer(params, cfg: dict | None):
    """Adam(2e-4, 0.5, 0.999) by default; ``cfg`` as a jaxgen ``optimizer.g``/``optimizer.d`` block."""
    cfg = {"name": "adam", "learning_rate": 2e-4, "b1": 0.5, "b2": 0.999} if cfg is None else dict(cfg)
    if cfg["name"] == "adam":
        return torch.optim.Adam(params, lr=cfg["learning_rate"], betas=(cfg["b1"], cfg["b2"]))
    if cfg["name"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg["learning_rate"], alpha=cfg["b1"])
    raise ValueError(f"optimizer {cfg['name']!r} has no PyTorch reference here")


def median_ms(step, steps: int, warmup: int) -> float:
    """The median wall time (ms) of `steps` calls of ``step()`` after `warmup` untimed ones (eager CPU: each call
    returns when its work is done)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def config_step_main(argv, doc: str, default_config: str, make_step, extra=lambda config: {}) -> None:
    """The command line of a reference step built from a jaxgen config (``make_step(config, threads)``): prints its
    median time as one JSON line, with ``extra(config)``'s entries."""
    from jaxgen import config as config_lib

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--config", default=default_config, help="a jaxgen config (name[:variant] or file)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("overrides", nargs="*", help="config overrides key=value")
    args = parser.parse_args(argv)
    config = config_lib.load(args.config, args.overrides)
    ms = median_ms(make_step(config, args.threads), args.steps, args.warmup)
    print(json.dumps({"config": args.config, **extra(config), "batch": config.batch_size, "ms_per_step": round(ms, 2),
                      "images_per_s": round(config.batch_size * 1e3 / ms, 1), "threads": torch.get_num_threads()}))


def in_precision(net: nn.Module, dtype: str):
    """``net`` itself (float32), or its forward pass under ``torch.autocast(dtype)`` returning float32, so that
    every backward pass (the penalty's ``autograd.grad`` included) runs outside autocast, as PyTorch recommends."""
    if dtype == "float32":
        return net
    device_type = next(net.parameters()).device.type

    def forward(x):
        with torch.autocast(device_type, dtype=getattr(torch, dtype)):
            return net(x).float()

    return forward


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
    loss="ns",
    d_norm=None,
    optimizer=None,
    n_critic=1,
    code_dim=64,
    device="cpu",
    dtype="float32",
):
    """One train step (``n_critic`` D updates, then one G update) of the loss-zoo row ``loss`` on a fixed random
    batch; returns ``step() -> (d_loss, g_loss)`` tensors.

    ``loss``: a row name of ``jaxgen.losses.zoo.ROWS`` or a ``config.loss`` block (objective, penalty,
    penalty_weight, clip, dragan_c, began_*; ``reg_every`` must be 1). ``d_norm``: D's normalisation, default
    ``"none"`` under a penalty, else ``"batch"`` (BEGAN: the autoencoder D, no normalisation).
    ``optimizer``: ``{"g": block, "d": block}`` as jaxgen's ``config.optimizer`` (default Adam 2e-4, 0.5, 0.999).
    ``device``: where the models, the batch and the noise live (``"cpu"``, ``"cuda"``, ...). ``dtype``:
    ``"float32"``, or ``"bfloat16"`` as jaxgen's ``config.dtype=bfloat16``: the usual mixed precision, G's and D's
    forward passes under ``torch.autocast`` in bfloat16, their outputs cast to float32 for the losses and penalties,
    parameters and optimizer state float32, backward passes outside autocast.
    """
    from jaxgen.losses import zoo

    lc = zoo.loss_config(loss) if isinstance(loss, str) else loss
    if lc.reg_every != 1:
        raise ValueError("the PyTorch reference applies the penalty every step (loss.reg_every=1)")
    torch.set_num_threads(threads or os.cpu_count())
    began = lc.objective == "began"
    d_norm = d_norm or ("none" if lc.penalty != "none" else "batch")
    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"dtype must be 'float32' or 'bfloat16', got {dtype!r}")
    g, d = build_models(width, z_dim, image_size, channels, d_norm, seed)
    if began:
        d = AutoencoderDiscriminator(width, image_size, channels, code_dim)
        d.apply(init_weights)
    g.train()
    d.train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    g.to(device=device, memory_format=fmt)
    d.to(device=device, memory_format=fmt)
    optimizer = optimizer or {}
    opt_g = make_optimizer(g.parameters(), optimizer.get("g"))
    opt_d = make_optimizer(d.parameters(), optimizer.get("d"))
    real = (torch.rand(batch, channels, image_size, image_size, device=device) * 2 - 1).contiguous(memory_format=fmt)
    d_params = list(d.parameters())
    g_loss_fn = G_LOSSES[lc.objective]
    k = torch.zeros((), device=device)  # BEGAN's k_t
    gen, disc = in_precision(g, dtype), in_precision(d, dtype)

    def noise():
        return torch.randn(batch, z_dim, device=device)

    def d_update():
        nonlocal k
        with torch.no_grad():
            fake = gen(noise())
        opt_d.zero_grad(set_to_none=True)
        real_out, fake_out = disc(real), disc(fake)  # two calls: two BatchNorm batches, as the JAX trainer
        d_loss = real_out.mean() - k * fake_out.mean() if began else D_LOSSES[lc.objective](real_out, fake_out)
        if lc.penalty != "none":
            points = penalty_points(lc.penalty, real, fake, lc.dragan_c)
            d_loss = d_loss + lc.penalty_weight * penalty_at(lc.penalty, disc, points)
        d_loss.backward()
        opt_d.step()
        if lc.clip > 0:
            with torch.no_grad():
                for p in d_params:
                    p.clamp_(-lc.clip, lc.clip)
        if began:
            e_real, e_fake = real_out.detach().mean(), fake_out.detach().mean()
            k = (k + lc.began_lambda_k * (lc.began_gamma * e_real - e_fake)).clamp(0, 1)
        return d_loss

    def step():
        for _ in range(n_critic):
            d_loss = d_update()
        opt_g.zero_grad(set_to_none=True)
        if freeze_d_in_g:
            for p in d_params:
                p.requires_grad_(False)
        g_loss = g_loss_fn(disc(gen(noise())))
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
    p.add_argument("--loss", default="ns", help="a row of jaxgen.losses.zoo.ROWS")
    p.add_argument("--n-critic", type=int, default=1)
    a = p.parse_args(argv)
    step = make_step(
        a.width, a.z_dim, a.batch, a.threads, a.image_size, a.channels, a.channels_last, a.freeze_d_in_g,
        loss=a.loss, n_critic=a.n_critic,
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
                "model": "began" if a.loss == "began" else "dcgan",
                "loss": a.loss,
                "n_critic": a.n_critic,
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
