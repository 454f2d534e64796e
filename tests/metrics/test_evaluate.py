"""The evaluation protocol end to end: feature networks, the reference cache, names, files, clear errors."""

import json
import os

import ml_collections
import numpy as np
import pytest

from jaxgen import cli
from jaxgen.cache import cache_dir
from jaxgen.errors import MetricError
from jaxgen.metrics import evaluate, features, frechet, kid, names, parzen, reference


def _data(name="mnist5k"):
    return ml_collections.ConfigDict(dict(name=name, split="train", data_dir=None, image_size=None, pad=0))


@pytest.fixture(scope="module")
def lenet(tiny_lenet):
    return features.get(f"lenet:{tiny_lenet}", "mnist5k")


def test_names_carry_the_protocol():
    assert names.metric_name("fid", 5000, "test", "lenet") == "fid5k_test_lenet"
    assert names.metric_name("is", 500, None, "inception") == "is500_inception"
    assert names.metric_name("parzen", 10000, "test[:50%]", "pixels") == "parzen10k_test_pixels"
    assert names.higher_is_better("is5k_lenet") and names.higher_is_better("parzen10k_test_pixels")
    assert names.higher_is_better("test_accuracy") and names.higher_is_better("recall5k_test_lenet")
    assert not names.higher_is_better("fid5k_test_lenet") and not names.higher_is_better("kid50k_train_inception")


def test_lenet_features_are_the_penultimate_layer(lenet, tiny_lenet):
    from jaxgen.engine import workdir as workdir_lib
    from jaxgen.trainers import classifier

    config, task, state, _ = workdir_lib.restore(tiny_lenet)
    images = reference.real_images(_data(), "test", 7)
    out = lenet.extract(images)  # one padded batch of 500
    direct = classifier.network(config, 10).apply({"params": state["params"]}, images)
    np.testing.assert_allclose(out["pool"], direct["pool"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["logits"], direct["logits"], rtol=1e-5, atol=1e-6)
    assert out["pool"].shape == (7, 16) and lenet.fingerprint == features.fingerprint(state["params"])


def test_reference_features_are_cached_under_a_key_that_names_the_protocol(lenet, monkeypatch):
    first = reference.real_features(_data(), "test", lenet, 300)
    key = reference.cache_key(_data(), "test", lenet, 300)
    assert key == f"mnist5k_test_lenet-{lenet.fingerprint}_sizeorig-pad0_300"
    assert os.path.exists(cache_dir("reference_stats", key + ".npz"))
    monkeypatch.setattr(lenet, "apply", None)  # a second call must not run the network
    again = reference.real_features(_data(), "test", lenet, 300)
    np.testing.assert_array_equal(first["pool"], again["pool"])


def test_evaluate_matches_the_metric_functions(lenet, tiny_lenet, tmp_path):
    samples = reference.real_images(_data(), "train", 400)
    protocol = evaluate.Protocol(metrics=evaluate.METRICS, features=f"lenet:{tiny_lenet}", kid_subset_size=200,
                                 kid_subsets=10, parzen_valid_count=100, parzen_sigmas=(0.2, 0.5))
    results = evaluate.evaluate(samples, _data(), protocol, str(tmp_path), tag="t")
    fake = lenet.extract(samples)["pool"]
    real = lenet.extract(reference.real_images(_data(), "test"))["pool"]
    assert results["fid400_test_lenet"] == pytest.approx(frechet.fid_from_features(real, fake), rel=1e-6)
    mean, std = kid.kid(real, fake, num_subsets=10, subset_size=200)
    assert (results["kid400_test_lenet"], results["kid400_test_lenet_std"]) == pytest.approx((mean, std), rel=1e-6)
    flat = lambda x: (x.reshape(len(x), -1) + 1) / 2  # noqa: E731
    expected = parzen.parzen_protocol(flat(samples), flat(reference.real_images(_data(), "train[:100]")),
                                      flat(reference.real_images(_data(), "test")), sigmas=(0.2, 0.5))
    assert results["parzen400_test_pixels"] == pytest.approx(expected["log_likelihood"], rel=1e-6)
    assert results["parzen400_test_pixels_sigma"] == expected["sigma"]
    assert {"is400_lenet", "precision400_test_lenet", "recall400_test_lenet", "density400_test_lenet",
            "coverage400_test_lenet", "nn400_train_pixels", "nn400_train_lenet"} <= set(results)
    # samples drawn from the training set are their own nearest training images: distance ~0 (float32
    # rounding of |x|^2 + |y|^2 - 2xy), far below the distance of a new test image to its nearest one
    assert results["nn400_train_pixels"] < 0.01
    assert sorted(os.listdir(tmp_path)) == ["nearest_lenet_t.png", "nearest_pixels_t.png"]


@pytest.mark.parametrize("bad, fragment", [
    (np.zeros((10, 32, 32, 1), np.float32), "reference images are (28, 28, 1)"),
    (np.full((10, 28, 28, 1), np.nan, np.float32), "10 of 10 samples contain NaN or Inf"),
])
def test_bad_samples_are_clear_errors(bad, fragment, tiny_lenet):
    with pytest.raises(MetricError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        evaluate.evaluate(bad, _data(), evaluate.Protocol(metrics=("fid",), features=f"lenet:{tiny_lenet}"))


def test_fid_with_too_few_samples_is_refused(tiny_lenet):
    samples = reference.real_images(_data(), "train", 10)  # 10 samples of 16-d features: a singular covariance
    with pytest.raises(MetricError, match="10"):
        evaluate.evaluate(samples, _data(), evaluate.Protocol(metrics=("fid",), features=f"lenet:{tiny_lenet}"))


def test_inception_features_through_the_pipeline_match_torch(tmp_path, monkeypatch):
    """The whole feature path (grey -> 3 channels, resize to 299, network) against the PyTorch reference."""
    import torch

    from tests.nn.torch_inception import FIDInceptionV3, randomize_

    model = randomize_(FIDInceptionV3(), seed=1).eval()
    torch.save(model.state_dict(), tmp_path / "w.pth")
    monkeypatch.setenv("JAXGEN_INCEPTION_WEIGHTS", str(tmp_path / "w.pth"))
    net = features.get("auto", "mnist5k")
    assert net.name == "inception" and net.input_shape is None
    images = reference.real_images(_data(), "test", 2)
    out = net.extract(images)
    with torch.no_grad():
        pool, logits = model(torch.from_numpy(images).permute(0, 3, 1, 2).repeat(1, 3, 1, 1))
    for ours, theirs in ((out["pool"], pool.numpy()), (out["logits"], logits.numpy())):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


def test_lenet_is_trained_once_on_first_use(tmp_path, monkeypatch, data_dir, capsys):
    from jaxgen.defaults import classifier as classifier_defaults
    from jaxgen.trainers import classifier

    monkeypatch.setenv("JAXGEN_CACHE_DIR", str(tmp_path))
    tiny = classifier_defaults.default_config("digits", "tiny")
    monkeypatch.setattr(features.DomainNet, "config", lambda self: tiny)
    trained = []
    train = classifier.train_and_evaluate
    monkeypatch.setattr(classifier, "train_and_evaluate", lambda *a, **k: trained.append(1) or train(*a, **k))
    net = features.get("lenet", "digits")
    assert trained == [1] and net.input_shape == (8, 8, 1)
    workdir = str(tmp_path / "features" / "lenet_digits")
    assert f"as `jaxgen train --config lenet_digits --workdir {workdir}` would" in capsys.readouterr().err
    assert features.domain_workdir(features.domain_net("lenet", "digits")) == workdir and trained == [1]


def test_an_evaluation_that_finds_the_network_in_training_waits_and_does_not_train_it_again(tmp_path, monkeypatch,
                                                                                            capfd):
    """Two `jaxgen eval` started together on a fresh machine: the second waits for the first's training (here the
    test holds the lock and finishes the "training" itself), then reads the network instead of training it again
    (before the lock it was refused as a second trainer of the same workdir)."""
    import fcntl
    import threading

    from jaxgen.defaults import classifier as classifier_defaults
    from jaxgen.trainers import classifier

    monkeypatch.setenv("JAXGEN_CACHE_DIR", str(tmp_path))
    tiny = classifier_defaults.default_config("digits", "tiny")
    monkeypatch.setattr(features.DomainNet, "config", lambda self: tiny)
    trained = []
    monkeypatch.setattr(classifier, "train_and_evaluate", lambda *a, **k: trained.append(1))
    net = features.domain_net("lenet", "digits")
    workdir = tmp_path / "features" / "lenet_digits"
    workdir.parent.mkdir()
    got = []
    with open(str(workdir) + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is training it
        waiter = threading.Thread(target=lambda: got.append(features.domain_workdir(net)))
        waiter.start()
        waiter.join(2.0)
        assert waiter.is_alive() and not got  # it waits...
        (workdir / "checkpoints" / str(tiny.num_steps)).mkdir(parents=True)  # ...while the other one finishes
        fcntl.flock(lock, fcntl.LOCK_UN)
    waiter.join(30)
    assert got == [str(workdir)] and trained == []
    assert "waiting for another process training the lenet feature network" in capfd.readouterr().err


@pytest.mark.parametrize("net", features.DOMAIN_NETS, ids=lambda net: net.workdir)
def test_the_config_named_on_first_use_trains_the_named_network_on_its_data(net):
    config = net.config()
    assert config.trainer == "classifier" and config.model.name == net.name and config.data.name in net.datasets


def test_auto_features_without_inception_weights(monkeypatch):
    with pytest.raises(MetricError, match="InceptionV3 weights are absent"):
        features.get("auto", "cifar10")
    with pytest.raises(MetricError, match="unknown feature network"):
        features.get("resnet", "mnist5k")
    with pytest.raises(MetricError, match="unknown metric"):
        evaluate.Protocol.parse("fid,bogus")


def test_load_samples(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=images, other=np.zeros(3))
    np.testing.assert_allclose(evaluate.load_samples(str(tmp_path / "a.npz")), images[..., None] / 127.5 - 1, atol=1e-6)
    np.save(tmp_path / "b.npy", np.full((2, 4, 4, 1), 3.0, np.float32))
    with pytest.raises(MetricError, match=r"must\s+be in \[-1, 1\]"):
        evaluate.load_samples(str(tmp_path / "b.npy"))
    np.savez(tmp_path / "c.npz", x=np.zeros(3), y=np.zeros(3))
    with pytest.raises(MetricError, match="name the images array 'images'"):
        evaluate.load_samples(str(tmp_path / "c.npz"))


@pytest.fixture(scope="module")
def gan_workdir(tiny_lenet, tmp_path_factory, one_device_mesh):
    """A tiny DCGAN trained for 4 steps that evaluates FID every 2 steps and keeps the best checkpoint."""
    from jaxgen import config as config_lib
    from jaxgen.trainers import gan

    workdir = str(tmp_path_factory.mktemp("gan"))
    config = config_lib.load("configs/dcgan_mnist.py:tiny", [
        "eval.every=2", "eval.metrics=fid", "eval.num_samples=40", f"eval.features=lenet:{tiny_lenet}",
        "eval.best_metric=fid40_test_lenet"])
    gan.train_and_evaluate(config, workdir, mesh=one_device_mesh)
    return workdir


def test_gan_trainer_evaluates_and_keeps_the_best(gan_workdir):
    rows = [json.loads(line) for line in open(os.path.join(gan_workdir, "metrics.jsonl"))]
    fids = {r["step"]: r["fid40_test_lenet"] for r in rows if "fid40_test_lenet" in r}
    assert sorted(fids) == [2, 4]
    best_step = min(fids, key=fids.get)
    assert json.load(open(os.path.join(gan_workdir, "best.json"))) == {
        "metric": "fid40_test_lenet", "value": fids[best_step], "step": best_step}
    assert os.listdir(os.path.join(gan_workdir, "checkpoints_best")) == [str(best_step)]


def test_cli_eval_of_a_workdir_prints_and_appends(gan_workdir, tiny_lenet, tmp_path, capsys):
    argv = ["eval", "--workdir", gan_workdir, "--metrics", "fid,kid,is", "--num-samples", "64",
            "--features", f"lenet:{tiny_lenet}"]
    assert cli.main(argv) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["step"] == 4 and {"fid64_test_lenet", "kid64_test_lenet", "is64_lenet"} <= set(line)
    last = json.loads(open(os.path.join(gan_workdir, "metrics.jsonl")).read().splitlines()[-1])
    assert last["fid64_test_lenet"] == line["fid64_test_lenet"]
    assert cli.main(argv) == 0  # the same seed draws the same samples: the same numbers
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again == line
    np.savez(tmp_path / "s.npz", images=np.zeros((64, 28, 28, 1), np.uint8))
    assert cli.main(["eval", "--samples", str(tmp_path / "s.npz"), "--metrics", "fid", "--features",
                     f"lenet:{tiny_lenet}"]) == cli.EXIT_USAGE
    assert "--samples needs --dataset" in capsys.readouterr().err
    assert cli.main(["eval", "--samples", str(tmp_path / "s.npz"), "--dataset", "mnist5k", "--metrics", "fid",
                     "--features", f"lenet:{tiny_lenet}"]) == 0
    assert "fid64_test_lenet" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])
