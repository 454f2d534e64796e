"""The editing tests' generators: a tiny StyleGAN trained once per session (configs/stylegan_emoji.py:tiny, 8 steps
growing 4 -> 8 px on the test emoji, once for all pytest-xdist workers; its workdir for the CLI) and an untrained
DCGAN (dcgan_mnist:tiny's networks at their initialisation, no data: the editing invariants hold for any weights)."""

import fcntl
import os
import shutil

import jax
import pytest

from jaxgen import api
from jaxgen import config as config_lib
from jaxgen.edit.generator import Generator
from jaxgen.trainers import gan


@pytest.fixture(scope="session")
def stylegan_run(tmp_path_factory, emoji_data_dir, one_device_mesh):
    """The workdir, trained by the first pytest-xdist worker that asks (under a file lock), read by the others."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # the workers' common folder
    workdir, done = root / "stylegan_tiny", root / "stylegan_tiny.done"
    with open(root / "stylegan_tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            config = config_lib.load("configs/stylegan_emoji.py:tiny", [f"data.data_dir={emoji_data_dir}",
                                                                        "sample_every=1000"])
            gan.train_and_evaluate(config, str(workdir), mesh=one_device_mesh)
            done.touch()
    return str(workdir)


@pytest.fixture(scope="session")
def stylegan_model(stylegan_run):
    return api.load(stylegan_run)


@pytest.fixture(scope="session")
def stylegan(stylegan_model):
    return Generator(stylegan_model)


@pytest.fixture(scope="session")
def dcgan(one_device_mesh):
    config = config_lib.load("configs/dcgan_mnist.py:tiny")
    task = gan.create_task(config, {"image_shape": (28, 28, 1)}, one_device_mesh)
    return Generator(api.Model(config, task, task.init(jax.random.key(0)), 0))
