"""TFDS builders for the bundled datasets; importing this registers `mnist5k`, `digits`, `lfw_faces`, `twemoji`,
`openmoji`, `emoji_pairs`, `edges2emoji` and `photos`."""

from jaxgen.data.builders.digits import Digits
from jaxgen.data.builders.emoji import Edges2Emoji, EmojiPairs, OpenMojiEmoji, Twemoji
from jaxgen.data.builders.lfw import LfwFaces
from jaxgen.data.builders.mnist5k import Mnist5k
from jaxgen.data.builders.photos import Photos

__all__ = ["Digits", "Edges2Emoji", "EmojiPairs", "LfwFaces", "Mnist5k", "OpenMojiEmoji", "Photos", "Twemoji"]
