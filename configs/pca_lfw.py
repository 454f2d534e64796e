"""Eigenfaces: PCA / probabilistic PCA (20 components, closed form) of the 80 training faces of `lfw_faces`.

    jaxgen train --config pca_lfw --workdir runs/pca_lfw
    jaxgen train --config pca_lfw:tiny --workdir /tmp/pca_lfw_tiny    # seconds; for tests

The 25x25 faces (scikit-image's LFW subset) dequantised to [0, 1)^625 span at most 79 directions, so PPCA
needs fewer components than that to leave variance for its noise. `tools/eigenfaces.py` draws the
eigenfaces, reconstructions and samples of docs/images/ from the same data.
"""

from jaxgen.defaults import classical


def get_config(arg=None):
    config = classical.default_config("pca", "lfw_faces", arg)
    if arg is None:
        config.model.num_components = 20
    return config
