"""`photos`: the colour photographs shipped inside the scikit-image and scikit-learn wheels, whole, as a TFDS builder.

Records are `{"image": uint8[H, W, 3] (each photo its own size), "name": str}`; random crops for
super-resolution are the pipeline's (`data.crop`). The photos and their licences (as their packages state):

    astronaut             512x512    NASA (Eileen Collins), public domain                  skimage.data
    coffee                400x600    Rachel Michetti (Pikolo Espresso Bar), CC0            skimage.data
    chelsea               300x451    Stefan van der Walt (Chelsea the cat), CC0            skimage.data
    rocket                427x640    SpaceX (DSCOVR launch), public domain                 skimage.data
    hubble_deep_field     872x1000   NASA (Hubble eXtreme Deep Field), public domain       skimage.data
    retina                1411x1411  Mikael Häggström (fundus photograph), CC0             skimage.data
    immunohistochemistry  512x512    CMMI (IHC staining), no known copyright restrictions  skimage.data
    motorcycle_left/right 500x741    Middlebury 2014 stereo (Scharstein et al.), no licence stated; cite it
    china, flower         427x640    Flickr (danielbuechele, vultilion), CC BY 2.0         sklearn.datasets

Split (fixed, by photo): test = `TEST` (chelsea, coffee, flower); train = the other 8 (the stereo pair together).
Records are stored in `PHOTOS` order.
"""

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from jaxgen import optional
from jaxgen.data.builders.base import ArrayRecordBuilder

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina", "immunohistochemistry",
          "motorcycle_left", "motorcycle_right", "china", "flower")
TEST = ("chelsea", "coffee", "flower")


def load_photo(name: str) -> np.ndarray:
    """uint8[H, W, 3] of the photo `name` (one of `PHOTOS`), read from the installed wheels (no download)."""
    if name in ("china", "flower"):
        return np.asarray(optional.require("sklearn.datasets", "the bundled photos").load_sample_image(f"{name}.jpg"),
                          np.uint8)
    skimage_data = optional.require("skimage.data", "the bundled photos")
    if name.startswith("motorcycle_"):
        left, right, _ = skimage_data.stereo_motorcycle()
        return np.asarray(left if name == "motorcycle_left" else right, np.uint8)
    return np.asarray(getattr(skimage_data, name)(), np.uint8)


def load_photos() -> dict[str, np.ndarray]:
    """{name: uint8[H, W, 3]} of `PHOTOS`."""
    return {name: load_photo(name) for name in PHOTOS}


class Photos(ArrayRecordBuilder):
    """The 11 colour photos of scikit-image and scikit-learn, whole (uint8, own sizes): train 8 / test 3."""

    name = "photos"
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=("The colour photographs of the scikit-image and scikit-learn wheels, whole and of "
                         f"different sizes; fixed split by photo: test = {', '.join(TEST)}."),
            features=tfds.features.FeaturesDict({
                # Variable-size tensors need an encoding; "bytes" stores the raw pixels.
                "image": tfds.features.Tensor(shape=(None, None, 3), dtype=np.uint8, encoding="bytes"),
                "name": tfds.features.Text(),
            }),
            homepage="https://scikit-image.org/docs/stable/api/skimage.data.html",
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The photos ship inside scikit-image and scikit-learn.
        photos = load_photos()
        return {"train": self._generate_examples({k: v for k, v in photos.items() if k not in TEST}),
                "test": self._generate_examples({k: v for k, v in photos.items() if k in TEST})}

    def _generate_examples(self, photos):
        for i, (name, image) in enumerate(photos.items()):
            yield i, {"image": image, "name": name}
