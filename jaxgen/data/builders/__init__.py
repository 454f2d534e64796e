"""TFDS builders for the bundled datasets; importing this registers `mnist5k` and `digits`."""

from jaxgen.data.builders.digits import Digits
from jaxgen.data.builders.mnist5k import Mnist5k

__all__ = ["Digits", "Mnist5k"]
