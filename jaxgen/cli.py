"""The `jaxgen` command: a thin layer that parses arguments and calls library functions.

    jaxgen train  --config dcgan_mnist[:tiny] --workdir runs/dcgan [--config.key=value …]   (or a file: x.py:tiny)
    jaxgen configs                                       (the bundled configs, by name)
    jaxgen sample --workdir runs/dcgan --num 64 --out samples.png [--seed S] [--step N] [--label L] [--source IMG]
                  [--size H,W]                          (SinGAN: samples of another size)
    jaxgen singan sr|paint|harmonize --workdir runs/singan --out out.png [--image X] [--scale n] [--factor F]
    jaxgen export --workdir runs/dcgan --out dcgan.msgpack [--step N]     (for jaxgen.load in Python)
    jaxgen eval   --workdir runs/dcgan --metrics fid,kid,is,pr,parzen,nn --num-samples 5000 [--step N]
    jaxgen eval   --samples samples.npz --dataset mnist5k --metrics fid,kid
    jaxgen data prepare NAME | jaxgen data list
    jaxgen sweep  --config gan_mnist:tiny --workdir runs/sweep --over seed=0:16 --over lr=1e-4,2e-4
    jaxgen research landscape --workdir runs/dcgan --kind slice2d|interp|hessian | jaxgen research game --workdir …
    jaxgen edit interpolate|arithmetic|mix|truncate --workdir runs/stylegan --out edit.png [...]   (jaxgen.edit.commands)
    jaxgen edit project --workdir runs/stylegan --split test --num 8 --out DIR | jaxgen edit ppl --workdir …
    jaxgen toy --losses all --dataset grid25 --seeds 10 --steps N [--pack M] [--arch pacgan] [--out DIR]
    jaxgen dissect --workdir runs/stylegan --layer synthesis/style3 --out DIR [--num N] [--units K] [--region …]

Errors the user can fix are printed as one line `jaxgen: error: …` with exit status 2. Arguments are checked
(`check_args`) before JAX, TFDS or a trainer is imported, so that a bad one fails in about a second. A run stopped
by Ctrl-C or SIGTERM exits with 130, one stopped by its time budget (`--config.max_seconds`) with 75; both saved a
checkpoint, and the same command continues them.
"""

from __future__ import annotations

import argparse
import os
import sys

from jaxgen import cache
from jaxgen.errors import ConfigError, Interrupted, JaxgenError, NonFiniteLoss, TimeBudgetReached

EXIT_USAGE, EXIT_NONFINITE, EXIT_INTERRUPTED = 2, 3, 130
EXIT_TIME_BUDGET = 75  # sysexits' EX_TEMPFAIL: stopped at config.max_seconds with a checkpoint; run again to go on
CONFIG_HELP = ("a config file or a bundled config's name, optionally with a variant: dcgan_mnist:tiny, "
               "my_config.py:tiny (`jaxgen configs` lists the bundled ones)")


def _size(text: str) -> tuple[int, int]:
    """--size HEIGHT,WIDTH."""
    try:
        height, width = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH in pixels (e.g. 64,160), got {text!r}") from None
    if min(height, width) < 1:
        raise argparse.ArgumentTypeError(f"HEIGHT and WIDTH must be at least 1 px, got {text!r}")
    return height, width


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxgen", description="Generative image models in JAX/Flax.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model from a config (a bundled name or a file)",
                           epilog="Override any config key with --config.KEY=VALUE (e.g. --config.num_steps=500).")
    train.add_argument("--config", required=True, help=CONFIG_HELP)
    train.add_argument("--workdir", required=True, help="where checkpoints, metrics and samples go (resumed if present)")
    train.add_argument("--allow-config-change", action="store_true",
                       help="resume a workdir even though its saved config differs")
    dist = train.add_argument_group("multi-host (one process per host; see README)")
    dist.add_argument("--distributed", action="store_true",
                      help="call jax.distributed.initialize() (auto-detected on TPU pods, SLURM, …)")
    dist.add_argument("--coordinator", help="coordinator address host:port (implies --distributed)")
    dist.add_argument("--num-processes", type=int, help="number of processes (with --coordinator)")
    dist.add_argument("--process-id", type=int, help="this process's index (with --coordinator)")

    sample = sub.add_parser("sample", help="write a grid of samples from a trained workdir (no dataset needed)")
    sample.add_argument("--workdir", required=True)
    sample.add_argument("--num", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--out", default="samples.png", help="output PNG (default samples.png)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed: the same seed and step give the same bytes")
    sample.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    sample.add_argument("--label", type=int,
                        help="class-conditional model: every sample of class L (default: one row per class)")
    sample.add_argument("--source",
                        help="translation model (pix2pix): an image file (resized to the model's input) or an "
                             ".npz/.npy of images [N, H, W, C] to translate; the grid shows each input beside its "
                             "translation (default: the held-out test split's first --num inputs)")
    _no_ema_option(sample)
    sample.add_argument("--psi", type=float,
                        help="style-based generator: truncation psi, w = w_avg + psi (w - w_avg) (1: none)")
    sample.add_argument("--size", type=_size, help="SinGAN: samples of HEIGHT,WIDTH px (default the training size)")

    singan = sub.add_parser("singan", help="SinGAN's applications on a trained workdir: super-resolution, "
                                           "paint-to-image, harmonisation")
    singan.add_argument("singan_command", choices=("sr", "paint", "harmonize"))
    singan.add_argument("--workdir", required=True)
    singan.add_argument("--out", required=True, help="output PNG: the input, then the results")
    singan.add_argument("--image", help="the image (a file or a bundled name); sr: default the training image")
    singan.add_argument("--mask", help="harmonize: a mask file, white where the result replaces the image")
    singan.add_argument("--scale", type=int, help="paint/harmonize: the scale the image enters, 1..N (default 1)")
    singan.add_argument("--factor", type=float, default=4.0, help="sr: the up-sampling factor (default 4)")
    singan.add_argument("--num", type=int, default=4, help="paint/harmonize: results (default 4)")
    singan.add_argument("--seed", type=int, default=0)
    singan.add_argument("--step", type=int, help="checkpoint step (default: the newest)")

    export = sub.add_parser("export", help="write a checkpoint's weights and config to one file for jaxgen.load",
                            epilog="No optimizer state; read it back in Python with jaxgen.load(FILE).")
    export.add_argument("--workdir", required=True)
    export.add_argument("--out", required=True, help="the file to write (e.g. model.msgpack)")
    export.add_argument("--step", type=int, help="checkpoint step (default: the newest)")

    ev = sub.add_parser("eval", help="evaluate a trained workdir (or an array of samples) with named metrics",
                        epilog="Prints one JSON line; with --workdir also appends it to the workdir's metrics.jsonl.")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a trained generative workdir (samples are drawn from its checkpoint)")
    source.add_argument("--samples", help=".npz/.npy of images [N, H, W, C] (uint8 0..255 or float in [-1, 1])")
    ev.add_argument("--dataset", help="reference dataset for --samples (e.g. mnist5k)")
    ev.add_argument("--metrics",
                    help="comma-separated from fid, kid, is, pr, parzen, nn, or 'all' (default fid,kid,is,pr); a "
                         "translation workdir (pix2pix): from l1, psnr, ssim, kid (default all four) on --split; "
                         "'task' (a workdir, alone or in the list): the run's own evaluation, as training runs it "
                         "every eval.every steps (a likelihood model's test NLL or bound in bits/dim, a diffusion "
                         "model's bound, a VQ model's reconstruction and two-stage bound) on --split (default the "
                         "run's eval.split), with the run's evaluation key")
    ev.add_argument("--num-samples", type=int, help="samples to draw from the workdir (default 5000; all of --samples)")
    ev.add_argument("--split", help="reference split (default test; for 'task', the run's eval.split)")
    ev.add_argument("--features", default="auto",
                    help="auto | lenet | emojinet | NAME:WORKDIR | inception | inception:FILE | vgg (default auto: "
                         "Inception if its weights are present, else the dataset's LeNet or EmojiNet)")
    ev.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    ev.add_argument("--seed", type=int, default=0, help="noise seed of the samples (default 0)")
    ev.add_argument("--out", help="directory for the nearest-neighbour PNGs (default WORKDIR/eval or .)")
    _no_ema_option(ev, " metric names end in _rawg")

    sub.add_parser("configs", help="list the bundled configs (name them as --config NAME[:variant])")

    dis = sub.add_parser("dissect", help="GAN Dissection: which units of a generator layer draw which concept",
                         epilog="Writes units.csv, interventions.csv, dissect.json, units.png and "
                                "interventions_<concept>.png into --out.")
    dis.add_argument("--workdir", required=True, help="a trained GAN workdir (a generator of noise)")
    dis.add_argument("--layer", required=True, help="the layer's name, e.g. up0_bn or synthesis/style3 (an unknown "
                                                    "name lists the generator's layers)")
    dis.add_argument("--out", required=True, help="the output directory")
    dis.add_argument("--num", type=int, default=512, help="samples to dissect and intervene on (default 512)")
    dis.add_argument("--units", type=int, default=4, help="units per concept an intervention sets (default 4)")
    dis.add_argument("--concepts", help="comma-separated concepts to intervene on (default: every concept that is "
                                        "some unit's best match)")
    dis.add_argument("--region", help="insert only in this box y0,x0,y1,x1 (fractions of the image, e.g. "
                                      "0,0,0.5,0.5: the top-left quarter; default everywhere)")
    dis.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    dis.add_argument("--seed", type=int, default=0, help="latent and noise seed (default 0)")
    _no_ema_option(dis)

    data = sub.add_parser("data", help="prepare or list datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    prepare = data_sub.add_parser("prepare", help="prepare a bundled dataset in the data dir")
    prepare.add_argument("name")
    prepare.add_argument("--data-dir", help="TFDS data dir (default: $JAXGEN_DATA_DIR, else tensorflow_datasets in $JAXGEN_CACHE_DIR or ~/.cache/jaxgen)")
    listing = data_sub.add_parser("list", help="list bundled datasets and what is prepared")
    listing.add_argument("--data-dir")

    sweep = sub.add_parser("sweep", help="train many small runs (seeds, learning rates, …) as one vmapped program",
                           epilog="Runs are the Cartesian product of the --over lists. Override base keys with "
                                  "--config.KEY=VALUE. Writes sweep.csv, sweep.json and sweep.png in the workdir.")
    sweep.add_argument("--config", required=True, help="the base experiment: " + CONFIG_HELP)
    sweep.add_argument("--workdir", required=True, help="the sweep's workdir (resumed if present)")
    sweep.add_argument("--over", action="append", required=True, metavar="KEY=VALUES",
                       help="a swept key: seed=0:16 (a range), lr=1e-4,2e-4 (a list; lr = every optimizer "
                            "learning rate), loss.penalty_weight=1,10; repeat for a grid")
    sweep.add_argument("--allow-config-change", action="store_true",
                       help="resume a workdir even though its saved config differs")

    research = sub.add_parser("research", help="loss landscapes, Hessian spectra and game dynamics of a workdir")
    research_sub = research.add_subparsers(dest="research_command", required=True)
    land = research_sub.add_parser("landscape", help="1-D interpolation, 2-D slices or the Hessian spectrum",
                                   epilog="Writes <kind>.json, <kind>.npz and PNG plots into WORKDIR/research "
                                          "(or --out).")
    land.add_argument("--workdir", required=True, help="a trained GAN or likelihood workdir")
    land.add_argument("--kind", required=True, choices=["interp", "slice2d", "hessian"])
    land.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    land.add_argument("--batches", type=int, default=4, help="training batches the losses average (default 4)")
    land.add_argument("--players", help="GAN: g, d or g,d (default: both); slice2d and hessian take each alone")
    land.add_argument("--points", type=int,
                      help="interp: points on the line (31: alpha = 0 and 1 on the grid); slice2d: per axis (21)")
    land.add_argument("--span", type=float, help="slice2d: the plane covers [-span, span]^2 (default 1)")
    land.add_argument("--from-step", type=int, help="interp: start from this checkpoint (default: the initialisation)")
    land.add_argument("--k", type=int, help="hessian: top eigenvalues (default 10)")
    land.add_argument("--iters", type=int, help="hessian: Lanczos iterations (default 60)")
    land.add_argument("--draws", type=int, help="hessian: probe vectors of the spectral density (default 4)")
    land.add_argument("--seed", type=int, help="directions / probes seed (default 0)")
    land.add_argument("--out", help="output directory (default WORKDIR/research)")
    gm = research_sub.add_parser("game", help="leading eigenvalues of the game Jacobian at a GAN checkpoint")
    gm.add_argument("--workdir", required=True)
    gm.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    gm.add_argument("--batches", type=int, default=4, help="training batches the losses average (default 4)")
    gm.add_argument("--k", type=int, default=10, help="eigenvalues of largest modulus (default 10)")
    gm.add_argument("--method", default="auto", choices=["auto", "dense", "arnoldi"],
                    help="dense Jacobian (small models) or JVPs + Arnoldi (default auto: by size)")
    gm.add_argument("--which", default="modulus", choices=["modulus", "real"],
                    help="the k eigenvalues of largest modulus (default) or of largest real part")
    gm.add_argument("--krylov", type=int, help="Arnoldi's Krylov dimension (default max(4k, 40))")
    gm.add_argument("--seed", type=int, default=0)
    gm.add_argument("--out", help="output directory (default WORKDIR/research)")

    edit = sub.add_parser("edit", help="latent edits of a trained generator: interpolation, vector arithmetic, style "
                                       "mixing, truncation (a PNG grid each); projection into W, perceptual path length")
    edit_sub = edit.add_subparsers(dest="edit_command", required=True)
    _projection_parsers(edit_sub)

    def edit_parser(name, help):
        p = edit_sub.add_parser(name, help=help)
        p.add_argument("--workdir", required=True)
        p.add_argument("--out", required=True, help="the PNG to write")
        p.add_argument("--seed", type=int, default=0, help="latents seed (default 0)")
        p.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
        p.add_argument("--scale", type=int, default=1, help="enlarge the PNG by this factor (default 1)")
        _no_ema_option(p)
        return p

    interp = edit_parser("interpolate", "strips between pairs of latents: slerp in Z, lerp in W")
    interp.add_argument("--pairs", type=int, default=4, help="strips, one per pair of latents (default 4)")
    interp.add_argument("--frames", type=int, default=8, help="images per strip, both ends included (default 8)")
    interp.add_argument("--space", choices=["z", "w"], help="default: w for a style-based generator, else z")
    interp.add_argument("--method", choices=["slerp", "lerp"], help="default: slerp in Z, lerp in W")
    interp.add_argument("--label", type=int, help="class-conditional generator: the class of every image")
    arith = edit_parser("arithmetic", "A - B + C on mean latents of concept groups (DCGAN's figure 7)")
    for term in "abc":
        arith.add_argument(f"--{term}", required=True, help=f"{term.upper()}'s concept value (a name or its index)")
    arith.add_argument("--concept", choices=["class", "loop"],
                       help="class: the domain classifier's (EmojiNet's emoji category, LeNet's digit); loop: a hole "
                            "in the binarised image (default: class on emoji, loop on digits)")
    arith.add_argument("--classifier", help="--concept class: another classifier (emojinet:WORKDIR, lenet:WORKDIR)")
    arith.add_argument("--pool", type=int, default=512, help="samples drawn and labelled (default 512)")
    arith.add_argument("--per-group", type=int, default=3, help="examples averaged per term (default 3)")
    arith.add_argument("--noise", type=float, default=0.25,
                       help="neighbours: uniform noise of this scale x the latents' std (default 0.25)")
    mixer = edit_parser("mix", "style-mixing grid: rows A with coarse / middle / fine styles from columns B")
    mixer.add_argument("--rows", type=int, default=3, help="sources A (default 3)")
    mixer.add_argument("--cols", type=int, default=4, help="sources B (default 4)")
    mixer.add_argument("--bands", help="comma-separated from coarse, middle, fine (default: every band G has)")
    mixer.add_argument("--layers", help="START:STOP: copy layers START..STOP-1 instead of bands")
    trunc = edit_parser("truncate", "truncation grid: a row per latent, a column per psi")
    trunc.add_argument("--rows", type=int, default=4, help="latents (default 4)")
    trunc.add_argument("--psi", default="1,0.7,0.5,0,-0.5,-1", help="comma-separated psi values (default: the "
                                                                      "paper's 1,0.7,0.5,0,-0.5,-1)")
    trunc.add_argument("--cutoff", type=int, help="truncate only the layers < CUTOFF (default: all)")

    toy = sub.add_parser("toy", help="mode-coverage benchmark: GAN losses x seeds on a toy mixture (PacGAN Table 1)")
    toy.add_argument("--losses", default="all", help="'all' or a comma-separated list of loss rows (default all)")
    toy.add_argument("--dataset", default="grid25", help="ring8 | grid25 | mixture1d (default grid25)")
    toy.add_argument("--seeds", type=int, default=10, help="runs per loss (default 10)")
    toy.add_argument("--first-seed", type=int, help="seeds are first-seed … first-seed + seeds - 1 (default 0)")
    toy.add_argument("--steps", type=int, help="training steps per run (default 3000)")
    toy.add_argument("--batch-size", type=int, help="packs per batch (default 100)")
    toy.add_argument("--pack", type=int, help="m of PacGAN-m: D sees m samples at once (default 1)")
    toy.add_argument("--arch", help="network preset: small (default) | pacgan | tiny")
    toy.add_argument("--lr", type=float, help="Adam learning rate of both players (default 2e-4; PacGAN 1e-4)")
    toy.add_argument("--b1", type=float, help="Adam beta1 (default 0.5; PacGAN 0.8)")
    toy.add_argument("--out", help="directory for results.json, results.md and pictures (samples_<loss>.png, "
                                   "samples_overview.png)")
    return parser


def _projection_parsers(edit_sub) -> None:
    """`jaxgen edit project` and `jaxgen edit ppl` (jaxgen.edit.project_command)."""
    proj = edit_sub.add_parser("project", help="project images into a style-based G's W or W+ (StyleGAN2's projector)",
                               epilog="Writes projection.png (target, projection, the path to the next projection), "
                                      "projection.json (PSNR, perceptual distance) and projection.npz into --out.")
    proj.add_argument("--workdir", required=True, help="a trained style-based run (model stylegan or stylegan2)")
    targets = proj.add_mutually_exclusive_group()
    targets.add_argument("--images", help="an image file (resized to G's output) or an .npz/.npy of images")
    targets.add_argument("--split", help="the run's dataset split whose first --num images to project (default test)")
    proj.add_argument("--num", type=int, default=8, help="targets to project (default 8)")
    proj.add_argument("--space", default="w", choices=["w", "w+"], help="one w for every layer, or one per layer")
    proj.add_argument("--steps", type=int, default=1000, help="optimisation steps (default 1000, the paper's)")
    proj.add_argument("--mse-weight", type=float, default=0.0,
                      help="add this times the pixel MSE to the perceptual distance (default 0: StyleGAN2's projector)")
    proj.add_argument("--seed", type=int, default=0)
    proj.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    proj.add_argument("--out", required=True, help="output directory")
    _no_ema_option(proj)
    ppl = edit_sub.add_parser("ppl", help="perceptual path length of a trained generator (Karras et al. 2019)",
                              epilog="Prints one JSON line and appends it to the workdir's metrics.jsonl.")
    ppl.add_argument("--workdir", required=True)
    ppl.add_argument("--space", default="w", choices=["w", "z"], help="lerp in W (style-based G) or slerp in Z")
    ppl.add_argument("--sampling", default="end", choices=["end", "full"], help="t = 0 or t ~ U(0, 1) (default end)")
    ppl.add_argument("--num-samples", type=int, default=10000, help="paths (default 10000)")
    ppl.add_argument("--batch-size", type=int, default=100, help="paths per batch (default 100)")
    ppl.add_argument("--seed", type=int, default=0)
    ppl.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    _no_ema_option(ppl, " the name ends in _rawg")


def _no_ema_option(parser, naming: str = "") -> None:
    parser.add_argument("--no-ema", action="store_true",
                        help="the raw generator weights, not their EMA (e.g. a run too short for its EMA to catch up; "
                             f"default: the EMA's where the run has one){';' if naming else ''}{naming}")


def _ema(args) -> bool | None:
    """`jaxgen.load`'s `ema` for --no-ema: False (the raw G), else None (the EMA where the run has one)."""
    return False if args.no_ema else None


def _check_out_dir(out: str, what: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise JaxgenError(f"--out {out!r} is a file; give the directory for {what}")


def _check_projection_args(args) -> None:
    """`jaxgen edit project` / `ppl` checks that need no JAX."""
    if args.edit_command == "ppl":
        if args.num_samples < 100 or args.batch_size < 1:
            raise JaxgenError(f"--num-samples must be at least 100 (the 1 %/99 % filter) and --batch-size at least "
                              f"1, got {args.num_samples} and {args.batch_size}")
        return
    if args.num < 1 or args.steps < 1 or args.mse_weight < 0:
        raise JaxgenError(f"--num and --steps must be at least 1 and --mse-weight not negative, got {args.num}, "
                          f"{args.steps} and {args.mse_weight}")
    if args.images and not os.path.isfile(args.images):
        raise JaxgenError(f"--images file {args.images!r} not found")
    _check_out_dir(args.out, "the projection's files")


def cmd_edit_projection(args) -> None:
    import json

    from jaxgen.edit import project_command

    if args.edit_command == "ppl":
        print(json.dumps(project_command.run_ppl(args.workdir, space=args.space, sampling=args.sampling,
                                                 num_samples=args.num_samples, batch_size=args.batch_size,
                                                 seed=args.seed, step=args.step, ema=_ema(args))))
        return
    paths = project_command.run_project(args.workdir, args.out, images=args.images,
                                        split=None if args.images else args.split or "test", num=args.num,
                                        space=args.space, steps=args.steps, mse_weight=args.mse_weight,
                                        seed=args.seed, step=args.step, ema=_ema(args))
    print("wrote " + ", ".join(paths))


def _split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separates `--config.key=value` / `--config.key value` items from the other arguments."""
    rest, overrides, i = [], [], 0
    while i < len(argv):
        item = argv[i]
        if item.startswith("--config."):
            body = item[len("--config."):]
            if "=" not in body:
                if i + 1 >= len(argv):
                    raise JaxgenError(f"override {item} has no value (use {item}=VALUE)")
                body, i = f"{body}={argv[i + 1]}", i + 1
            overrides.append(body)
        else:
            rest.append(item)
        i += 1
    return rest, overrides


def _init_distributed(args) -> None:
    import jax

    if args.coordinator:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")  # used only by CPU devices
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    elif args.distributed:
        jax.distributed.initialize()
    # Orbax's barriers then go through the coordination service (timeout 300 s) instead of collectives
    # (gloo's first one on CPU gives up after 30 s). jaxgen reads no other absl flags.
    import orbax.checkpoint  # noqa: F401  (defines the flag)
    from absl import flags

    flags.FLAGS.experimental_orbax_use_distributed_barrier = True
    flags.FLAGS.mark_as_parsed()


def cmd_train(args, config) -> None:
    if args.distributed or args.coordinator:
        _init_distributed(args)
    from jaxgen import trainers

    trainers.get(config.trainer).train_and_evaluate(config, args.workdir, args.allow_config_change)
    print(f"done: checkpoints, samples/ and metrics.jsonl are in {args.workdir}")


def cmd_sweep(args, config) -> None:
    from jaxgen.trainers import sweep

    config = sweep.sweep_config(config, [sweep.parse_over(o) for o in args.over])
    sweep.train_and_evaluate(config, args.workdir, args.allow_config_change)
    print(f"done: {len(sweep.runs(config))} runs; sweep.csv, sweep.json and sweep.png are in {args.workdir}")


def _landscape_options(args) -> dict:
    """The options of `jaxgen research landscape` given on the command line; an error for one its --kind ignores."""
    names = {"interp": ("points", "from_step"), "slice2d": ("players", "points", "span", "seed"),
             "hessian": ("players", "k", "iters", "draws", "seed")}[args.kind]
    given = {k: getattr(args, k) for k in ("players", "points", "span", "from_step", "k", "iters", "draws", "seed")
             if getattr(args, k) is not None}
    misplaced = sorted(set(given) - set(names))
    if misplaced:
        options = ", ".join("--" + m.replace("_", "-") for m in misplaced)
        raise JaxgenError(f"--kind {args.kind} does not take {options}")
    return given


def cmd_research(args) -> None:
    from jaxgen.research import commands

    if args.research_command == "game":
        paths = commands.run_game(args.workdir, out=args.out, step=args.step, batches=args.batches, k=args.k,
                                  method=args.method, which=args.which, krylov=args.krylov, seed=args.seed)
    else:
        paths = commands.run_landscape(args.workdir, args.kind, out=args.out, step=args.step, batches=args.batches,
                                       **_landscape_options(args))
    print("wrote " + ", ".join(paths))


def cmd_edit(args) -> None:
    from jaxgen.edit import commands

    print(commands.run(args))


def _check_out(path: str) -> None:
    """A one-line error now, before any work, for an --out file that cannot be written."""
    import os

    if os.path.isdir(path):
        raise JaxgenError(f"--out {path!r} is a directory; give a file name, e.g. {os.path.join(path, 'samples.png')}")
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise JaxgenError(f"cannot write --out {path!r}: {existing!r} is not a writable directory")


def cmd_sample(args) -> None:
    import jax
    import numpy as np

    from jaxgen import api
    from jaxgen.engine import loop, writers
    from jaxgen.engine import workdir as workdir_lib

    config, task, state, step = workdir_lib.restore(args.workdir, args.step)
    state, _ = _raw_generator(args, state)
    if args.label is not None and task.num_classes is None:
        raise ConfigError(f"--label needs a class-conditional model; {args.workdir} holds an unconditional one "
                          f"(model.conditioning='none')")
    if args.label is not None and not 0 <= args.label < task.num_classes:
        raise ConfigError(f"--label {args.label} is out of range: the model has {task.num_classes} classes "
                          f"(0..{task.num_classes - 1})")
    if args.size is not None:
        from jaxgen.edit import singan

        images = singan.samples(singan.from_state(config, state, step, args.workdir), args.num, args.seed, args.size)
        ncol = None
    elif args.source:
        images, ncol = _translations(task, state, args)
    elif args.psi is not None:
        images, ncol = api.Model(config, task, state, step, workdir=args.workdir).sample(args.num, args.seed,
                                                                                          psi=args.psi), None
    else:
        images, ncol = loop.sample_grid(task, state, jax.random.key(args.seed), args.num, args.label)
    if not np.isfinite(images).all():
        raise JaxgenError(f"checkpoint {step} of {args.workdir} draws non-finite samples (its parameters are not "
                          f"finite); sample an earlier checkpoint with --step")
    try:
        writers.save_grid(args.out, images, ncol)
    except OSError as e:
        raise JaxgenError(f"cannot write --out {args.out!r}: {e.strerror or e}") from e
    if args.source:
        print(f"wrote {len(images) // 2} inputs of {args.source} beside their translations (checkpoint {step}) to "
              f"{args.out}")
        return
    layout = f" ({task.num_classes} classes x {ncol})" if ncol else ""
    print(f"wrote {len(images)} samples{layout} from checkpoint {step} to {args.out}")


def _translations(task, state, args):
    """`--source`'s images and their translations, interleaved (a grid of two columns: input, translation)."""
    import jax
    import numpy as np

    from jaxgen.data import images as images_lib

    if task.source_shape is None:
        raise ConfigError(f"--source needs a translation model (e.g. pix2pix); {args.workdir} holds one that samples "
                          f"from noise")
    source = images_lib.read_images(args.source, task.source_shape)
    fake = np.asarray(jax.device_get(task.generate(state, jax.random.key(args.seed), len(source), source=source)))
    shown = np.broadcast_to(source, source.shape[:3] + fake.shape[-1:])  # grey inputs beside colour outputs
    return np.stack([shown, fake], axis=1).reshape(-1, *fake.shape[1:]), 2


def cmd_export(args) -> None:
    import os

    from jaxgen import api

    out, step = api.export(args.workdir, args.out, args.step)
    size = os.path.getsize(out) / 2**20
    print(f"wrote checkpoint {step} of {args.workdir} to {out} ({size:.2f} MiB: weights and config, no optimizer "
          f"state); load it with jaxgen.load({out!r})")


DEFAULT_METRICS = "fid,kid,is,pr"
TASK_METRIC = "task"  # `jaxgen eval --metrics task`: the run's own evaluation (`Task.evaluate`)


def _metric_list(metrics: str | None) -> list[str]:
    """The names of a comma-separated --metrics value (empty for none)."""
    return [m.strip() for m in (metrics or "").split(",") if m.strip()]


def _task_split(args):
    """The config edit of `jaxgen eval --split S --metrics task`: the run's evaluation on split S (None: as run)."""
    if not args.split:
        return None

    def edit(config):
        config.eval.split = args.split

    return edit


def _task_evaluation(config, task, state) -> dict:
    """The run's own evaluation of `state` with the key training uses (its numbers are those training logs)."""
    from jaxgen.engine import keys

    if task.evaluate is None:
        raise JaxgenError(f"--metrics {TASK_METRIC}: trainer {config.trainer!r} has no evaluation of its own; choose "
                          f"sample metrics (fid, kid, is, pr, parzen, nn)")
    return task.evaluate(state, keys.eval_key(config.seed))


def _evaluate_translation(args) -> tuple[dict, int]:
    """A translation workdir's own held-out protocol (its game's `evaluator`: every pair of --split), appended to
    its metrics.jsonl; (results, step)."""
    import jax

    from jaxgen.engine import workdir as workdir_lib

    def edit(config):
        chosen = ",".join(m for m in _metric_list(args.metrics) if m != TASK_METRIC)
        config.eval.update(every=1, metrics=chosen or "l1,psnr,ssim,kid", split=args.split or "test",
                           features=args.features)

    _, task, state, step = workdir_lib.restore(args.workdir, args.step, edit=edit)
    state, raw = _raw_generator(args, state)
    return _log_eval(args, step, task.evaluate(state, jax.random.key(args.seed)), raw), step


def _log_eval(args, step: int, results: dict, raw: bool) -> dict:
    """`results` named for the generator they score (`_rawg` for the raw G, --no-ema), appended to the workdir's
    metrics.jsonl with the noise seed; returns them."""
    from jaxgen.engine import writers
    from jaxgen.metrics import names

    results = {names.raw_generator(k) if raw else k: v for k, v in results.items()}
    writer = writers.MetricWriter(args.workdir)
    writer.write(step, {**results, "eval_seed": args.seed})
    writer.close()
    return results


def _raw_generator(args, state):
    """(the state to sample from, whether that is the raw G of a run with an EMA: --no-ema)."""
    from jaxgen import api

    raw = bool(args.no_ema) and "ema" in state
    return (api.without_ema(state) if raw else state), raw


def cmd_eval(args) -> None:
    import json
    import os

    import jax
    import ml_collections

    from jaxgen import games
    from jaxgen.metrics import evaluate

    num = 5000 if args.num_samples is None else args.num_samples
    if args.workdir:
        from jaxgen.engine import workdir as workdir_lib

        config, _ = workdir_lib.read(args.workdir)
        if getattr(games.get(config.get("game", "unconditional")), "OWN_EVALUATION", False):
            results, step = _evaluate_translation(args)
            print(json.dumps({"step": step, "workdir": args.workdir, **results}))
            return
        metrics = _metric_list(args.metrics or DEFAULT_METRICS)
        sample_metrics = ",".join(m for m in metrics if m != TASK_METRIC)
        config, task, state, step = workdir_lib.restore(args.workdir, args.step, edit=_task_split(args))
        state, raw = _raw_generator(args, state)
        results = _task_evaluation(config, task, state) if TASK_METRIC in metrics else {}
        if sample_metrics:
            protocol = evaluate.Protocol.parse(sample_metrics, num_samples=num, split=args.split or "test",
                                               features=args.features)
            net = evaluate.feature_net(protocol, config.data.name)
            samples = evaluate.generate_samples(task, state, num, jax.random.key(args.seed))
            out_dir = args.out or os.path.join(args.workdir, "eval")
            results.update(evaluate.evaluate(samples, config.data, protocol, out_dir,
                                             tag=f"step_{step:07d}" + "_rawg" * raw, net=net))
        results = _log_eval(args, step, results, raw)
        line = {"step": step, "workdir": args.workdir, **results}
    else:
        samples = evaluate.load_samples(args.samples)
        if args.num_samples is not None:
            if args.num_samples > len(samples):
                raise JaxgenError(f"--num-samples {args.num_samples} is more than the {len(samples)} images in "
                                  f"{args.samples}")
            samples = samples[:args.num_samples]
        protocol = evaluate.Protocol.parse(args.metrics or DEFAULT_METRICS, num_samples=len(samples),
                                           split=args.split or "test",
                                           features=args.features)
        data_cfg = ml_collections.ConfigDict(dict(name=args.dataset, data_dir=None, image_size=None, pad=0))
        results = evaluate.evaluate(samples, data_cfg, protocol, args.out or ".", tag="samples")
        line = {"samples": args.samples, **results}
    print(json.dumps(line))


def cmd_data(args) -> None:
    from jaxgen import data

    if args.data_command == "prepare":
        info = data.prepare(args.name, args.data_dir)
        splits = ", ".join(f"{k}: {v.num_examples}" for k, v in info.splits.items())
        print(f"prepared {args.name} in {data.resolve_data_dir(args.data_dir)} ({splits})")
    else:
        for row in data.list_datasets(args.data_dir):
            print(row_text(row))


def cmd_toy(args) -> None:
    from jaxgen.trainers import toy

    config = toy.default_config()
    config.update(dataset=args.dataset, losses=args.losses, seeds=args.seeds)
    given = {"first_seed": args.first_seed, "steps": args.steps, "batch_size": args.batch_size, "pack": args.pack}
    config.update({k: v for k, v in given.items() if v is not None})
    if args.arch is not None:
        config.model.arch = args.arch
    given = {"learning_rate": args.lr, "b1": args.b1}
    config.optimizer.update({k: v for k, v in given.items() if v is not None})
    result = toy.run(config, report=lambda line: print(line, file=sys.stderr, flush=True))
    print(toy.markdown_table(result))
    print("\n".join(toy.timing_lines(result)))
    if args.out:
        toy.write_outputs(result, args.out)
        print(f"wrote results.json, results.md, samples_<loss>.png and samples_overview.png to {args.out}")


def _region(text: str | None):
    """--region's box (y0, x0, y1, x1), checked; None without one."""
    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
        raise JaxgenError(f"--region must be y0,x0,y1,x1 with 0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1, got {text!r}")
    return box


def cmd_dissect(args) -> None:
    from jaxgen.edit import dissect_report

    concepts = args.concepts.split(",") if args.concepts else None
    paths = dissect_report.run(args.workdir, args.layer, args.out, num=args.num, step=args.step, seed=args.seed,
                               units=args.units, concepts=concepts, region=_region(args.region),
                               ema=_ema(args))
    print("wrote " + ", ".join(paths))


def cmd_configs() -> None:
    from jaxgen import config as config_lib

    configs = config_lib.bundled()
    width = max(map(len, configs), default=0)
    for name, path in configs.items():
        print(f"{name:<{width}}  {config_lib.summary(path)}")
    print(f"(in {config_lib.bundled_dir()}; train one with: jaxgen train --config NAME[:tiny] --workdir DIR)")


def row_text(row: dict) -> str:
    """One line of `jaxgen data list`."""
    status = "prepared" if row.get("prepared") else "not prepared"
    kind = "bundled" if row.get("bundled") else "catalog"
    splits = ", ".join(f"{k}={v}" for k, v in (row.get("splits") or {}).items())
    return f"{row['name']:<12} {kind:<8} {status:<13} {splits}"


def _check_workdir(workdir: str) -> None:
    if not os.path.isfile(os.path.join(workdir, "config.json")):
        raise JaxgenError(f"{os.path.join(workdir, 'config.json')} not found: is {workdir!r} a jaxgen workdir "
                          f"(made by `jaxgen train`)?")


def _check_singan(args) -> None:
    """`jaxgen singan`'s options, before JAX: files, numbers."""
    from jaxgen.defaults import singan  # the bundled images' names without importing jaxgen.data (TFDS, grain)

    _check_out(args.out)
    for option in ("image", "mask"):
        path = getattr(args, option)
        if path is not None and not os.path.isfile(path) and (option == "mask" or path not in singan.BUNDLED_SHAPES):
            raise JaxgenError(f"--{option} {path!r} is neither a file nor a bundled image ({', '.join(singan.BUNDLED_SHAPES)})")
    if args.num < 1:
        raise JaxgenError(f"--num must be at least 1, got {args.num}")
    if args.singan_command in ("paint", "harmonize") and args.image is None:
        raise JaxgenError(f"jaxgen singan {args.singan_command} needs --image (the image to inject)")
    if args.factor <= 1:
        raise JaxgenError(f"--factor must be > 1, got {args.factor}")


def check_args(args, overrides: list[str]):
    """The checks that need no JAX, TFDS or trainer import: files and workdirs that must exist, the config (its
    name, its keys, the overrides' keys, types and ranges: bundled configs import no JAX, see `jaxgen.defaults`),
    options that go together, the optional packages a command needs. Returns the loaded config of `train` and
    `sweep`, else None."""
    from jaxgen import config as config_lib
    from jaxgen import optional

    if overrides and args.command not in ("train", "sweep"):
        raise JaxgenError(f"--config.* overrides only apply to `jaxgen train` and `jaxgen sweep`, got {overrides}")
    config = config_lib.load(args.config, overrides) if args.command in ("train", "sweep") else None
    if args.command == "train" and args.coordinator and (args.num_processes is None or args.process_id is None):
        raise JaxgenError("--coordinator needs --num-processes and --process-id")
    if args.command == "sample" and args.num < 1:
        raise JaxgenError(f"--num must be at least 1, got {args.num}")
    if args.command == "sample":
        _check_out(args.out)
        if args.source and args.label is not None:
            raise JaxgenError("--source and --label exclude each other: a translation model takes input images")
        if args.source and not os.path.isfile(args.source):
            raise JaxgenError(f"--source file {args.source!r} not found")
        if args.psi is not None and (args.source or args.label is not None):
            raise JaxgenError("--psi truncates a style-based generator's w: it takes no --source or --label")
        if args.psi is not None and not abs(args.psi) < float("inf"):
            raise JaxgenError(f"--psi must be a finite number, got {args.psi}")
        if args.size is not None and (args.source or args.label is not None or args.psi is not None):
            raise JaxgenError("--size draws SinGAN samples of another size: it takes no --source, --label or --psi")
    if args.command == "singan":
        _check_singan(args)
    if args.command == "edit" and args.edit_command in ("project", "ppl"):
        _check_projection_args(args)
    elif args.command == "edit":
        from jaxgen.edit import commands

        _check_out(args.out)
        commands.check(args)
    if args.command == "dissect":
        if args.num < 1 or args.units < 1:
            raise JaxgenError(f"--num and --units must be at least 1, got {args.num} and {args.units}")
        _region(args.region)
        _check_out_dir(args.out, "the dissection's files")
    if args.command in ("sample", "export", "research", "edit", "dissect", "singan") or (args.command == "eval" and args.workdir):
        _check_workdir(args.workdir)
    if args.command == "research" and args.research_command == "landscape":
        _landscape_options(args)
    figures = {"sweep": "sweep.png", "research": "the research figures", "toy": "the toy benchmark's scatter plots"}
    if args.command in figures and (args.command != "toy" or args.out):
        optional.check("matplotlib", figures[args.command])
    if args.command == "eval":
        from jaxgen.metrics import names

        chosen = _metric_list(args.metrics)
        if TASK_METRIC in chosen and not args.workdir:
            raise JaxgenError(f"--metrics {TASK_METRIC} evaluates a trained run: give --workdir, not --samples")
        rest = ",".join(m for m in chosen if m != TASK_METRIC)
        if rest and not set(rest.split(",")) <= set(names.TRANSLATION_METRICS):
            names.parse(rest)
        if args.workdir and args.dataset:
            raise JaxgenError("--dataset goes with --samples; a workdir evaluates against its own config.data")
        if args.samples and not args.dataset:
            raise JaxgenError("--samples needs --dataset, the reference dataset (e.g. --dataset mnist5k)")
        if args.samples and args.no_ema:
            raise JaxgenError("--no-ema chooses a workdir's generator; it goes with --workdir, not --samples")
        if args.samples and not os.path.isfile(args.samples):
            raise JaxgenError(f"samples file {args.samples!r} not found")
    return config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        rest, overrides = _split_overrides(argv)
        args = _parser().parse_args(rest)
        config = check_args(args, overrides)
        cache.use_compilation_cache()
        if args.command == "configs":
            cmd_configs()
        elif args.command == "train":
            cmd_train(args, config)
        elif args.command == "sweep":
            cmd_sweep(args, config)
        elif args.command == "research":
            cmd_research(args)
        elif args.command == "edit" and args.edit_command in ("project", "ppl"):
            cmd_edit_projection(args)
        elif args.command == "edit":
            cmd_edit(args)
        elif args.command == "sample":
            cmd_sample(args)
        elif args.command == "singan":
            from jaxgen.edit import singan

            print(singan.run(args))
        elif args.command == "export":
            cmd_export(args)
        elif args.command == "toy":
            cmd_toy(args)
        elif args.command == "eval":
            cmd_eval(args)
        elif args.command == "dissect":
            cmd_dissect(args)
        else:
            cmd_data(args)
    except BrokenPipeError:  # the reader of our output left (`jaxgen configs | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except TimeBudgetReached as e:
        print(f"jaxgen: {e}", file=sys.stderr)
        return EXIT_TIME_BUDGET
    except JaxgenError as e:
        print(f"jaxgen: error: {e}", file=sys.stderr)
        if isinstance(e, Interrupted):
            return EXIT_INTERRUPTED
        return EXIT_NONFINITE if isinstance(e, NonFiniteLoss) else EXIT_USAGE
    return 0
