"""The SinGAN figures and numbers of docs/single_image.md from a trained workdir (jaxgen.edit.singan).

    python tools/singan_figures.py --workdir runs/singan_coffee --name coffee

Writes docs/images/singan_<name>_{samples,sizes,sr,paint,harmonize}.png and docs/singan_<name>.json: random samples
at the training size (the real image first), at other sizes (1 x 2 wide, 2 x 1 tall, 1.5 x all), x2 super-resolution
(bicubic beside SinGAN), paint-to-image (a painting made of the image: its 6-colour quantisation, blurred) and
harmonisation (a square of another photo pasted in, its mask), and SIFID (jaxgen.metrics.sifid, hed VGG-16 relu2_2)
of the samples against the real image with, for scale, that of the real image's left-right mirror.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from PIL import Image, ImageFilter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def painting(image: np.ndarray, colours: int = 6) -> np.ndarray:
    """A crude painting of `image` [H, W, 3] in [-1, 1]: its `colours`-colour quantisation, then a 3 px box blur."""
    picture = Image.fromarray(np.round((image + 1) * 127.5).astype(np.uint8))
    flat = picture.quantize(colours).convert("RGB").filter(ImageFilter.BoxBlur(1))
    return np.asarray(flat, np.float32) / 127.5 - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--name", required=True, help="the figures' name: docs/images/singan_<name>_*.png")
    parser.add_argument("--other", default="chelsea", help="the photo pasted in for harmonisation")
    parser.add_argument("--num", type=int, default=8)
    parser.add_argument("--out", default=os.path.join(REPO, "docs"))
    args = parser.parse_args()

    from jaxgen.data import single_image
    from jaxgen.edit import singan
    from jaxgen.engine import writers
    from jaxgen.metrics import sifid

    model = singan.load(args.workdir)
    real = model.game.reals[-1][0]
    h, w = real.shape[:2]
    path = os.path.join(args.out, "images", f"singan_{args.name}_{{}}.png")
    samples = singan.samples(model, args.num, seed=0)
    writers.save_grid(path.format("samples"), np.concatenate([real[None], samples]), args.num + 1, scale=2)
    for tag, size in (("wide", (h, 2 * w)), ("tall", (2 * h, w)), ("large", (round(1.5 * h), round(1.5 * w)))):
        writers.save_grid(path.format(f"size_{tag}"), singan.samples(model, 3, seed=1, size=size), 3, scale=2)
    sr = singan.super_resolve(model, real, 2.0, seed=0)
    bicubic = np.clip(np.asarray(singan.game_lib.up(real[None], sr.shape[1:3])), -1, 1)
    writers.save_grid(path.format("sr"), np.concatenate([bicubic, sr]), 2)
    paint = painting(real)
    results = [singan.inject(model, paint, scale, 3, seed=2) for scale in range(1, model.game.scales)]
    writers.save_grid(path.format("paint"), np.concatenate([paint[None], *[r[:1] for r in results]]),
                      model.game.scales, scale=2)
    pasted, mask = real.copy(), np.zeros((h, w, 1), np.float32)
    other = single_image.load(args.other, size=(h // 2, h // 2))
    top, left = h // 4, w // 2 - h // 4
    pasted[top:top + h // 2, left:left + h // 2] = other
    mask[top:top + h // 2, left:left + h // 2] = 1
    harmonised = [singan.inject(model, pasted, scale, 1, seed=3, mask=mask)[0]
                  for scale in range(1, model.game.scales)]
    writers.save_grid(path.format("harmonize"), np.stack([pasted, *harmonised]), model.game.scales, scale=2)
    features = sifid.PatchFeatures.load()
    scores = sifid.sifid(real, samples, features)
    mirror = float(sifid.sifid(real, real[None, :, ::-1], features)[0])
    numbers = {"workdir": args.workdir, "step": model.step, "sizes": model.game.sizes,
               "noise_amp": [float(model.model_state[g]["singan"]["amp"]) for g in model.game.g_players],
               features.metric_name: float(np.mean(scores)), f"{features.metric_name}_each": [float(s) for s in scores],
               f"{features.metric_name}_mirror": mirror, "sr_size": list(sr.shape[1:3])}
    with open(os.path.join(args.out, f"singan_{args.name}.json"), "w") as f:
        json.dump(numbers, f, indent=1)
    print(json.dumps(numbers))


if __name__ == "__main__":
    main()
