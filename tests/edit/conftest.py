"""The editing tests' generators: a tiny StyleGAN trained once per session (configs/stylegan_emoji.py:tiny, 8 steps
growing 4 -> 8 px on the test emoji; its workdir for the CLI) and an untrained DCGAN (dcgan_mnist:tiny's networks at
their initialisation, no data: the editing invariants hold for any weights)."""

import jax
import pytest

from jaxgen import api
from jaxgen import config as config_lib
from jaxgen.edit.generator import Generator
from jaxgen.trainers import gan


@pytest.fixture(scope="session")
def stylegan_run(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("stylegan_tiny"))
    config = config_lib.load("configs/stylegan_emoji.py:tiny", [f"data.data_dir={emoji_data_dir}",
                                                                "sample_every=1000"])
    gan.train_and_evaluate(config, workdir, mesh=one_device_mesh)
    return workdir


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
