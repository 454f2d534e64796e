"""Test-wide setup, run before JAX starts: 8 fake CPU devices, LLVM level 1, and a private TFDS data dir.

The 8 devices exist for the sharding tests; other tests build 1-device meshes (`one_device_mesh`) so
they do not pay for 8 replicas on a 2-core machine.
"""

import os
import shutil
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
# The suite's programs are tiny and run a few steps: XLA:CPU's compile time dominates it. LLVM level 1 instead of 3
# makes the same floating-point choices (bit-identical results; see `jaxgen.engine.compilation.once_options`; the
# fingerprint tests would catch a change) and compiles 4x faster (an InGAN shape test: 35 s -> 8 s). Level 0 is not
# used: it rounds differently.
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=1"
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

# The emoji tests prepare these codepoints (with the first few of every category and split), not all ~3,800.
EMOJI_SUBSET = ("1f600", "1f44d-1f3fd", "1f1e9-1f1ea", "1f468-200d-1f373", "23-20e3", "2764")
PER_CATEGORY_AND_SPLIT = 3


@pytest.fixture(scope="session")
def data_dir():
    """The session's TFDS data dir; bundled datasets are prepared into it on first use."""
    return _DATA_DIR


@pytest.fixture(scope="session")
def mnist5k_prepared():
    """The bundled digits prepared first, so that TFDS's preparation progress is not in a test's captured stderr."""
    from jaxgen import data

    data.prepare("mnist5k")


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
def emoji_subset():
    """The real emoji table cut to `EMOJI_SUBSET` plus `PER_CATEGORY_AND_SPLIT` codepoints per category and split."""
    import collections

    from jaxgen.data.builders import emoji

    table, taken, subset = emoji.emoji_table(), collections.Counter(), []
    for entry in table:
        group = (entry.label, emoji.split_of(entry.sequence))
        if entry.sequence in EMOJI_SUBSET or taken[group] < PER_CATEGORY_AND_SPLIT:
            taken[group] += 1
            subset.append(entry)
    return subset


@pytest.fixture(scope="session")
def emoji_data_dir(tmp_path_factory, emoji_subset):
    """A data dir with the emoji datasets prepared from `emoji_subset` (real images) and `photos` (all 11)."""
    from jaxgen import data
    from jaxgen.data.builders import emoji

    directory = str(tmp_path_factory.mktemp("emoji_data"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emoji, "emoji_table", lambda: emoji_subset)
        for name in ("twemoji", "openmoji", "emoji_pairs", "edges2emoji", "photos"):
            data.prepare(name, directory)
    return directory


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
