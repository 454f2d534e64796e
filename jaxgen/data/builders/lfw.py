"""`lfw_faces`: the 100 faces of scikit-image's LFW subset (`skimage.data.lfw_subset`), as a TFDS builder.

Source: `skimage/data/lfw_subset.npy`, 200 grey 25x25 crops in [0, 1] (float64): rows 0..99 are faces
randomly chosen from Labeled Faces in the Wild, rows 100..199 background patches of the same photos
("non-faces"). Only the faces are kept, the data of a face model; records are `{"image": uint8[25, 25, 1]}`,
pixels `round(v * 255)`, without labels.

Split (fixed): train = 80, test = 20 by `stratified_split(zeros(100), 20, seed=0)` (the first 20 rows of a
`np.random.default_rng(0)` permutation are test), each stored in source row order.
"""

import os

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from jaxgen import optional
from jaxgen.data.builders.base import ArrayRecordBuilder
from jaxgen.data.builders.labelled_images import stratified_split

NUM_FACES, NUM_TEST = 100, 20


def load_faces() -> np.ndarray:
    """The faces of the LFW subset as uint8[100, 25, 25, 1], in source order."""
    skimage_data = optional.require("skimage.data", "the bundled dataset lfw_faces")
    pixels = np.load(os.path.join(os.path.dirname(skimage_data.__file__), "lfw_subset.npy"))[:NUM_FACES]
    return np.round(pixels * 255.0).astype(np.uint8)[..., None]


def split_rows() -> tuple[np.ndarray, np.ndarray]:
    """(train rows [80], test rows [20]) of the faces, both ascending."""
    return stratified_split(np.zeros(NUM_FACES, np.int64), NUM_TEST, seed=0)


class LfwFaces(ArrayRecordBuilder):
    """The 100 LFW faces of scikit-image (25x25 grey, uint8, no labels): train 80 / test 20, `array_record`."""

    name = "lfw_faces"
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=("The 100 face crops (25x25 grey, uint8) of scikit-image's LFW subset "
                         "(`skimage.data.lfw_subset`, whose other 100 non-face patches are left out); "
                         "fixed split train 80 / test 20."),
            features=tfds.features.FeaturesDict({"image": tfds.features.Tensor(shape=(25, 25, 1), dtype=np.uint8)}),
            homepage="http://vis-www.cs.umass.edu/lfw/",
            citation="""@techreport{huang2007lfw,
  author={Huang, Gary B. and Ramesh, Manu and Berg, Tamara and Learned-Miller, Erik},
  title={Labeled Faces in the Wild: A Database for Studying Face Recognition in Unconstrained Environments},
  institution={University of Massachusetts, Amherst}, number={07-49}, year={2007}}""",
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The data ships inside scikit-image.
        faces = load_faces()
        train, test = split_rows()
        return {"train": self._generate_examples(faces, train), "test": self._generate_examples(faces, test)}

    def _generate_examples(self, faces, rows):
        for i in rows:
            yield int(i), {"image": faces[i]}
