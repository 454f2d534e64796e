"""Test-wide setup, run before JAX starts: 8 fake CPU devices, and a private TFDS data dir.

The 8 devices exist for the sharding tests; other tests build 1-device meshes (`one_device_mesh`) so
they do not pay for 8 replicas on a 2-core machine.
"""

import os
import shutil
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
_DATA_DIR = tempfile.mkdtemp(prefix="jaxgen-test-data-")
os.environ["JAXGEN_DATA_DIR"] = _DATA_DIR
_CACHE_DIR = tempfile.mkdtemp(prefix="jaxgen-test-cache-")  # feature networks, reference statistics
os.environ["JAXGEN_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("JAXGEN_INCEPTION_WEIGHTS", None)  # the metric tests choose their feature network
os.environ.pop("JAXGEN_UPSAMPLE_IMPL", None)  # the backend chooses the lowering (tests that force it say so)
# One compilation cache for the session, shared by pytest-xdist workers and CLI subprocesses (they inherit the
# environment): tests that build the same tiny programs compile them once.
_XLA_CACHE_OWNED = "JAX_COMPILATION_CACHE_DIR" not in os.environ
_XLA_CACHE = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="jaxgen-test-xla-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")

import jax
import pytest


@pytest.fixture(scope="session")
def data_dir():
    """The session's TFDS data dir; bundled datasets are prepared into it on first use."""
    return _DATA_DIR


@pytest.fixture(scope="session")
def one_device_mesh():
    from jaxgen.engine import sharding

    return sharding.make_mesh(jax.devices()[:1])


@pytest.fixture(scope="session")
def eight_device_mesh():
    from jaxgen.engine import sharding

    assert jax.device_count() == 8, "tests/conftest.py must set XLA_FLAGS before JAX starts"
    return sharding.make_mesh(jax.devices())


@pytest.fixture(scope="session")
def tiny_lenet(tmp_path_factory, data_dir, one_device_mesh):
    """A workdir holding a tiny LeNet trained for 4 steps on mnist5k: feature network `lenet:<workdir>`."""
    from jaxgen import config as config_lib
    from jaxgen.trainers import classifier

    workdir = str(tmp_path_factory.mktemp("tiny_lenet"))
    classifier.train_and_evaluate(config_lib.load("configs/lenet_mnist.py:tiny"), workdir, mesh=one_device_mesh)
    return workdir


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_DATA_DIR, ignore_errors=True)
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
    if _XLA_CACHE_OWNED:
        shutil.rmtree(_XLA_CACHE, ignore_errors=True)
