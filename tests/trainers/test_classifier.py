"""The classifier trainer (LeNet feature networks): augmentation, evaluation, best checkpoint, exact resume."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import classifier

TINY = "configs/lenet_mnist.py:tiny"


def _config(*overrides):
    return config_lib.load(TINY, list(overrides))


def test_shift_images_is_a_translation_filled_with_background():
    images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (16, 6, 7, 2)), jnp.float32)
    shifted = np.asarray(classifier.shift_images(jax.random.key(3), images, 2))
    seen = set()
    for img, out in zip(np.asarray(images), shifted):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = np.full_like(img, -1.0)
                ys, xs = slice(max(dy, 0), 6 + min(dy, 0)), slice(max(dx, 0), 7 + min(dx, 0))
                yt, xt = slice(max(-dy, 0), 6 + min(-dy, 0)), slice(max(-dx, 0), 7 + min(-dx, 0))
                expected[yt, xt] = img[ys, xs]  # out[y, x] = img[y + dy, x + dx]
                if np.array_equal(out, expected):
                    matches.append((dy, dx))
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 3  # every image draws its own offset
    np.testing.assert_array_equal(classifier.shift_images(jax.random.key(3), images, 0), images)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("cls"))
    config = _config("eval.best_metric=test_accuracy")
    state = classifier.train_and_evaluate(config, workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def test_evaluation_is_the_accuracy_on_the_whole_test_split(tiny_run, one_device_mesh):
    workdir, state = tiny_run
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [r for r in rows if "test_accuracy" in r]
    assert [r["step"] for r in evals] == [2, 4]
    config = _config()
    info = {"image_shape": (28, 28, 1), "num_classes": 10}
    net = classifier.network(config, 10)
    images, labels = classifier.load_split(config.data, "test")
    images = images["image"]
    assert images.shape == (1000, 28, 28, 1) and labels.shape == (1000,)
    logits = np.asarray(net.apply({"params": state["params"]}, images)["logits"])
    assert evals[-1]["test_accuracy"] == pytest.approx(np.mean(logits.argmax(-1) == labels))
    recalls = [np.mean(logits.argmax(-1)[labels == k] == k) for k in range(10)]
    assert evals[-1]["test_balanced_accuracy"] == pytest.approx(np.mean(recalls))
    task = classifier.create_task(config, info, one_device_mesh)
    assert task.generate is None and not os.path.exists(os.path.join(workdir, "samples"))


def test_balanced_class_weights_are_inverse_to_the_training_counts(emoji_data_dir):
    config = config_lib.load("classifier_emoji:tiny", [f"data.data_dir={emoji_data_dir}", "class_weights=none"])
    np.testing.assert_array_equal(classifier.class_weights(config, 9), np.ones(9))
    config.class_weights = "balanced"
    counts = np.bincount(classifier.load_split(config.data, "train")[1], minlength=9)
    np.testing.assert_allclose(classifier.class_weights(config, 9), counts.sum() / (9 * counts), rtol=1e-6)
    config.class_weights = "inverse"
    with pytest.raises(ConfigError, match="'class_weights' must be one of none, balanced, got 'inverse'"):
        classifier.class_weights(config, 9)


def test_classifier_configs_from_before_the_fill_and_weights_keys_read_as_they_trained():
    config = _config()
    saved = json.loads(config_lib.to_json(config))
    del saved["augment_fill"], saved["class_weights"]
    assert config_lib.differences(config_lib.from_json(json.dumps(saved)).to_dict(), config.to_dict()) == []


def test_best_checkpoint_holds_the_best_evaluation(tiny_run):
    workdir, _ = tiny_run
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [(r["test_accuracy"], -r["step"]) for r in rows if "test_accuracy" in r]
    value, neg_step = max(evals)  # the first step that reached the best accuracy
    best = json.load(open(os.path.join(workdir, "best.json")))
    assert best == {"metric": "test_accuracy", "value": value, "step": -neg_step}
    assert os.listdir(os.path.join(workdir, "checkpoints_best")) == [str(-neg_step)]


def test_resume_is_exact(tiny_run, tmp_path, one_device_mesh):
    classifier.train_and_evaluate(_config("num_steps=2", "eval.best_metric=test_accuracy"), str(tmp_path),
                                  mesh=one_device_mesh)
    state = classifier.train_and_evaluate(_config("eval.best_metric=test_accuracy"), str(tmp_path),
                                          mesh=one_device_mesh)
    for x, y in zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(tiny_run[1])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert json.load(open(tmp_path / "best.json")) == json.load(open(os.path.join(tiny_run[0], "best.json")))


def test_unknown_best_metric_names_the_choices(tmp_path, one_device_mesh):
    with pytest.raises(ConfigError, match=r"eval.best_metric.*'fid5k_test_lenet'.*test_accuracy"):
        classifier.train_and_evaluate(_config("eval.best_metric=fid5k_test_lenet"), str(tmp_path),
                                      mesh=one_device_mesh)


def test_best_metric_without_evaluation_is_refused(tmp_path, one_device_mesh):
    with pytest.raises(ConfigError, match=r"eval.best_metric.*nothing is evaluated.*eval.every"):
        classifier.train_and_evaluate(_config("eval.best_metric=test_accuracy", "eval.every=0"), str(tmp_path),
                                      mesh=one_device_mesh)
    assert not os.listdir(tmp_path)  # refused before the workdir is touched
