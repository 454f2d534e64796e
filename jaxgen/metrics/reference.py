"""Real-data features and statistics, cached per (dataset, split, feature network, preprocessing, count).

`real_features(data_cfg, split, net, limit)` returns `{"pool": [N, D], "logits": [N, K]}` of the first `limit`
examples (all if None) of `split`, preprocessed by the data pipeline exactly as training saw them
(`data.image_size`, `data.pad`, scaled to [-1, 1]). The first call extracts and writes
`<cache>/reference_stats/<dataset>_<split>_<net>-<fingerprint>_<preprocessing>_<count>.npz` (the features;
KID and precision/recall need them, FID's statistics are computed from them); later calls read it. The key
names everything the numbers depend on, so a retrained feature network or another resize never reuses stale
statistics.
"""

from __future__ import annotations

import os
import re

import numpy as np

from jaxgen.cache import cache_dir
from jaxgen.metrics import features as features_lib


def cache_key(data_cfg, split: str, net: features_lib.FeatureNet, count: int) -> str:
    size = data_cfg.get("image_size") if hasattr(data_cfg, "get") else None
    pad = data_cfg.get("pad", 0) if hasattr(data_cfg, "get") else 0
    prep = f"size{'x'.join(map(str, size)) if isinstance(size, (tuple, list)) else size or 'orig'}-pad{pad or 0}"
    split_tag = re.sub(r"[^A-Za-z0-9]+", "-", split).strip("-")
    return f"{data_cfg.name}_{split_tag}_{net.name}-{net.fingerprint}_{prep}_{count}"


def real_images(data_cfg, split: str, limit: int | None = None) -> np.ndarray:
    """The first `limit` images of `split` (all if None) as the pipeline gives them: float32 [N, H, W, C]."""
    from jaxgen import data as data_lib

    return data_lib.read_split(data_cfg, split, limit)["image"]


def real_features(data_cfg, split: str, net: features_lib.FeatureNet, limit: int | None = None) -> dict:
    """`{"pool", "logits"}` of the real images of `split` under `net`, cached on disk (a cached call reads no
    image: the count in the key comes from the split's length)."""
    from jaxgen import data as data_lib

    size = len(data_lib.open_source(data_cfg.name, split, data_cfg.get("data_dir")))
    count = size if limit is None else min(limit, size)
    path = cache_dir("reference_stats", cache_key(data_cfg, split, net, count) + ".npz")
    if os.path.exists(path):
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    out = net.extract(real_images(data_cfg, split, count), f"{data_cfg.name}/{split} images")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + f".tmp{os.getpid()}.npz"
    np.savez(tmp, **out)
    os.replace(tmp, path)  # never a half-written cache file
    return out
