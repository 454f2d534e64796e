"""tools/diffusion_bound.py on a tiny trained DDPM (T = 10): the full T-term bound equals its three parts and a
direct evaluation of the model's full bound on the same images (a last batch padded and the repeats dropped), and
the one-t estimate agrees with it within Monte Carlo error."""

import importlib.util
import math
import pathlib

import jax
import numpy as np
import pytest

import jaxgen
from jaxgen import cli
from jaxgen.losses import likelihood as lik
from jaxgen.metrics import reference
from jaxgen.models import diffusion

ROOT = pathlib.Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("diffusion_bound", ROOT / "tools" / "diffusion_bound.py")
diffusion_bound = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diffusion_bound)


def test_the_full_bound_its_parts_and_the_one_t_estimate(tmp_path, data_dir):
    workdir = str(tmp_path / "ddpm")
    assert cli.main(["train", "--config", "configs/ddpm_mnist.py:tiny", "--workdir", workdir,
                     "--config.num_steps=2"]) == 0
    out = diffusion_bound.bound(workdir, num=10, batch=4, seed=3)
    assert out["images"] == 10 and out["ema"] and out["step"] == 2
    parts = out["full_prior_bpd"] + out["full_diffusion_bpd"] + out["full_decoder_bpd"]
    assert out["full_bpd"] == pytest.approx(parts, rel=1e-5)

    m = jaxgen.load(workdir)
    cfg = m.config.model.copy_and_resolve_references()
    cfg.eval_bound = "full"
    nll = diffusion.density(cfg, (28, 28, 1)).nll
    levels = np.asarray(lik.to_levels(reference.real_images(m.config.data, "test", 10)))
    padded = np.concatenate([levels, levels[:2]])  # 12 = three batches of 4
    nats = np.concatenate([np.asarray(nll(m.state["ema"], padded[i:i + 4], jax.random.fold_in(jax.random.key(3), i))[0])
                           for i in (0, 4, 8)])[:10]
    assert out["full_bpd"] == pytest.approx(float(nats.mean()) / (28 * 28 * math.log(2)), rel=1e-5)

    spread = math.hypot(out["full_bpd_sem"], out["sampled_bpd_sem"])
    assert abs(out["full_bpd"] - out["sampled_bpd"]) < 4 * spread  # two estimators of one bound

