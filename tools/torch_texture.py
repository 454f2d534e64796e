"""A straightforward PyTorch eager texture-synthesis iteration, the reference of ``tools/bench.py --configs
texture_brick:adam --torch``: the image as the parameter, tools/torch_vgg.py's VGG stack (He-random weights: the
time does not depend on their values) up to the deepest style layer behind HED's preprocessing, the Gram loss of
``jaxgen.losses.perceptual.style_loss`` (``bmm`` Gram matrices over H W positions, ``F.mse_loss`` per layer) and
one Adam step (``torch.optim.Adam``), as jaxgen's texture trainer with a first-order optimizer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torch_vgg

from jaxgen.nn import vgg


def gram(f: torch.Tensor) -> torch.Tensor:
    """NCHW features -> [N, C, C] ``F F^T / (H W)``."""
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (h * w)


def make_step(config, threads: int | None = None, device: str = "cpu"):
    """``step()``: one Adam iteration on the Gram loss of ``config`` (a texture config with a VGG feature
    network): forward through the VGG stack, the loss, backward, update. ``step.loss()`` is the loss alone,
    ``step.image`` the parameter [N, 3, H, W], ``step.target`` the (random) target image."""
    if threads:
        torch.set_num_threads(threads)
    weights = {k: float(v) for k, v in config.loss.style_layers.items() if v}
    names = vgg.layer_names(config.model.depth)
    deepest = max(weights, key=names.index)
    stack, layer_names = torch_vgg.features(config.model.depth, seed=0, last=deepest)
    stack = stack.to(device).requires_grad_(False)
    pre = torch_vgg.Preprocess(vgg.HED)
    size = config.data.image_size
    generator = torch.Generator().manual_seed(0)
    target_images = torch.rand(1, 3, size, size, generator=generator) * 2 - 1
    image = (0.25 * torch.randn(config.batch_size, 3, size, size, generator=generator)).to(device).requires_grad_(True)
    opt = torch.optim.Adam([image], lr=config.optimizer.learning_rate, betas=(config.optimizer.b1, config.optimizer.b2))

    def features(x):
        out, x = {}, pre(x)
        for name, module in zip(layer_names, stack):
            x = module(x)
            if name in weights:
                out[name] = x
        return out

    with torch.no_grad():
        targets = {k: gram(v) for k, v in features(target_images.to(device)).items()}

    def loss_fn():
        f = features(image)
        return sum(w * F.mse_loss(gram(f[k]), targets[k].expand(image.shape[0], -1, -1)) for k, w in weights.items())

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    step.loss, step.image, step.target = loss_fn, image, target_images  # for tests/tools/test_torch_texture.py
    return step
