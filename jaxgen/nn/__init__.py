"""Layers shared by several model families."""

from jaxgen.nn.upsample import (
    ConvTranspose,
    StridedConv,
    conv,
    conv_transpose,
    conv_transpose_subpixel,
    cpu_compiler_options,
    depth_to_space,
    space_to_depth,
)

__all__ = [
    "ConvTranspose",
    "StridedConv",
    "conv",
    "conv_transpose",
    "conv_transpose_subpixel",
    "cpu_compiler_options",
    "depth_to_space",
    "space_to_depth",
]
