"""The shared shape of jaxgen's bundled datasets: labelled uint8 images split by `stratified_split`."""

import abc

import numpy as np
import tensorflow_datasets as tfds

from jaxgen.data.builders.base import ArrayRecordBuilder


def stratified_split(labels: np.ndarray, num_test: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split of `labels` (int[N]) into (train_idx, test_idx).

    Exactly: `order = np.random.default_rng(seed).permutation(N)`; class c gets a test quota
    q_c = num_test * n_c / N rounded by largest remainder (ties to the smaller class id), so
    the quotas sum to `num_test`; the test set is, for every class c, the first q_c indices of
    class c in `order`; train is the rest. Both are returned sorted ascending (source order).
    """
    labels = np.asarray(labels)
    n = len(labels)
    order = np.random.default_rng(seed).permutation(n)
    classes, counts = np.unique(labels, return_counts=True)
    exact = num_test * counts / n
    quota = np.floor(exact).astype(int)
    by_remainder = np.argsort(-(exact - quota), kind="stable")
    quota[by_remainder[: num_test - quota.sum()]] += 1
    test = np.concatenate([order[labels[order] == c][:q] for c, q in zip(classes, quota)])
    is_test = np.zeros(n, bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


class LabelledImages(ArrayRecordBuilder, skip_registration=True):
    """A builder of `{"image": uint8[H, W, C], "label": 0..9}` records from arrays a package ships.

    Subclasses set `name`, `code_path`, `NUM_TEST`, `SHAPE`, `DESCRIPTION`, `HOMEPAGE`, `CITATION`
    and implement `load_arrays()`. Splits: `stratified_split(labels, NUM_TEST, seed=0)`; records are
    stored unshuffled (record i of a split is its i-th source row) as `array_record` (no TensorFlow).
    """

    NUM_TEST: int
    SHAPE: tuple[int, int, int]
    DESCRIPTION = HOMEPAGE = CITATION = ""

    @staticmethod
    @abc.abstractmethod
    def load_arrays() -> tuple[np.ndarray, np.ndarray]:
        """(images uint8[N, H, W, C], labels int64[N]) in source order."""

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=self.SHAPE, dtype=np.uint8),
                "label": tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=("image", "label"),
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The data ships inside an installed package.
        images, labels = self.load_arrays()
        train, test = stratified_split(labels, self.NUM_TEST)
        return {
            "train": self._generate_examples(images, labels, train),
            "test": self._generate_examples(images, labels, test),
        }

    def _generate_examples(self, images, labels, indices):
        for i in indices:
            yield int(i), {"image": images[i], "label": int(labels[i])}
