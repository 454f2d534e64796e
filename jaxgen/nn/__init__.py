"""Layers shared by several model families."""

from jaxgen.nn.inception import (
    FID_WEIGHTS_FILE,
    FID_WEIGHTS_URL,
    INCEPTION_WEIGHTS_ENV,
    InceptionV3,
    fid_inception_weights_path,
    load_fid_inception,
    load_torch_state_dict,
    resize_bilinear,
    variables_from_state_dict,
)
from jaxgen.nn.norms import BatchNorm, GroupNorm, InstanceNorm
from jaxgen.nn.upsample import (
    ConvTranspose,
    StridedConv,
    conv,
    conv_transpose,
    conv_transpose_subpixel,
    depth_to_space,
    space_to_depth,
)
from jaxgen.nn.vgg import VGG, load_vgg

__all__ = [
    "BatchNorm",
    "ConvTranspose",
    "FID_WEIGHTS_FILE",
    "FID_WEIGHTS_URL",
    "GroupNorm",
    "InstanceNorm",
    "INCEPTION_WEIGHTS_ENV",
    "InceptionV3",
    "StridedConv",
    "VGG",
    "conv",
    "conv_transpose",
    "conv_transpose_subpixel",
    "depth_to_space",
    "fid_inception_weights_path",
    "load_fid_inception",
    "load_torch_state_dict",
    "load_vgg",
    "resize_bilinear",
    "space_to_depth",
    "variables_from_state_dict",
]
