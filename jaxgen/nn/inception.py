"""The InceptionV3 network of the reference FID implementations, in Flax, and a torch-free weight loader.

Architecture: torchvision's ``Inception3`` (Szegedy et al. 2016, "Rethinking the Inception Architecture for
Computer Vision") as patched by pytorch-fid (``FIDInceptionA/C/E_1/E_2``) to be the TensorFlow graph
``inception-2015-12-05`` that Heusel et al. 2017 ("GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium") used to define FID; 1008 classes, no auxiliary head. NHWC throughout:

    images [N, H, W, C]  float in [-1, 1], C in {1, 3} (grey is repeated to 3 channels)
      -> bilinear resize to 299x299            (``resize_input=True``; torch ``F.interpolate(mode='bilinear',
                                                 align_corners=False)``, no antialiasing)
    Conv2d_1a_3x3 (s2) · 2a_3x3 · 2b_3x3 (p1)   [N, 147, 147, 64]
    max pool 3x3 s2 · Conv2d_3b_1x1 · 4a_3x3    [N, 71, 71, 192]
    max pool 3x3 s2                             [N, 35, 35, 192]
    Mixed_5b/5c/5d  InceptionA                  [N, 35, 35, 256/288/288]
    Mixed_6a        InceptionB                  [N, 17, 17, 768]
    Mixed_6b-6e     InceptionC                  [N, 17, 17, 768]
    Mixed_7a        InceptionD                  [N, 8, 8, 1280]
    Mixed_7b/7c     InceptionE                  [N, 8, 8, 2048]
    global average pool -> "pool" [N, 2048];  fc -> "logits" [N, 1008]

``InceptionV3(first_block=True)`` stops after the first max pool and returns ``{"maxpool1": [N, h, w, 64]}``
(pytorch-fid's block 0, the features before the second max pool that SIFID uses; any input of at least
``MIN_FIRST_BLOCK_SIZE`` px, never resized).

Every convolution is a ``BasicConv2d``: conv (no bias) + BatchNorm (eps 1e-3, running statistics) + ReLU.
The FID modifications of torchvision's blocks: the 3x3 average pool of the pool branch ignores the padding
(``count_include_pad=False``, TF's ``AvgPool``) in InceptionA, InceptionC and Mixed_7b; Mixed_7c's pool
branch is a 3x3 *max* pool (stride 1, padding 1). Parameter names are torchvision's (``Mixed_5b``,
``branch1x1``, ``conv``, ``bn``, ``fc``), so :func:`variables_from_state_dict` is a rename and a transpose.

The preprocessing is pytorch-fid's ``InceptionV3(resize_input=True, normalize_input=False)`` for images already
in [-1, 1]. (TensorFlow's original FID code resizes with ``tf.image.resize_bilinear``, whose sampling grid
differs slightly, which moves FID by a small amount; that variant is not implemented here.)

Weights: pytorch-fid's port of the TF graph, ``pt_inception-2015-12-05-6726825d.pth``
(https://github.com/mseitzer/pytorch-fid). :func:`load_torch_state_dict` reads ``torch.save`` files (zip and
legacy formats) or ``.npz`` without importing torch, through a ``pickle.Unpickler`` that only knows tensors,
storages and ``OrderedDict``; :func:`load_fid_inception` finds the file and returns ``(module, variables)``.

Speed: on XLA:CPU jit the forward with ``jaxgen.engine.compilation.jit`` (its compiler options keep the
convolutions on Eigen): 64 images 28x28 -> 299x299 take ~10 s on 2 cores against ~20 s with the default YNNPACK route
(PyTorch: ~22 s); compiling takes ~2.5 s.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import io
import os
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import traverse_util

from jaxgen.cache import cache_dir
from jaxgen.errors import MetricError

__all__ = [
    "FID_WEIGHTS_FILE",
    "FID_WEIGHTS_URL",
    "INCEPTION_WEIGHTS_ENV",
    "InceptionV3",
    "fid_inception_weights_path",
    "load_fid_inception",
    "load_torch_state_dict",
    "resize_bilinear",
    "state_dict_problems",
    "variables_from_state_dict",
]

Array = jax.Array

FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS_FILE}"
INCEPTION_WEIGHTS_ENV = "JAXGEN_INCEPTION_WEIGHTS"
INPUT_SIZE = 299
NUM_CLASSES = 1008  # the 2015 graph's classifier size (not 1000)
MIN_INPUT_SIZE = 75  # the smallest input for which Mixed_7c's maps are still >= 1x1
MIN_FIRST_BLOCK_SIZE = 13  # the smallest input for which the first max pool's maps are >= 2x2


# ---------------------------------------------------------------------------------------------------------------
# Preprocessing


def resize_bilinear(images: Array, size: Sequence[int] = (INPUT_SIZE, INPUT_SIZE)) -> Array:
    """``[N, H, W, C]`` -> ``[N, *size, C]``, torch ``F.interpolate(mode='bilinear', align_corners=False)``.

    That is JAX's triangle-kernel resize without antialiasing: a sample at ``(i + 0.5) * in / out - 0.5``
    interpolates its two neighbours, clamped at the borders, for up- and down-sampling alike.
    """
    n, _, _, c = images.shape
    return jax.image.resize(images, (n, *size, c), method="bilinear", antialias=False)


def _check_images(images: Array, resize: bool, first_block: bool = False) -> None:
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise MetricError(f"InceptionV3 expects images [N, H, W, C] with C = 1 or 3, got shape {images.shape}")
    if first_block and min(images.shape[1:3]) < MIN_FIRST_BLOCK_SIZE:
        raise MetricError(f"InceptionV3's first block needs images of at least {MIN_FIRST_BLOCK_SIZE}x"
                          f"{MIN_FIRST_BLOCK_SIZE}, got {images.shape[1]}x{images.shape[2]}")
    if not resize and not first_block and min(images.shape[1:3]) < MIN_INPUT_SIZE:
        raise MetricError(
            f"InceptionV3(resize_input=False) needs images of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}, "
            f"got {images.shape[1]}x{images.shape[2]}; resize them (resize_input=True resizes to 299x299)"
        )


# ---------------------------------------------------------------------------------------------------------------
# The network


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


class BasicConv2d(nn.Module):
    """torchvision's ``BasicConv2d``: conv (no bias) + BatchNorm(eps=1e-3, running statistics) + ReLU.

    ``kernel_size``, ``stride`` and ``padding`` are PyTorch's (an int or an ``(h, w)`` pair; padding is
    symmetric)."""

    features: int
    kernel_size: int | Sequence[int] = 1
    stride: int = 1
    padding: int | Sequence[int] = 0

    @nn.compact
    def __call__(self, x: Array) -> Array:
        ph, pw = _pair(self.padding)
        x = nn.Conv(
            self.features,
            _pair(self.kernel_size),
            strides=_pair(self.stride),
            padding=((ph, ph), (pw, pw)),
            use_bias=False,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _max_pool_3x3_s2(x: Array) -> Array:
    return nn.max_pool(x, (3, 3), strides=(2, 2))


def _avg_pool_3x3(x: Array) -> Array:
    """TF's 3x3 average pool, stride 1, 'SAME': the padded zeros are not counted."""
    return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x: Array) -> Array:
    return nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))


def _cat(*branches: Array) -> Array:
    return jnp.concatenate(branches, axis=-1)


class InceptionA(nn.Module):
    """Mixed_5b/5c/5d (35x35): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg pool-1x1 -> 224 + ``pool_features``."""

    pool_features: int

    @nn.compact
    def __call__(self, x: Array) -> Array:
        b1 = BasicConv2d(64, name="branch1x1")(x)
        b5 = BasicConv2d(48, name="branch5x5_1")(x)
        b5 = BasicConv2d(64, 5, padding=2, name="branch5x5_2")(b5)
        b3 = BasicConv2d(64, name="branch3x3dbl_1")(x)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(b3)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_3")(b3)
        bp = BasicConv2d(self.pool_features, name="branch_pool")(_avg_pool_3x3(x))
        return _cat(b1, b5, b3, bp)


class InceptionB(nn.Module):
    """Mixed_6a (35 -> 17): 3x3 s2 | 1x1-3x3-3x3 s2 | max pool s2 -> 384 + 96 + C_in."""

    @nn.compact
    def __call__(self, x: Array) -> Array:
        b3 = BasicConv2d(384, 3, stride=2, name="branch3x3")(x)
        bd = BasicConv2d(64, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = BasicConv2d(96, 3, stride=2, name="branch3x3dbl_3")(bd)
        return _cat(b3, bd, _max_pool_3x3_s2(x))


class InceptionC(nn.Module):
    """Mixed_6b-6e (17x17): 1x1 | factorised 7x7 | twice-factorised 7x7 | avg pool-1x1 -> 4 x 192."""

    channels_7x7: int

    @nn.compact
    def __call__(self, x: Array) -> Array:
        c7 = self.channels_7x7
        b1 = BasicConv2d(192, name="branch1x1")(x)
        b7 = BasicConv2d(c7, name="branch7x7_1")(x)
        b7 = BasicConv2d(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
        bd = BasicConv2d(c7, name="branch7x7dbl_1")(x)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
        bd = BasicConv2d(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
        bd = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
        bp = BasicConv2d(192, name="branch_pool")(_avg_pool_3x3(x))
        return _cat(b1, b7, bd, bp)


class InceptionD(nn.Module):
    """Mixed_7a (17 -> 8): 1x1-3x3 s2 | 1x1-1x7-7x1-3x3 s2 | max pool s2 -> 320 + 192 + C_in."""

    @nn.compact
    def __call__(self, x: Array) -> Array:
        b3 = BasicConv2d(192, name="branch3x3_1")(x)
        b3 = BasicConv2d(320, 3, stride=2, name="branch3x3_2")(b3)
        b7 = BasicConv2d(192, name="branch7x7x3_1")(x)
        b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv2d(192, 3, stride=2, name="branch7x7x3_4")(b7)
        return _cat(b3, b7, _max_pool_3x3_s2(x))


class InceptionE(nn.Module):
    """Mixed_7b/7c (8x8): 1x1 | 1x1-(1x3, 3x1) | 1x1-3x3-(1x3, 3x1) | pool-1x1 -> 320 + 768 + 768 + 192.

    ``pool="avg"`` (Mixed_7b, padding not counted) or ``"max"`` (Mixed_7c in the FID graph)."""

    pool: str = "avg"

    @nn.compact
    def __call__(self, x: Array) -> Array:
        b1 = BasicConv2d(320, name="branch1x1")(x)
        b3 = BasicConv2d(384, name="branch3x3_1")(x)
        b3 = _cat(
            BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
            BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3),
        )
        bd = BasicConv2d(448, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(384, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = _cat(
            BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
            BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd),
        )
        pooled = _max_pool_3x3(x) if self.pool == "max" else _avg_pool_3x3(x)
        bp = BasicConv2d(192, name="branch_pool")(pooled)
        return _cat(b1, b3, bd, bp)


class InceptionV3(nn.Module):
    """The FID InceptionV3: ``images [N, H, W, C]`` in [-1, 1] -> ``{"pool": [N, 2048], "logits": [N, 1008]}``.

    ``resize_input=True`` resizes to 299x299 (pytorch-fid's preprocessing); with ``False`` the network runs on
    the given size (at least 75x75; fully convolutional up to the global pool). ``first_block=True``: only
    ``{"maxpool1": [N, h, w, 64]}`` on the given size (module docstring). Always in inference mode.
    """

    resize_input: bool = True
    first_block: bool = False

    @nn.compact
    def __call__(self, images: Array) -> dict[str, Array]:
        _check_images(images, self.resize_input, self.first_block)
        x = images.astype(jnp.float32)
        if self.resize_input and not self.first_block:
            x = resize_bilinear(x)
        if x.shape[-1] == 1:
            x = jnp.broadcast_to(x, x.shape[:-1] + (3,))
        x = BasicConv2d(32, 3, stride=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv2d(32, 3, name="Conv2d_2a_3x3")(x)
        x = BasicConv2d(64, 3, padding=1, name="Conv2d_2b_3x3")(x)
        x = _max_pool_3x3_s2(x)
        if self.first_block:
            return {"maxpool1": x}
        x = BasicConv2d(80, name="Conv2d_3b_1x1")(x)
        x = BasicConv2d(192, 3, name="Conv2d_4a_3x3")(x)
        x = _max_pool_3x3_s2(x)
        x = InceptionA(32, name="Mixed_5b")(x)
        x = InceptionA(64, name="Mixed_5c")(x)
        x = InceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)
        x = InceptionC(128, name="Mixed_6b")(x)
        x = InceptionC(160, name="Mixed_6c")(x)
        x = InceptionC(160, name="Mixed_6d")(x)
        x = InceptionC(192, name="Mixed_6e")(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE("avg", name="Mixed_7b")(x)
        x = InceptionE("max", name="Mixed_7c")(x)
        pool = jnp.mean(x, axis=(1, 2))
        return {"pool": pool, "logits": nn.Dense(NUM_CLASSES, name="fc")(pool)}


# ---------------------------------------------------------------------------------------------------------------
# Reading torch.save files without torch


_STORAGE_DTYPES = {  # torch.<name>Storage -> little-endian numpy dtype
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "BFloat16Storage": jnp.bfloat16,
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_LEGACY_PROTOCOL = 1001


@dataclasses.dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co. in the pickle: only its dtype matters."""

    name: str


@dataclasses.dataclass
class _Storage:
    """A storage named by the pickle; its bytes are attached after unpickling (legacy files store them after)."""

    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclasses.dataclass
class _TensorRef:
    """What ``torch._utils._rebuild_tensor_v2`` would build: a strided view of a storage."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        st, flat = self.storage, self.storage.data
        if any(s < 0 for s in self.size + self.stride) or len(self.size) != len(self.stride) or self.offset < 0:
            raise ValueError(f"bad tensor geometry: size {self.size}, stride {self.stride}, offset {self.offset}")
        if 0 in self.size:
            return np.zeros(self.size, st.dtype.newbyteorder("="))
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= flat.size:  # as_strided would read past the buffer
            raise ValueError(f"tensor of size {self.size} (stride {self.stride}, offset {self.offset}) "
                             f"overruns its storage {st.key!r} of {flat.size} elements")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * flat.itemsize for s in self.stride], writeable=False
        )
        return np.array(view, dtype=st.dtype.newbyteorder("="), order="C", copy=True)  # owns its data


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects a storage as its first argument")
    return _TensorRef(storage, int(storage_offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a state dict of tensors and nothing else: every global outside the allow-list is refused
    (a pickle can name any callable; calling it is how malicious checkpoints run code)."""

    _GLOBALS = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def __init__(self, file):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if (module, name) in self._GLOBALS:
            return self._GLOBALS[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only tensors and storages are allowed)")

    def persistent_load(self, pid):
        # zip: ("storage", type, key, location, numel); legacy: the same plus view_metadata (None)
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType) or (len(pid) == 6 and pid[5] is not None):
            raise pickle.UnpicklingError(f"unsupported storage {pid!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, np.dtype(_STORAGE_DTYPES[storage_type.name]), numel)
        return self.storages[key]


def _frombuffer(buf: bytes, storage: _Storage, big_endian: bool = False) -> np.ndarray:
    dtype = storage.dtype.newbyteorder(">") if big_endian else storage.dtype
    if len(buf) < storage.numel * dtype.itemsize:
        raise ValueError(f"storage {storage.key!r} holds {len(buf)} bytes, expected {storage.numel * dtype.itemsize}")
    return np.frombuffer(buf, dtype, count=storage.numel)


def _load_zip(path: Path) -> object:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ValueError("no <archive>/data.pkl record")
        prefix = pkl[0][: -len("data.pkl")]
        big_endian = f"{prefix}byteorder" in names and zf.read(f"{prefix}byteorder").strip() == b"big"
        unpickler = _TorchUnpickler(io.BytesIO(zf.read(pkl[0])))
        obj = unpickler.load()
        for st in unpickler.storages.values():
            st.data = _frombuffer(zf.read(f"{prefix}data/{st.key}"), st, big_endian)
    return obj


def _load_legacy(path: Path) -> object:
    """``torch.save(..., _use_new_zipfile_serialization=False)`` (the format before torch 1.6): pickles of the
    magic number, protocol, system info, the object and the storage keys, then each storage's raw bytes
    preceded by its element count (int64, little-endian)."""
    with open(path, "rb") as f:
        header = [_TorchUnpickler(f).load() for _ in range(3)]
        if header[0] != _LEGACY_MAGIC or header[1] != _LEGACY_PROTOCOL:
            raise ValueError("neither a zip archive nor a legacy torch.save file (bad magic number)")
        big_endian = isinstance(header[2], dict) and header[2].get("little_endian") is False
        unpickler = _TorchUnpickler(f)
        obj = unpickler.load()
        for key in _TorchUnpickler(f).load():
            st = unpickler.storages[str(key)]
            numel = int(np.frombuffer(f.read(8), "<i8")[0])
            if numel != st.numel:
                raise ValueError(f"storage {st.key!r} has {numel} elements, the pickle says {st.numel}")
            st.data = _frombuffer(f.read(numel * st.dtype.itemsize), st, big_endian)
    return obj


def load_torch_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``{name: array}`` from a ``torch.save(state_dict)`` file (zip or legacy format) or an ``.npz``, without torch.

    Only tensors (any strides/offsets; float, int and bool storages), ``OrderedDict`` and plain containers are
    unpickled; anything else in the pickle is refused with a :class:`~jaxgen.errors.MetricError`.
    """
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
        if not isinstance(obj, Mapping) or not all(isinstance(v, _TensorRef) for v in obj.values()):
            raise ValueError("the file holds no flat {name: tensor} state dict")
        return {str(k): v.materialize() for k, v in obj.items()}
    except (OSError, ValueError, TypeError, AttributeError, EOFError, KeyError, IndexError,
            pickle.UnpicklingError, zipfile.BadZipFile) as e:  # a malformed or hostile file
        raise MetricError(f"cannot read PyTorch weights {path}: {e}") from e


# ---------------------------------------------------------------------------------------------------------------
# torchvision names -> flax variables


_TORCH_LEAF = {  # (flax collection, leaf) -> torchvision's parameter/buffer name
    ("params", "kernel"): "weight",
    ("params", "scale"): "weight",
    ("params", "bias"): "bias",
    ("batch_stats", "mean"): "running_mean",
    ("batch_stats", "var"): "running_var",
}


def _from_torch(a: np.ndarray) -> np.ndarray:
    """torch layout -> flax layout: conv ``[O, I, kh, kw]`` -> ``[kh, kw, I, O]``, linear ``[O, I]`` -> ``[I, O]``."""
    return a.transpose(2, 3, 1, 0) if a.ndim == 4 else a.T if a.ndim == 2 else a


def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The inverse of :func:`_from_torch` on shapes."""
    return (shape[3], shape[2], shape[0], shape[1]) if len(shape) == 4 else shape[::-1] if len(shape) == 2 else shape


@functools.cache
def _flax_shapes() -> dict[tuple[str, ...], tuple[int, ...]]:
    """Flattened ``{(collection, *path, leaf): shape}`` of the network's variables (traced once, no FLOPs)."""
    spec = jax.ShapeDtypeStruct((1, MIN_INPUT_SIZE, MIN_INPUT_SIZE, 3), jnp.float32)
    tree = jax.eval_shape(lambda x: InceptionV3(resize_input=False).init(jax.random.key(0), x), spec)
    return {k: v.shape for k, v in traverse_util.flatten_dict(tree).items()}


def _list(names: Sequence[str], limit: int = 8) -> str:
    names = sorted(names)
    more = f" ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def state_dict_problems(given: Mapping[str, np.ndarray], expected: Mapping[str, tuple[int, ...]]) -> str:
    """``""`` when ``given`` holds exactly the keys of ``expected`` with those shapes, else what differs:
    ``"missing keys: ...; unexpected keys: ...; wrong shapes: name (shape) (expected (shape))"``."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [
        f"{k} {np.shape(v)} (expected {tuple(expected[k])})"
        for k, v in given.items()
        if k in expected and tuple(np.shape(v)) != tuple(expected[k])
    ]
    parts = [
        f"missing keys: {_list(missing)}" if missing else "",
        f"unexpected keys: {_list(unexpected)}" if unexpected else "",
        f"wrong shapes: {_list(wrong)}" if wrong else "",
    ]
    return "; ".join(p for p in parts if p)


def variables_from_state_dict(state_dict: Mapping[str, np.ndarray]) -> dict[str, dict]:
    """Flax variables ``{"params", "batch_stats"}`` of :class:`InceptionV3` from a torchvision-named state dict
    (pytorch-fid's ``fid_inception_v3().state_dict()``; ``num_batches_tracked`` entries are ignored).

    Raises :class:`~jaxgen.errors.MetricError` naming the missing and unexpected keys and the wrong shapes.
    """
    given = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    targets = {  # torch key -> (flax path, flax shape)
        ".".join(path + [_TORCH_LEAF[col, leaf]]): ((col, *path, leaf), shape)
        for (col, *path, leaf), shape in _flax_shapes().items()
    }
    problems = state_dict_problems(given, {k: _torch_shape(shape) for k, (_, shape) in targets.items()})
    if problems:
        raise MetricError(
            f"the weights are not the FID InceptionV3 (torchvision names, 1008 classes, no AuxLogits): {problems}"
        )
    flat = {path: jnp.asarray(_from_torch(np.asarray(given[k])), jnp.float32) for k, (path, _) in targets.items()}
    return traverse_util.unflatten_dict(flat)


def fid_inception_weights_path(path: str | os.PathLike | None = None) -> Path:
    """The weight file: ``path``, else ``$JAXGEN_INCEPTION_WEIGHTS``, else
    ``<cache>/weights/pt_inception-2015-12-05-6726825d.pth`` with ``<cache>`` = ``$JAXGEN_CACHE_DIR`` or
    ``~/.cache/jaxgen`` (:func:`jaxgen.cache.cache_dir`); not checked for existence."""
    if path is None:
        path = os.environ.get(INCEPTION_WEIGHTS_ENV) or cache_dir("weights", FID_WEIGHTS_FILE)
    return Path(path).expanduser()


def load_fid_inception(path: str | os.PathLike | None = None) -> tuple[InceptionV3, dict[str, dict]]:
    """``(InceptionV3(), variables)`` from pytorch-fid's weights (see :func:`fid_inception_weights_path`).

    Use as ``module.apply(variables, images)``. Raises :class:`~jaxgen.errors.MetricError` saying which file
    to download and where to put it when it is absent.
    """
    file = fid_inception_weights_path(path)
    if not file.is_file():
        raise MetricError(
            f"InceptionV3 weights not found at {file}. FID needs pytorch-fid's {FID_WEIGHTS_FILE} "
            f"(download {FID_WEIGHTS_URL}); put it at {cache_dir('weights', FID_WEIGHTS_FILE)}, or point "
            f"{INCEPTION_WEIGHTS_ENV} (or the path argument) at it"
        )
    return InceptionV3(), variables_from_state_dict(load_torch_state_dict(file))
