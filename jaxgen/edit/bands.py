"""Style bands: the layers of a style-based generator that hold its coarse, middle and fine styles.

Layer i of a style-based generator works at resolution ``4 * 2**(i // 2)`` (two per resolution: StyleGAN's two
convolutions, StyleGAN2's convolutions and toRGB). The paper's bands at 1024 px are coarse 4-8 px (pose, face
shape), middle 16-32 px (features, hair style), fine 64-1024 px (colour scheme, micro-structure). A smaller
generator has fewer resolutions; `band_levels` keeps the paper's split where it exists and gives each band at least
one resolution while it can (the top resolution is always fine):

    top resolution   coarse    middle    fine
    8 px             4         -         8
    16 px            4         8         16
    32 px            4-8       16        32
    64 px and up     4-8       16-32     64 and up (the paper's)

`layer_range` takes a band's name or an explicit range ``(start, stop)``. This module imports no JAX: the CLI checks
its options with it before JAX starts.
"""

from __future__ import annotations

from jaxgen.errors import JaxgenError

BANDS = ("coarse", "middle", "fine")
PAPER_LEVELS = {"coarse": 2, "fine": 4}  # coarse: levels < 2 (4-8 px); fine: levels >= 4 (64 px and up)


def band_levels(num_levels: int) -> dict[str, range]:
    """{band: the resolution levels (0 = 4 px, 1 = 8 px, ...) it holds} for a generator of `num_levels` levels."""
    fine = min(PAPER_LEVELS["fine"], num_levels - 1)
    coarse = min(PAPER_LEVELS["coarse"], max(1, fine - 1))
    return {"coarse": range(0, coarse), "middle": range(coarse, fine), "fine": range(max(fine, coarse), num_levels)}


def band_layers(num_layers: int, band: str) -> tuple[int, int]:
    """The layer range ``(start, stop)`` of `band` in a generator of `num_layers` layers (two per level)."""
    if band not in BANDS:
        raise JaxgenError(f"unknown style band {band!r}: choose from {', '.join(BANDS)} (or a layer range start:stop)")
    levels = band_levels(-(-num_layers // 2))[band]
    if not levels:
        raise JaxgenError(f"a generator of {num_layers} layers ({-(-num_layers // 2)} resolutions) has no {band} band; "
                          f"its bands: {describe(num_layers)}")
    return 2 * levels.start, min(2 * levels.stop, num_layers)


def describe(num_layers: int) -> str:
    """The bands of a generator of `num_layers` layers, as text: ``coarse 0:4 (4-8 px), ...``."""
    parts = []
    for band, levels in band_levels(-(-num_layers // 2)).items():
        if levels:
            start, stop = 2 * levels.start, min(2 * levels.stop, num_layers)
            px = "-".join(str(4 * 2**lv) for lv in sorted({levels.start, levels.stop - 1}))
            parts.append(f"{band} {start}:{stop} ({px} px)")
    return ", ".join(parts)


def present(num_layers: int) -> tuple[str, ...]:
    """The bands a generator of `num_layers` layers has (an 8 px one has no middle band)."""
    return tuple(band for band, levels in band_levels(-(-num_layers // 2)).items() if levels)


def layer_range(layers, num_layers: int) -> tuple[int, int]:
    """A band name or ``(start, stop)`` -> a checked ``(start, stop)``, ``0 <= start < stop <= num_layers``: the
    layers ``start <= i < stop``."""
    if isinstance(layers, str):
        return band_layers(num_layers, layers)
    start, stop = layers
    if not 0 <= start < stop <= num_layers:
        raise JaxgenError(f"layer range {start}:{stop} must satisfy 0 <= start < stop <= {num_layers} (the "
                          f"generator's layers)")
    return int(start), int(stop)
