"""Data parallelism with `jax.jit` + `NamedSharding` over a one-axis ("data",) mesh.

Parameters and optimizer state are replicated; batches are split along their leading axis. On several
processes each one feeds its own slice of the global batch (`make_array_from_process_local_data`).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgen.errors import ConfigError


def make_mesh(devices=None) -> Mesh:
    """A ("data",) mesh over `devices` (default: every device of every process)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("data",))


def replicated(mesh: Mesh | None) -> NamedSharding | None:
    """Every device holds the whole array; None without a mesh (a task traced inside a sweep's `vmap`)."""
    return None if mesh is None else NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh | None) -> NamedSharding | None:
    """Split along the leading axis over "data"; None without a mesh."""
    return None if mesh is None else NamedSharding(mesh, P("data"))


def constrain(x, sharding: NamedSharding | None):
    """`with_sharding_constraint` inside a jitted function; a no-op for `sharding` None."""
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


def check_batch_size(batch_size: int, mesh: Mesh, key: str = "batch_size") -> None:
    """The global batch must split evenly over the devices (and the processes)."""
    n = mesh.devices.size
    if batch_size % n:
        raise ConfigError(
            f"config key '{key}' = {batch_size} must be divisible by the number of devices ({n}); "
            f"use a multiple of {n}")
    if batch_size % jax.process_count():
        raise ConfigError(
            f"config key '{key}' = {batch_size} must be divisible by the number of processes "
            f"({jax.process_count()})")


def sync_processes(name: str, timeout_s: int = 1800) -> None:
    """Waits until every process reaches barrier `name` (a no-op with one process).

    It uses the coordination service's barrier, which takes a timeout, not a collective: on CPU the first
    gloo collective gives up after 30 s, so processes that drift apart before it (one prepares a dataset,
    one compiles more slowly) meet here first.
    """
    if jax.process_count() == 1:
        return
    from orbax.checkpoint import multihost  # public; `jaxgen.cli` routes Orbax's barriers to the service

    multihost.sync_global_processes(f"jaxgen:{name}", timeout=timeout_s)


def shard_batch(local_batch, mesh: Mesh):
    """Process-local numpy arrays [B_local, ...] -> global arrays [B_global, ...] split over "data"."""
    sharding = batch_sharded(mesh)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)
