"""The vq game (jaxgen.games.vq) on configs/vqvae_mnist.py:tiny (28 x 28 digits -> 7 x 7 codes of 8; the autoencoder
on steps 0-1, the Gated PixelCNN prior on steps 2-3; batch 8).

The CLI end to end (samples, `jaxgen.load(...).sample`), the autoencoder frozen and the prior untouched outside its
stage, exact resume across the stage boundary, the code prior's causality, the decoder likelihood against a numpy
logistic, the evaluation's names, the bound's terms and the reconstruction FID by hand, one-line config errors.
"""

import json
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxgen
from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.engine import sharding
from jaxgen.games import vq
from jaxgen.metrics import features
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/vqvae_mnist.py:tiny"


def _config(num_steps=4):
    config = config_lib.load(TINY)
    config.num_steps = num_steps
    return config


def _game(config):
    return vq.build(config, pipeline.output_info(config.data), None)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_device_mesh):
    """The tiny run trained by the CLI (on one device, sharing the module's compiled task) and its final state."""
    workdir = str(tmp_path_factory.mktemp("vqvae"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sharding, "make_mesh", lambda *a, **k: one_device_mesh)
        assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0
        state = jax.device_get(runs.restored(workdir, 4, one_device_mesh, patch)[2])
    return workdir, state


def test_cli_train_writes_samples_and_load_samples(uninterrupted, monkeypatch, one_device_mesh):
    monkeypatch.setattr(sharding, "make_mesh", lambda *a, **k: one_device_mesh)
    workdir = uninterrupted[0]
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))
    images = jaxgen.load(workdir).sample(3, seed=1)
    assert images.shape == (3, 28, 28, 1) and np.all(np.abs(images) <= 1)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert {"g_rec", "g_commitment", "g_perplexity", "g_usage"} <= set(rows[0]) and "g_prior" in rows[-1]


def test_autoencoder_frozen_in_the_prior_stage_and_resume_across_the_boundary(uninterrupted, tmp_path,
                                                                              one_device_mesh):
    final = uninterrupted[1]
    boundary, resumed = runs.stop_and_resume(_config(), 2, tmp_path, one_device_mesh)
    runs.assert_same(resumed, final)
    assert int(boundary["stage"]) == 0 and int(final["stage"]) == 1
    runs.assert_same(boundary["params"]["autoencoder"], final["params"]["autoencoder"])  # frozen: bit for bit
    runs.assert_same(boundary["model_state"]["autoencoder"], final["model_state"]["autoencoder"])  # codebook too
    game = _game(_config())
    init_params, _ = jax.device_get(game.init(jax.random.fold_in(jax.random.key(0), 0)))
    prior_moved = any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(boundary["params"]["prior"]),
                                                                jax.tree.leaves(final["params"]["prior"])))
    assert prior_moved and init_params["prior"].keys() == boundary["params"]["prior"].keys()


def test_code_prior_is_causal_over_the_grid():
    game = _game(_config())
    params = game.init(jax.random.key(0))[0]["prior"]
    codes = np.random.default_rng(0).integers(0, game.num_codes, (1, *game.grid))
    logits = np.asarray(game.prior_logits(params, jnp.asarray(codes), None))
    h, w = game.grid
    for t in (0, 9, 24, h * w - 1):  # change every code from position t on: the logits up to t stay
        changed = codes.copy().reshape(1, -1)
        changed[:, t:] = (changed[:, t:] + 1) % game.num_codes
        other = np.asarray(game.prior_logits(params, jnp.asarray(changed.reshape(codes.shape)), None))
        flat_a, flat_b = logits.reshape(h * w, -1), other.reshape(h * w, -1)
        np.testing.assert_array_equal(flat_a[: t + 1], flat_b[: t + 1])
        if t < h * w - 1:
            assert not np.allclose(flat_a[t + 1:], flat_b[t + 1:])


def test_decoder_likelihood_and_bound_terms(uninterrupted, tiny_lenet):
    game, state = _game(_config()), uninterrupted[1]
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (2, 28, 28, 1)) / 127.5 - 1  # on the 8-bit grid, both end bins included
    x_hat = rng.uniform(-1, 1, images.shape)
    s = np.exp(-1.5)
    sigma = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    upper = np.where(images > 0.999, 1.0, sigma((images + 1 / 255 - x_hat) / s))
    lower = np.where(images < -0.999, 0.0, sigma((images - 1 / 255 - x_hat) / s))
    expected = -np.log(upper - lower).reshape(2, -1).sum(1)
    got = game.decoder_nll(jnp.float32(-1.5), jnp.asarray(x_hat, jnp.float32), jnp.asarray(images, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    m = jax.device_get(game.measures(state["params"], state["model_state"], jnp.asarray(images, jnp.float32), None))
    logp = jax.nn.log_softmax(game.prior_logits(state["params"]["prior"], jnp.asarray(m["codes"]), None))
    by_hand = -np.take_along_axis(np.asarray(logp)[..., 0, :], m["codes"][..., None], -1).reshape(2, -1).sum(1)
    np.testing.assert_allclose(m["prior"], by_hand, rtol=1e-5)
    config = _config()
    config.eval.features = f"lenet:{tiny_lenet}"
    results = game.evaluator(config, None)(state, jax.random.key(0))
    assert set(results) == {"rec_mse_test", "rec_psnr_test", "code_perplexity_test", "code_usage_test",
                            "bpd_bound_test", "rfid1k_test_lenet", "rkid1k_test_lenet", "rkid1k_test_lenet_std"}
    assert 0 < results["bpd_bound_test"] < 16 and 1 <= results["code_perplexity_test"] <= game.num_codes
    # rFID: the split's reconstructions against the split itself, by hand (scipy's matrix square root)
    test = pipeline.read_split(config.data, "test")["image"]
    recon = np.concatenate([jax.device_get(game.measures(state["params"], state["model_state"],
                                                         jnp.asarray(test[i:i + 500]), None))["x_hat"]
                            for i in range(0, len(test), 500)])
    net = features.get(f"lenet:{tiny_lenet}", "mnist5k")
    real, fake = (np.asarray(net.extract(x, "test")["pool"], np.float64) for x in (test, recon))
    with warnings.catch_warnings():  # the 4-step LeNet has dead units: singular covariances, a fine square root
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(np.cov(real, rowvar=False) @ np.cov(fake, rowvar=False)).real
    fid = (np.sum(np.square(real.mean(0) - fake.mean(0))) + np.trace(np.cov(real, rowvar=False))
           + np.trace(np.cov(fake, rowvar=False)) - 2 * np.trace(covmean))
    np.testing.assert_allclose(results["rfid1k_test_lenet"], fid, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("override, fragment", [
    ("model.prior=pixelrnn", "'model.prior'"),
    ("model.rec_loss=l2", "'model.rec_loss'"),
    ("model.prior_from=0", "'model.prior_from'"),
    ("model.disc_start=7", "'model.disc_start'"),
    ("model.restart_after=-1", "'model.restart_after'"),
    ("loss.weights.gradient=1.0", "loss.weights.gradient"),
    ("eval.metrics=rec_mse,rfd", "'eval.metrics': unknown metric(s) 'rfd'"),
])
def test_bad_config_values_are_one_line_errors(override, fragment, tmp_path, capsys, mnist5k_prepared):
    assert cli.main(["train", "--config", TINY, "--workdir", str(tmp_path / "w"), f"--config.{override}"]) == \
        cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxgen: error: ") and "\n" not in err and fragment in err, err
