"""TFDS builders for the bundled datasets; importing this registers `mnist5k`, `digits` and `lfw_faces`."""

from jaxgen.data.builders.digits import Digits
from jaxgen.data.builders.lfw import LfwFaces
from jaxgen.data.builders.mnist5k import Mnist5k

__all__ = ["Digits", "LfwFaces", "Mnist5k"]
