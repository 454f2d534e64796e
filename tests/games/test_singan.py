"""SinGAN: the pyramid's sizes (jaxgen.defaults.singan) by hand, and the singan game (jaxgen.games.singan) on
configs/singan_photo.py:tiny (coffee at 16 x 24 px: scale 0 at 14 x 21 for steps 0-1, scale 1 at 16 x 24 for steps
2-3; width 4, 3 layers, batch 1).

The noise amplitude against its definition (the reconstruction composed by hand), scale 1 starting from scale 0's
weights; through the trainer, scale 0 frozen bit for bit in stage 1; a run stopped mid-scale and at the scale switch
resuming bit for bit; samples of other sizes, super-resolution and injection shapes (jaxgen.edit.singan);
one-line errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.data import pipeline, single_image
from jaxgen.defaults import singan as pyramid
from jaxgen.edit import singan as apps
from jaxgen.errors import ConfigError
from jaxgen.games import singan as game_lib
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/singan_photo.py:tiny"


def _config(*overrides):
    return config_lib.load(TINY, ["checkpoint_every=1", "sample_every=1000", *overrides])


def _game(config):
    return game_lib.build(config, pipeline.output_info(config.data), None)


def test_pyramid_sizes_by_hand():
    # 48 x 64, min 25: N = ceil(log(25/48) / log(0.75)) = ceil(2.27) = 3, r = (25/48)^(1/3) = 0.8047;
    # r^3 = 0.5208 -> (25, 33.3), r^2 = 0.6474 -> (31.1, 41.4), r = 0.8047 -> (38.6, 51.5), rounded up
    assert pyramid.sizes((48, 64), 25, 0.75) == [(25, 34), (32, 42), (39, 52), (48, 64)]
    assert pyramid.sizes((25, 40), 25, 0.75) == [(25, 40)]  # already the coarsest size: one scale
    # 33 x 33: N = ceil(log(25/33) / log(0.75)) = ceil(0.965) = 1, r = 25/33: (25, 25), (33, 33)
    assert pyramid.sizes((33, 33), 25, 0.75) == [(25, 25), (33, 33)]
    assert pyramid.sizes((250, 250), 25, 0.75)[:3] == [(25, 25), (33, 33), (42, 42)]  # r = 0.1^(1/8) = 0.7499
    cfg = config_lib.load("configs/singan_photo.py").model
    assert [pyramid.width(n, cfg) for n in range(10)] == [32] * 4 + [64] * 4 + [128] * 2
    for name in ("coffee", "chelsea", "hubble_deep_field"):  # the config's table of the bundled images' shapes
        assert pyramid.BUNDLED_SHAPES[name] == single_image.read(name).shape[:2]
        assert pyramid.image_shape(name, 64) == single_image.fit(single_image.read(name).shape[:2], 64)
    assert set(pyramid.BUNDLED_SHAPES) == set(single_image.names())
    game = _game(_config())
    assert game.sizes == [(14, 21), (16, 24)] and game.stage_starts == (0, 2)  # coffee 400 x 600 -> 16 x 24
    assert game.g_players == ("g0", "g1") and game.d_players == ("d0", "d1")
    assert [r.shape for r in game.reals] == [(1, 14, 21, 3), (1, 16, 24, 3)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("singan"))
    return workdir, runs.train(_config(), workdir, one_device_mesh)


def test_begin_stage_copies_scale_0_and_measures_the_noise_amplitude(uninterrupted, one_device_mesh, monkeypatch):
    workdir, final = uninterrupted
    config, task, boundary, init = runs.restored(workdir, 2, one_device_mesh, monkeypatch)  # after stage 0
    game = _game(config)
    started = jax.device_get(jax.jit(game.begin_stage, static_argnums=1)(boundary, 1))
    runs.assert_same(started["params"]["g1"], boundary["params"]["g0"])  # same width: scale 1 starts from scale 0
    runs.assert_same(started["params"]["d1"], boundary["params"]["d0"])
    assert all(not np.any(leaf) for leaf in jax.tree.leaves(started["opt"]))  # fresh optimizer states
    g0 = {"params": boundary["params"]["g0"], **boundary["model_state"]["g0"]}
    z_rec = boundary["model_state"]["g0"]["singan"]["z_rec"]
    assert z_rec.shape == (1, 14, 21, 1)
    rec0 = np.asarray(game.modules["g0"].apply(g0, z_rec, jnp.zeros((1, 14, 21, 3)), train=False))
    low = np.asarray(jax.image.resize(rec0, (1, 16, 24, 3), "bicubic"))
    sigma = 0.1 * np.sqrt(np.mean((game.reals[1] - low) ** 2))  # sigma_1 = 0.1 RMSE(real_1, up(rec_0))
    np.testing.assert_allclose(started["model_state"]["g1"]["singan"]["amp"], sigma, rtol=1e-5)
    assert float(boundary["model_state"]["g0"]["singan"]["amp"]) == 1.0  # sigma_0 = 1
    runs.assert_same(final["model_state"]["g1"]["singan"], started["model_state"]["g1"]["singan"])


def test_lower_scale_frozen_bit_for_bit(uninterrupted, one_device_mesh, monkeypatch):
    workdir, final = uninterrupted
    config, task, boundary, init = runs.restored(workdir, 2, one_device_mesh, monkeypatch)
    assert int(boundary["stage"]) == 0 and int(final["stage"]) == 1
    for name in ("g1", "d1"):  # not trained in stage 0
        runs.assert_same(boundary["params"][name], init["params"][name])
    for name in ("g0", "d0"):  # trained in stage 0, frozen in stage 1 (parameters and BatchNorm statistics)
        assert not np.array_equal(boundary["params"][name]["body"]["tail"]["kernel"],
                                  init["params"][name]["body"]["tail"]["kernel"])
        runs.assert_same(final["params"][name], boundary["params"][name])
        runs.assert_same(final["model_state"][name], boundary["model_state"][name])
    assert not np.array_equal(final["params"]["g1"]["body"]["tail"]["kernel"],
                              boundary["params"]["g0"]["body"]["tail"]["kernel"])  # scale 1 learnt from g0's copy


@pytest.mark.parametrize("stop", [2, 3], ids=["at_switch", "mid_scale"])
def test_stop_and_resume_is_exact(uninterrupted, tmp_path, one_device_mesh, stop):
    first, resumed = runs.stop_and_resume(_config(), stop, tmp_path, one_device_mesh)
    assert int(first["stage"]) == (0 if stop == 2 else 1)
    runs.assert_same(resumed, uninterrupted[1])  # params, BatchNorm statistics, sigma, optimizers, step, stage


def test_samples_of_other_sizes_and_applications(uninterrupted, one_device_mesh, monkeypatch):
    monkeypatch.setattr(apps.jax, "device_get", jax.device_get)
    from jaxgen.engine import workdir as workdir_lib

    monkeypatch.setattr(workdir_lib.sharding, "make_mesh", lambda: one_device_mesh)
    model = apps.load(uninterrupted[0])
    assert model.stage == 1 and model.step == 4
    assert game_lib.scaled_sizes(model.game.sizes, (20, 48)) == [(18, 42), (20, 48)]  # 14 x 20/16, 21 x 2
    wide = apps.samples(model, 2, seed=1, size=(20, 48))
    assert wide.shape == (2, 20, 48, 3) and np.abs(wide).max() <= 1 and wide.std() > 0
    image = model.game.reals[-1][0]
    # r = 14/16: x1.1 in k = ceil(log 1.1 / log(16/14)) = 1 step, x2 in ceil(5.19) = 6 (a program per size)
    assert apps.super_resolve(model, image, factor=1.1).shape == (1, 18, 26, 3)
    mask = np.zeros((16, 24, 1), np.float32)
    mask[4:8, 4:8] = 1
    injected = apps.inject(model, image, 1, num=2, mask=mask)
    assert injected.shape == (2, 16, 24, 3)
    np.testing.assert_array_equal(injected[:, mask[..., 0] == 0], np.broadcast_to(image[mask[..., 0] == 0],
                                                                                    (2, 16 * 24 - 16, 3)))


def test_bad_input_is_one_line_errors(tmp_path, capsys):
    for overrides, match in ((["data.image=/no/such/image.png"], "data.image='/no/such/image.png' is neither"),
                             (["model.min_size=30"], "smaller than the pyramid's coarsest scale .*model.min_size"),
                             (["model.min_size=6"], "'model.min_size' is 6: D's patches are 7 px"),
                             (["data.max_size=10"], "image is 7 x 10 px, smaller than the pyramid's coarsest"),
                             (["model.scale_steps=0"], "'model.scale_steps'"),
                             (["model.scale_steps=1000"], r"'num_steps' is .* scales x model.scale_steps=1000: set "
                                                          r"--config.num_steps=")):
        with pytest.raises(ConfigError, match=match) as error:
            _game(_config(*overrides))
        assert "\n" not in str(error.value)
    assert cli.main(["singan", "paint", "--workdir", str(tmp_path), "--image", "/no/such.png", "--out",
                     str(tmp_path / "x.png")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "--image '/no/such.png' is neither a file nor a bundled image" in errors[0]
