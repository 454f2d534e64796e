"""`digits`: scikit-learn's 1,797 8x8 handwritten digits (UCI optdigits test set) as a TFDS builder.

Records are `{"image": uint8[8, 8, 1], "label": int64 in 0..9}`; pixels are sklearn's 0..16
counts scaled to 0..255 as `round(v * 255 / 16)`.

Split (fixed): train = 1,497, test = 300 by `stratified_split(labels, 300, seed=0)`.
"""

import numpy as np
from etils import epath

from jaxgen import optional
from jaxgen.data.builders.labelled_images import LabelledImages


def load_arrays() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits scaled to uint8: (images uint8[1797, 8, 8, 1], labels int64[1797])."""
    digits = optional.require("sklearn.datasets", "the bundled dataset digits").load_digits()
    images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)[..., None]
    return images, digits.target.astype(np.int64)


class Digits(LabelledImages):
    """sklearn `load_digits()` with a fixed stratified split: train 1,497 / test 300.

    The split is `stratified_split(labels, num_test=300, seed=0)` over sklearn's order (see
    `jaxgen.data.builders.labelled_images.stratified_split`). Examples are stored unshuffled, so
    record i of a split is the i-th of its sklearn rows in order. Written as `array_record`.
    """

    name = "digits"
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)
    NUM_TEST = 300
    SHAPE = (8, 8, 1)
    DESCRIPTION = ("1,797 8x8 handwritten digits from scikit-learn (UCI optdigits), "
                   "scaled from 0..16 to uint8 0..255; fixed stratified split train 1,497 / test 300.")
    HOMEPAGE = "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"
    CITATION = """@misc{alpaydin1998optdigits,
  author={Alpaydin, E. and Kaynak, C.},
  title={Optical Recognition of Handwritten Digits},
  howpublished={UCI Machine Learning Repository}, year={1998}, doi={10.24432/C50P49}}"""
    load_arrays = staticmethod(load_arrays)
