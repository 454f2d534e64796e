"""Times the compiled train step of registered configs, optionally beside PyTorch eager.

    python tools/bench.py --torch --losses all             # every loss-zoo row on DCGAN-MNIST beside PyTorch
    python tools/bench.py --torch --losses wgan_gp r1      # some rows
    python tools/bench.py                                  # every configs/*.py, default variant
    python tools/bench.py --configs dcgan_mnist --torch    # one config beside tools/torch_dcgan.py
    python tools/bench.py --configs pix2pix_emoji --torch  # pix2pix beside tools/torch_pix2pix.py
    python tools/bench.py --configs srresnet_photos srgan_photos --torch   # beside tools/torch_srgan.py
    python tools/bench.py --configs cyclegan_emoji --torch # CycleGAN beside tools/torch_cyclegan.py
    python tools/bench.py --configs stylegan2_emoji --torch   # StyleGAN2 beside tools/torch_stylegan2.py
    python tools/bench.py --configs singan_photo --torch   # a SinGAN scale step beside tools/torch_singan.py
    python tools/bench.py --configs ddpm_mnist --torch     # a DDPM step (L_simple, Adam, EMA) beside tools/torch_ddpm.py
    python tools/bench.py --configs vae_mnist vae_mnist:conv pixelcnn_mnist --sample 64   # + sampling time
    python tools/bench.py --configs texture_brick:adam --torch   # a texture iteration beside tools/torch_texture.py
    python tools/bench.py --layers                         # DCGAN's up/down-sampling layers, every lowering
    python tools/bench.py --losses ns wgan_gp --torch --batch-sizes 64 128 256 --roof
                                                           # batch scaling beside PyTorch, share of the matmul roof

A step is one full training iteration (``n_critic`` D updates, a penalty where the row has one, and one G update) on
a fixed random batch of the config's shape: data loading is not timed. With ``--losses`` each row runs its
``configs/<loss>_mnist.py`` with ``n_critic = 1`` (``--n-critic``) so that every row times one D and one G update;
the PyTorch step (``tools/torch_dcgan.py``) is built from the same config (objective, penalty and weight, D
normalisation, optimizers, WGAN clipping, BEGAN's autoencoder D). Times are medians over ``--rounds`` rounds of
``--steps`` steps each, after warm-up (compilation); with ``--torch`` the JAX and PyTorch rounds alternate so that
drift on a shared machine hits both alike. ``--sample N`` also times drawing N samples (``task.generate``, compiled
once; an autoregressive model's whole pixel loop) per config. A config name may carry its variant
(``vae_mnist:conv``). A staged config is timed in the stage it is named after (:func:`timed_stage`):
``srgan_photos`` (SRResNet steps, then SRGAN) runs with ``model.srgan_from=0``, so every timed step is SRGAN's (VGG
loss, D update); ``srresnet_photos`` times SRResNet's; ``singan_photo`` runs with ``model.min_size`` = the image's
shorter side: one scale of the image's full size (no scale below), timing a scale step at the finest size. ``--batch-sizes`` runs every row at each batch size.
``--roof`` also times a 2048x2048 float32 matrix product in JAX (and PyTorch, with ``--torch``), the CPU's practical
peak, and gives each row XLA's FLOP count of the compiled JAX step (``cost_analysis``; GAN steps that run as one
program) and the share of that peak each framework reaches doing that much work. Writes JSON (default
docs/bench.json) and prints a Markdown table. Run it on an otherwise idle machine.

``--layers`` times DCGAN's sampling layers alone instead (forward + input and kernel gradients, batch 64,
compiled with ``jaxgen.engine.compilation.jit``): ``jaxgen.nn.ConvTranspose`` with every ``impl`` and
``jaxgen.nn.StridedConv`` with ``"fast"`` and ``"lax"``, marking the one this backend uses by default
(``jaxgen.nn.upsample.default_impl``); it prints the table and writes no JSON. Models never choose a
lowering: the explicit ``impl`` here is for measuring (e.g. before changing ``default_impl`` for a backend).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import jaxgen  # noqa: F401  (first: its host allocator setting, before numpy and JAX start threads)

# isort: split
import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def jax_stepper(config_path: str, overrides=(), mesh=None):
    """(run n steps -> the last step's metrics, images per step, config, draw(n) samples or None) for the
    config's train step on a fixed random batch, over `mesh` (default: every device). ``run.flops()`` is XLA's
    FLOP count of one step where the step is one compiled program (an adversarial step with n_critic = 1 and
    fused phases), else None."""
    from jaxgen import config as config_lib
    from jaxgen import data as data_lib
    from jaxgen import trainers
    from jaxgen.engine import sharding

    config = config_lib.load(config_path, list(overrides))
    if timed_stage(config):
        config = config_lib.load(config_path, [*overrides, *timed_stage(config)])
    mesh = sharding.make_mesh() if mesh is None else mesh
    trainer = trainers.get(config.trainer)
    # An image-optimisation trainer (texture) has no dataset: its own data_info gives the images' shape.
    info = trainer.data_info(config) if hasattr(trainer, "data_info") else data_lib.output_info(config.data)
    task = trainer.create_task(config, info, mesh)
    state = task.init(jax.random.key(0))
    rng = np.random.default_rng(0)
    images = info.get("images") or {"image": info["image_shape"]}  # a paired dataset's "a" and "b"
    batch = sharding.shard_batch(
        {**{key: rng.uniform(-1, 1, (config.batch_size, *shape)).astype(np.float32) for key, shape in images.items()},
         "label": rng.integers(0, 10, config.batch_size).astype(np.int32)}, mesh)
    key = jax.random.key(1)
    holder = {"state": state, "i": 0}

    def run(n):
        for _ in range(n):
            i = holder["i"]
            holder["state"], metrics = task.step(holder["state"], lambda: batch, jax.random.fold_in(key, i), i)
            holder["i"] += 1
        jax.block_until_ready((holder["state"], metrics))
        return metrics

    def draw(n):
        return jax.block_until_ready(task.generate(holder["state"], jax.random.key(2), n))

    def flops():
        fused = getattr(task.step, "phases", {}).get("fused")
        if fused is None or config.get("n_critic") != 1 or not config.get("fuse_phases", True):
            return None
        inputs = {k: batch[k] for k in (*images, "label")}
        compiled = fused.lower(task.init(jax.random.key(0)), inputs, key).compile()
        analysis = compiled.cost_analysis()
        analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
        return float(analysis["flops"])

    run.flops = flops
    return run, config.batch_size, config, (draw if task.generate is not None else None)


def timed_stage(config) -> list[str]:
    """The overrides that make every step of `config` the stage it is named after: a super-resolution config that
    pre-trains SRResNet before SRGAN (``model.srgan_from`` > 0) is timed from the start in SRGAN
    (``model.srgan_from=0``); none for other configs."""
    if config.get("game") == "superres" and config.model.srgan_from > 0:
        return ["model.srgan_from=0"]
    if config.get("game") == "vq" and config.model.disc_start > 0:  # VQ-GAN: its critic stage from the start
        return ["model.disc_start=0"]
    if config.get("game") == "singan" and config.model.min_size != _singan_short_side(config):
        return [f"model.min_size={_singan_short_side(config)}"]  # one scale: the image's size, no scale below
    return []


def _singan_short_side(config) -> int:
    from jaxgen.defaults import singan

    return min(singan.image_shape(config.data.image, config.data.max_size))


def has_torch_reference(config) -> bool:
    """tools/torch_dcgan.py mirrors unconditional DCGAN (and BEGAN) GAN configs, tools/torch_pix2pix.py pix2pix's
    (vanilla objective, batch norm), tools/torch_srgan.py super-resolution's (SRResNet, SRGAN; no penalty),
    tools/torch_cyclegan.py CycleGAN's (least squares, instance norm), tools/torch_stylegan2.py StyleGAN2's
    (non-saturating loss, lazy R1 and path length, float32), tools/torch_texture.py a texture iteration (VGG
    features, Gram loss, gradient, Adam: L-BFGS's line search makes a variable number of evaluations),
    tools/torch_ddpm.py a diffusion step (the U-Net, L_simple, Adam, the EMA; no class conditioning)."""
    if config.trainer == "likelihood":
        return config.model.name == "diffusion" and not config.model.conditional
    if config.trainer == "texture":
        return config.model.name == "vgg" and config.optimizer.name == "adam"
    if config.trainer == "gan" and config.model.name == "stylegan2":
        return (config.loss.objective == "ns" and config.loss.penalty == "r1" and config.loss.reg_every > 1
                and config.dtype == "float32")
    if config.trainer == "gan" and config.model.name == "pix2pix":
        return config.loss.objective == "ns" and config.model.norm == "batch"
    if config.get("game") == "superres":
        return (config.loss.penalty == "none" and config.loss.clip == 0
                and config.loss.objective in ("mm", "ns", "wgan", "lsgan", "hinge"))
    if config.trainer == "gan" and config.model.name == "cyclegan":
        return config.loss.objective == "lsgan" and config.model.norm == "instance"
    if config.get("game") == "singan":
        return config.loss.objective == "wgan" and config.loss.penalty == "wgan_gp"
    if config.get("game") == "vq":  # tools/torch_vq.py: the autoencoder stages (EMA codebook; hinge PatchGAN)
        return config.model.ema and config.loss.objective == "hinge" and config.dtype == "float32"
    return (config.trainer == "gan" and config.model.name in ("dcgan", "began")
            and config.model.get("conditioning", "none") == "none" and config.loss.reg_every == 1)


def torch_stepper(config, freeze_d_in_g: bool, threads: int | None = None, device="cpu"):
    """(run n steps, torch version) of the PyTorch reference's step for `config` (tools/torch_dcgan.py: its ``dtype``
    and `device` too; tools/torch_pix2pix.py; tools/torch_srgan.py: its ``dtype`` and `device`, the stage of
    :func:`timed_stage`; tools/torch_cyclegan.py; tools/torch_stylegan2.py: its `device`, the lazy phases on the
    trainer's schedule); ``run`` waits for the device to finish its steps."""
    import torch

    if config.trainer == "texture":
        import torch_texture

        step = torch_texture.make_step(config, threads, device)
    elif config.trainer == "likelihood":
        import torch_ddpm

        step = torch_ddpm.make_step(config, threads)
    elif config.model.name == "pix2pix":
        import torch_pix2pix

        from jaxgen import data as data_lib
        from jaxgen.games import paired

        images = data_lib.output_info(config.data)["images"]
        source, target = (images[k] for k in paired.DIRECTIONS[config.data.direction])
        opt = config.optimizer.g
        step = torch_pix2pix.make_step(
            image_size=source[0], channels=(source[-1], target[-1]), batch=config.batch_size,
            g_width=config.model.g_width, d_width=config.model.d_width, d_layers=config.model.d_layers,
            l1_weight=config.loss.weights.l1, lr=opt.learning_rate, b1=opt.b1, b2=opt.b2, threads=threads,
            freeze_d_in_g=freeze_d_in_g)
    elif config.get("game") == "superres":
        import torch_srgan

        step = torch_srgan.make_step(config, threads, freeze_d_in_g, device)
    elif config.model.name == "stylegan2":
        import torch_stylegan2

        step = torch_stylegan2.make_step(config, threads, freeze_d_in_g, device)
    elif config.get("game") == "singan":
        import torch_singan

        from jaxgen.defaults import singan

        m, opt = config.model, config.optimizer.g
        step = torch_singan.make_step(
            singan.image_shape(config.data.image, config.data.max_size), singan.width(0, m), m.layers,
            config.n_critic, config.loss.penalty_weight, config.loss.weights.rec, opt.learning_rate, opt.b1, opt.b2,
            threads, freeze_d_in_g)
    elif config.get("game") == "vq":
        import torch_vq

        step = torch_vq.make_step(config, threads, freeze_d_in_g, device)
    elif config.model.name == "cyclegan":
        import torch_cyclegan

        from jaxgen import data as data_lib

        shape = data_lib.output_info(config.data)["images"]["a"]
        opt, w, m = config.optimizer.g, config.loss.weights, config.model
        step = torch_cyclegan.make_step(
            image_size=shape[0], channels=shape[-1], batch=config.batch_size, g_width=m.g_width, g_blocks=m.g_blocks,
            d_width=m.d_width, d_layers=m.d_layers, adversarial=w.adversarial, cycle=w.cycle, identity=w.identity,
            pool_size=config.loss.get("pool_size", 0), lr=opt.learning_rate, b1=opt.b1, b2=opt.b2, threads=threads,
            freeze_d_in_g=freeze_d_in_g)
    else:
        import torch_dcgan

        step = torch_dcgan.make_step(
            width=config.model.width, z_dim=config.model.z_dim, batch=config.batch_size, threads=threads,
            freeze_d_in_g=freeze_d_in_g, loss=config.loss, d_norm=config.model.d_norm,
            optimizer={name: config.optimizer[name].to_dict() for name in ("g", "d")},
            n_critic=config.n_critic, code_dim=config.model.get("code_dim", 64), device=device,
            dtype=config.dtype)

    def run(n):
        for _ in range(n):
            step()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)

    return run, torch.__version__


def time_rounds(runners: dict, steps: int, rounds: int, warmup: int) -> dict:
    """``{name: (wall ms/step, process CPU ms/step)}``, medians over alternating rounds. The CPU time (all
    threads) is the work done; unlike the wall time it barely moves when other processes share the cores."""
    for run in runners.values():
        run(warmup)
    wall, cpu = {name: [] for name in runners}, {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run(steps)
            wall[name].append((time.perf_counter() - start) * 1e3 / steps)
            cpu[name].append((time.process_time() - start_cpu) * 1e3 / steps)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runners}


def matmul_roof(torch_threads: int | None, with_torch: bool, n: int = 2048, repeats: int = 10) -> dict:
    """GFLOP/s of an n x n float32 matrix product, the median of `repeats`: ``{"jax": ..., "torch": ...}``."""
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
    mm = jax.jit(lambda a: a @ a)
    runs = {"jax": lambda: jax.block_until_ready(mm(a))}
    if with_torch:
        import torch

        torch.set_num_threads(torch_threads or os.cpu_count())
        t = torch.from_numpy(np.asarray(a))
        runs["torch"] = lambda: t @ t
    roof = {}
    for name, fn in runs.items():
        fn(), fn()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - start)
        roof[name] = round(2 * n**3 / statistics.median(seconds) / 1e9, 1)
    return roof


LAYER_SHAPES = {  # name: (layer, input [N, H, W, Cin], output channels)
    "up 7x7x128 -> 14x14x64": ("up", (64, 7, 7, 128), 64),
    "up 14x14x64 -> 28x28x1": ("up", (64, 14, 14, 64), 1),
    "up 4x4x256 -> 8x8x128": ("up", (64, 4, 4, 256), 128),
    "up 8x8x128 -> 16x16x64": ("up", (64, 8, 8, 128), 64),
    "up 16x16x64 -> 32x32x3": ("up", (64, 16, 16, 64), 3),
    "down 28x28x1 -> 14x14x64": ("down", (64, 28, 28, 1), 64),
    "down 14x14x64 -> 7x7x128": ("down", (64, 14, 14, 64), 128),
}


def layer_rows(steps: int, rounds: int, warmup: int) -> list[dict]:
    """ms per forward + input and kernel gradient of each DCGAN sampling layer, per lowering."""
    import jax.numpy as jnp

    from jaxgen.engine import compilation
    from jaxgen.nn import upsample

    rows = []
    for name, (kind, shape, features) in LAYER_SHAPES.items():
        impls = upsample.IMPLS if kind == "up" else upsample.CONV_IMPLS
        runners = {}
        for impl in impls:
            if kind == "up":
                module = upsample.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME", impl=impl)
            else:
                module = upsample.StridedConv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), impl=impl)
            x = jax.random.normal(jax.random.key(0), shape)
            variables = module.init(jax.random.key(1), x)
            grads = compilation.jit(jax.grad(lambda v, x, m=module: jnp.sum(jnp.tanh(m.apply(v, x))), argnums=(0, 1)))

            def run(n, grads=grads, variables=variables, x=x):
                for _ in range(n):
                    out = grads(variables, x)
                jax.block_until_ready(out)

            runners[impl] = run
        times = time_rounds(runners, steps, rounds, warmup)
        rows.append({"layer": name, "default": upsample.default_impl(),
                     **{impl: round(times[impl][0], 2) for impl in impls}})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def print_layer_table(rows: list[dict]) -> None:
    """Markdown: one row per layer, one column per lowering (ms), this backend's default in bold."""
    from jaxgen.nn import upsample

    print("\n| layer | " + " | ".join(f"`{impl}`" for impl in upsample.IMPLS) + " |")
    print("|---|" + "---|" * len(upsample.IMPLS))
    for r in rows:
        cells = [("**{}**" if impl == r["default"] else "{}").format(r[impl]) if impl in r else "–"
                 for impl in upsample.IMPLS]
        print(f"| {r['layer']} | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--configs", nargs="*", help="config names (default: every configs/*.py)")
    which.add_argument("--losses", nargs="+", help="loss-zoo rows ('all' = every row of jaxgen.losses.zoo.ROWS); "
                                                   "each runs configs/<loss>_mnist.py")
    which.add_argument("--layers", action="store_true",
                       help="time DCGAN's up/down-sampling layers alone under every lowering (impl)")
    parser.add_argument("--n-critic", type=int, default=1, help="with --losses: D updates per step (default 1)")
    parser.add_argument("--torch", action="store_true",
                        help="also time tools/torch_dcgan.py where it mirrors the config")
    parser.add_argument("--torch-freeze-d-in-g", action="store_true",
                        help="PyTorch skips D's weight gradients in the G phase (as jax.grad w.r.t. G does); "
                             "default: computes and discards them, as the PyTorch DCGAN example does")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch intra-op threads (default: every core). On a shared machine, compare CPU "
                             "times of `taskset -c 0 python tools/bench.py ... --threads 1` instead of wall times: "
                             "PyTorch's OpenMP threads spin when descheduled")
    parser.add_argument("--sample", type=int, default=0, help="also time drawing this many samples (0 = no)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                        help="run every row at each of these batch sizes (default: the config's)")
    parser.add_argument("--roof", action="store_true",
                        help="also measure the matmul roof and each step's FLOPs and share of the roof")
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "bench.json"))
    parser.add_argument("overrides", nargs="*", help="config overrides key=value applied to every config")
    args = parser.parse_args(argv)
    overrides = list(args.overrides)
    if args.layers:
        print_layer_table(layer_rows(args.steps, args.rounds, args.warmup))
        return
    if args.losses:
        from jaxgen.losses import zoo

        losses = list(zoo.ROWS) if args.losses == ["all"] else args.losses
        unknown = sorted(set(losses) - set(zoo.ROWS))
        if unknown:
            parser.error(f"unknown loss(es) {unknown}; choose from {list(zoo.ROWS)} or 'all'")
        names = [f"{loss}_mnist" for loss in losses]
        overrides.append(f"n_critic={args.n_critic}")
    else:
        names = args.configs or sorted(  # the files that define a config (not shared bases)
            os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "configs", "*.py"))
            if "def get_config(" in pathlib.Path(p).read_text())
    roof = matmul_roof(args.threads, args.torch) if args.roof else None
    if roof:
        print(json.dumps({"matmul_roof_gflops": roof}), flush=True)
    rows = []
    for name in names:
        for batch_size in args.batch_sizes or [None]:
            sized = overrides + ([f"batch_size={batch_size}"] if batch_size else [])
            rows.append(bench_row(name, sized, args, roof))
            print(json.dumps(rows[-1]), flush=True)
    result = {"machine": {"cpu_count": os.cpu_count(), "cpus_allowed": len(os.sched_getaffinity(0)),
                          "torch_threads": args.threads, "platform": platform.platform(),
                          "processor": platform.processor(), "jax": jax.__version__,
                          "device": jax.devices()[0].device_kind, "device_count": jax.device_count()},
              "command": "python tools/bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "matmul_roof_gflops": roof, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print_rows(rows)


def bench_row(name: str, overrides: list[str], args, roof: dict | None) -> dict:
    """One row: the config `name` (``file[:variant]``) with `overrides`, timed as ``main``'s options say."""
    file, _, variant = name.partition(":")
    spec = os.path.join(REPO, "configs", f"{file}.py") + (f":{variant}" if variant else "")
    run, images, config, draw = jax_stepper(spec, overrides)
    runners = {"jax": run}
    torch_version = None
    if args.torch and has_torch_reference(config):
        runners["torch"], torch_version = torch_stepper(config, args.torch_freeze_d_in_g, args.threads)
    times = time_rounds(runners, args.steps, args.rounds, args.warmup)
    (ms, cpu_ms) = times["jax"]
    row = {"config": name, "loss": config.get("loss", {}).get("name"), "n_critic": config.get("n_critic"),
           "batch_size": images, "jax_ms": round(ms, 2), "jax_cpu_ms": round(cpu_ms, 2),
           "jax_images_per_s": round(images * 1e3 / ms, 1)}
    if "torch" in times:
        (t_ms, t_cpu_ms) = times["torch"]
        row.update(torch_freeze_d_in_g=args.torch_freeze_d_in_g, torch_ms=round(t_ms, 2),
                   torch_cpu_ms=round(t_cpu_ms, 2), torch_images_per_s=round(images * 1e3 / t_ms, 1),
                   speedup_vs_torch=round(t_ms / ms, 2), cpu_speedup_vs_torch=round(t_cpu_ms / cpu_ms, 2),
                   torch_version=torch_version)
    flops = run.flops() if roof else None
    if flops:  # the same work (JAX's step, as XLA counts it) at each framework's speed, against the roof
        row["gflop_per_step"] = round(flops / 1e9, 2)
        for who, key in (("jax", "jax_ms"), ("torch", "torch_ms")):
            if key in row:
                row[f"{who}_gflops"] = round(flops / row[key] / 1e6, 1)
                row[f"{who}_roof_pct"] = round(100 * row[f"{who}_gflops"] / max(roof.values()), 1)
    if args.sample and draw is not None:
        draw(args.sample)  # compile
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            draw(args.sample)
            seconds.append(time.perf_counter() - start)
        row.update(sample_n=args.sample, sample_s=round(statistics.median(seconds), 3))
    return row


def print_rows(rows: list[dict]) -> None:
    """Markdown: one row per config and batch size."""
    print("\n| config | batch | JAX ms/step | JAX img/s | PyTorch ms/step | PyTorch img/s | JAX speed-up "
          "| JAX CPU ms/step | PyTorch CPU ms/step | CPU-time ratio | GFLOP/step | JAX % of roof | PyTorch % of roof "
          "| s per sample batch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["config"], r["batch_size"], r["jax_ms"], r["jax_images_per_s"]]
        cells += [r.get(k, "–") for k in ("torch_ms", "torch_images_per_s", "speedup_vs_torch")]
        cells += [r["jax_cpu_ms"], r.get("torch_cpu_ms", "–"), r.get("cpu_speedup_vs_torch", "–")]
        cells += [r.get(k, "–") for k in ("gflop_per_step", "jax_roof_pct", "torch_roof_pct")]
        cells += [f"{r['sample_s']} ({r['sample_n']})" if "sample_s" in r else "–"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
