"""jaxgen.config: loading, overrides, validation, differences, retired keys."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError

DCGAN = "configs/dcgan_mnist.py"


def test_load_variant_and_typed_overrides():
    config = config_lib.load(f"{DCGAN}:tiny", ["batch_size=32", "optimizer.g.learning_rate=1", "fuse_phases=false"])
    assert config.batch_size == 32
    assert config.optimizer.g.learning_rate == 1.0 and isinstance(config.optimizer.g.learning_rate, float)
    assert config.fuse_phases is False
    assert config.num_steps == 4  # from the tiny variant


def test_nullable_key_accepts_value():
    config = config_lib.load(DCGAN, ["data.image_size=32"])
    assert config.data.image_size == 32


@pytest.mark.parametrize("override, fragment", [
    ("batch_sise=3", "unknown config key 'batch_sise': did you mean 'batch_size'"),
    ("model.widht=3", "unknown config key 'model.widht'"),
    ("batch_size=abc", "config key 'batch_size' expects int"),
    ("batch_size=0", "config key 'batch_size' must be positive"),
    ("fuse_phases=maybe", "expects a bool"),
    ("model=3", "is a group"),
    ("batch_size", "not of the form key=value"),
])
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        config_lib.load(DCGAN, [override])


def test_missing_file_and_unknown_variant(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config_lib.load(str(tmp_path / "nope.py"))
    with pytest.raises(ConfigError, match="unknown variant 'huge'"):
        config_lib.load(f"{DCGAN}:huge")
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    with pytest.raises(ConfigError, match="no get_config"):
        config_lib.load(str(bad))


def test_every_bundled_config_loads_by_name_and_alone(tmp_path, monkeypatch):
    """Each bundled config loads by name (with and without `.py`, from any directory) and, copied alone into an
    empty directory, to the same config: no bundled config imports a file beside it."""
    configs = config_lib.bundled()
    assert "dcgan_mnist" in configs and len(configs) >= 20
    monkeypatch.chdir(tmp_path)
    for name, path in configs.items():
        config = config_lib.load(name)
        assert config_lib.load(f"{name}.py").to_dict() == config.to_dict()
        assert config_lib.load(f"{name}:tiny").to_dict() != config.to_dict(), name
        alone = tmp_path / name
        alone.mkdir()
        (alone / "copied.py").write_text(Path(path).read_text())
        assert config_lib.load(str(alone / "copied.py")).to_dict() == config.to_dict(), name
        assert config_lib.summary(path), f"{name} has no docstring"


def test_loading_every_bundled_config_imports_no_jax(tmp_path):
    """Config files build on `jaxgen.defaults`: loading each bundled config and its `:tiny` variant (in a fresh
    interpreter) imports none of JAX, Flax, Optax, TFDS or grain, so a bad key or value fails in well under a
    second (the CLI checks it before importing the library: tests/test_cli.py)."""
    script = ("import sys\nfrom jaxgen import config\nfor name in config.bundled():\n"
              "    config.load(name)\n    config.load(name + ':tiny')\n"
              "print(','.join(m for m in ('jax', 'flax', 'optax', 'tensorflow_datasets', 'grain') if m in sys.modules)"
              " or 'none')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, text=True, capture_output=True,
                          timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout.split() == ["none"], (proc.stdout, proc.stderr)


def test_a_file_wins_over_a_bundled_name_and_unknown_names_list_close_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dcgan_mnist.py").write_text(
        "from jaxgen.defaults import gan\n\ndef get_config(arg=None):\n"
        "    config = gan.zoo_config('ns', arg)\n    config.seed = 7\n    return config\n")
    assert config_lib.load("dcgan_mnist.py:tiny").seed == 7
    assert config_lib.load("dcgan_mnist:tiny").seed == 0
    with pytest.raises(ConfigError, match="neither a file nor a bundled config; did you mean dcgan_mnist"):
        config_lib.load("dcgan_mnst")
    with pytest.raises(ConfigError, match="config file not found: 'configs/dcgan_mnist.py'; the bundled config of "
                                          "that name is --config dcgan_mnist"):
        config_lib.load("configs/dcgan_mnist.py")


def test_json_round_trip_and_differences():
    config = config_lib.load(f"{DCGAN}:tiny")
    again = config_lib.from_json(config_lib.to_json(config))
    assert config_lib.differences(config.to_dict(), again.to_dict()) == []
    changed = config_lib.load(f"{DCGAN}:tiny", ["model.width=9"])
    assert config_lib.differences(config.to_dict(), changed.to_dict()) == ["model.width: 8 -> 9"]


def test_retired_keys_are_dropped_from_saved_configs_and_refused_in_new_ones(tmp_path):
    """Workdirs saved when DCGAN's lowering was a config key still load; setting one now says why it is gone."""
    config = config_lib.load(f"{DCGAN}:tiny")
    saved = config.to_dict()
    saved["model"].update(use_fast_upsample=False, upsample_impl="lax", use_fast_downsample=True)
    old = config_lib.from_json(json.dumps(saved))
    assert config_lib.differences(config.to_dict(), old.to_dict()) == []
    assert "upsample_impl" in saved["model"]  # upgrade copies
    assert config_lib.differences(config_lib.upgrade(saved), config.to_dict()) == []
    for key in config_lib.RETIRED_KEYS:
        with pytest.raises(ConfigError, match=f"config key '{key}' was removed: .*chosen by the backend"):
            config_lib.load(DCGAN, [f"{key}=1"])
    path = tmp_path / "old_style.py"
    configs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
    path.write_text(f"import sys\nsys.path.insert(0, {configs!r})\nimport dcgan_mnist\n\n\ndef get_config(arg=None):\n"
                    "    config = dcgan_mnist.get_config(arg)\n    config.model.upsample_impl = 'lax'\n"
                    "    return config\n")
    with pytest.raises(ConfigError, match="'model.upsample_impl' was removed.*delete it from the config"):
        config_lib.load(str(path))


def test_adversarial_configs_from_before_games_upgrade_to_the_same_run():
    """A GAN workdir's config.json written before `game`, `update_mode` and `loss.weights` existed reads as the
    config that trains it the same way (its AC-GAN weight kept), so it samples and resumes without a change."""
    config = config_lib.load("configs/cdcgan_mnist.py:tiny", ["loss.weights.aux=0.5"])
    saved = config.to_dict()
    del saved["game"], saved["update_mode"], saved["loss"]["weights"]
    saved["loss"]["aux_weight"] = 0.5
    assert config_lib.differences(config_lib.upgrade(saved), config.to_dict()) == []
    assert config_lib.differences(config_lib.from_json(json.dumps(saved)).to_dict(), config.to_dict()) == []


@pytest.mark.parametrize("spec", ["configs/dcgan_mnist.py:tiny", "configs/vae_mnist.py:tiny",
                                  "configs/lenet_mnist.py:tiny", "sweep"])
def test_configs_from_before_the_accelerator_options_resume(spec, tmp_path):
    """A workdir's config.json without `dtype`, `remat`, `accumulate` and the optimizers' `clip_norm` and `schedule`
    reads as today's config with their defaults (float32, no remat, one batch per update, no clipping, a constant
    rate: how it trained), so resuming it is no config change."""
    from jaxgen.engine import workdir as workdir_lib
    from jaxgen.trainers import sweep

    config = (sweep.sweep_config(config_lib.load("configs/gan_mnist.py:tiny"), [("lr", [1e-4, 2e-4])])
              if spec == "sweep" else config_lib.load(spec))
    saved = json.loads(config_lib.to_json(config))
    for key in config_lib.NETWORK_DEFAULTS:
        saved.pop(key, None)
    groups = [saved["optimizer"]] if "name" in saved["optimizer"] else list(saved["optimizer"].values())
    for group in groups:
        del group["clip_norm"], group["schedule"]
    assert config_lib.differences(config_lib.upgrade(saved), config.to_dict()) == []
    assert config_lib.differences(config_lib.from_json(json.dumps(saved)).to_dict(), config.to_dict()) == []
    (tmp_path / "config.json").write_text(json.dumps(saved))
    workdir_lib.prepare(str(tmp_path), config, {"versions": {}})  # a changed config would raise ConfigError
