"""The emoji feature network `emojinet`: trained for real (4 steps, 16x16) on first use, chosen by name or by
`auto` for the emoji datasets, and named in the metrics it computes."""

import jax
import ml_collections
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.errors import MetricError
from jaxgen.metrics import evaluate, features
from jaxgen.trainers import classifier


def _data(name, data_dir):
    return ml_collections.ConfigDict(dict(name=name, split="train", data_dir=data_dir, image_size=16, pad=0))


@pytest.fixture(scope="module")
def first_use(tmp_path_factory, emoji_data_dir):
    """`features.get("emojinet", "twemoji")` in an empty cache: trains `classifier_emoji:tiny` (on the emoji
    subset) once; then `auto` on openmoji finds it. Yields (cache, [nets], training calls, stderr lines)."""
    cache = tmp_path_factory.mktemp("emoji_cache")
    tiny = config_lib.load("classifier_emoji:tiny", [f"data.data_dir={emoji_data_dir}"])
    calls, train = [], classifier.train_and_evaluate
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAXGEN_CACHE_DIR", str(cache))
        patch.setattr(features.DomainNet, "config", lambda self: tiny)
        patch.setattr(classifier, "train_and_evaluate", lambda *a, **k: calls.append(a[1]) or train(*a, **k))
        patch.setattr(features, "inception_available", lambda path=None: False)
        nets = [features.get("emojinet", "twemoji"), features.get("auto", "openmoji")]
        yield cache, nets, calls


def test_first_use_trains_once_into_the_cache(first_use):
    cache, nets, calls = first_use
    workdir = str(cache / "features" / "emojinet")
    assert calls == [workdir]  # the second call (auto, openmoji) reused it
    assert [n.name for n in nets] == ["emojinet", "emojinet"] and nets[0].fingerprint == nets[1].fingerprint
    assert nets[0].input_shape == (16, 16, 3)
    rows = [line for line in open(f"{workdir}/metrics.jsonl") if "test_a_balanced_accuracy" in line]
    assert len(rows) == 2  # steps 2 and 4: accuracy per vendor (a Twemoji, b OpenMoji) and balanced


def test_features_by_name_of_the_workdir(first_use):
    workdir = str(first_use[0] / "features" / "emojinet")
    net = features.get(f"emojinet:{workdir}", None)
    out = net.extract(np.zeros((3, 16, 16, 3), np.float32))
    assert out["pool"].shape == (3, 8) and out["logits"].shape == (3, 9)
    with pytest.raises(MetricError, match=r"takes \(16, 16, 3\)"):
        net.extract(np.zeros((3, 64, 64, 3), np.float32))
    with pytest.raises(MetricError, match=r"takes \(16, 16, 3\)"):
        net.extract(np.zeros((3, 8, 8, 1), np.float32))
    small = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 3)).astype(np.float32)
    upsampled = np.asarray(jax.image.resize(small, (3, 16, 16, 3), "bilinear"))  # a 8 px run on the 16 px net
    np.testing.assert_allclose(net.extract(small)["pool"], net.extract(upsampled)["pool"], rtol=1e-5, atol=1e-6)
    with pytest.raises(MetricError, match=f"holds a emojinet classifier: name it emojinet:{workdir}"):
        features.get(f"lenet:{workdir}", None)


def test_metric_names_carry_the_protocol(first_use, emoji_data_dir):
    net = first_use[1][0]
    samples = np.random.default_rng(0).uniform(-1, 1, (20, 16, 16, 3)).astype(np.float32)
    protocol = evaluate.Protocol(metrics=("fid", "kid"), kid_subset_size=10, kid_subsets=4)
    results = evaluate.evaluate(samples, _data("twemoji", emoji_data_dir), protocol, net=net)
    assert {"fid20_test_emojinet", "kid20_test_emojinet"} <= set(results)


def test_unknown_feature_name_is_a_one_line_error_listing_the_choices():
    with pytest.raises(MetricError) as error:
        features.get("emojinett", "twemoji")
    assert str(error.value) == ("unknown feature network 'emojinett': choose from auto, lenet, emojinet, inception, vgg "
                                "(or <name>:<workdir>, inception:<weights file>)")
    with pytest.raises(MetricError, match="jaxgen trains its own only for emojinet for twemoji, openmoji, emoji_pairs"):
        features.get("emojinet", "mnist5k")
