"""Flax parameters as PyTorch tensors, for the eager references of ``tools/torch_*.py`` that load jaxgen's weights.

``tensor(a)``: any array -> a float32 torch tensor (a copy). ``weight(kernel)``: a flax kernel in torch's layout,
``Conv`` [kh, kw, in, out] -> ``Conv2d`` [out, in, kh, kw], ``Dense`` [in, out] -> ``Linear`` [out, in].
"""

from __future__ import annotations

import numpy as np
import torch


def tensor(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, np.float32))


def weight(kernel) -> torch.Tensor:
    k = tensor(kernel)
    if k.ndim not in (2, 4):
        raise ValueError(f"a flax Dense [in, out] or Conv [kh, kw, in, out] kernel, got shape {tuple(k.shape)}")
    return k.T if k.ndim == 2 else k.permute(3, 2, 0, 1)
