"""The host allocator setting: a repeated XLA:CPU program reuses freed memory instead of page-faulting it in anew.

The property is measured, not assumed: minor page faults (``getrusage``) of a jitted program whose 80 MB output
is allocated and freed every call (the fewest of nine calls), in a fresh process with and without ``import jaxgen``'s
setting.
"""

import os
import subprocess
import sys

import pytest

from jaxgen.engine import host_memory

_PROGRAM = """
import resource, sys
import jaxgen  # first, as the CLI does
import jax, jax.numpy as jnp
f = jax.jit(lambda x: x * 2 + 1)
x = jnp.ones((20_000_000,))  # 80 MB: above what glibc serves from a thread's arena or without mmap by default
for _ in range(10):
    f(x).block_until_ready()
faults = []
for _ in range(9):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    f(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults))  # the best call: on a loaded machine some calls still fault (see docs/benchmarks.md)
"""

glibc_only = pytest.mark.skipif(not host_memory._glibc(), reason="the setting is glibc's")


def _faults_of_a_call(malloc: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in (host_memory.ENV, "XLA_FLAGS")}
    if malloc:
        env[host_memory.ENV] = malloc
    out = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.split()[-1])


@glibc_only
def test_a_repeated_program_reuses_its_freed_buffers():
    kept, system = _faults_of_a_call("keep"), _faults_of_a_call("system")
    # glibc's defaults: every call maps its 80 MB output afresh (~20,000 pages of 4 KB); kept: a freed block is reused
    assert system > 10_000
    assert kept < 500


def test_system_or_an_unknown_value_keeps_glibcs_defaults(monkeypatch, capsys):
    monkeypatch.setenv(host_memory.ENV, "system")
    assert host_memory.keep_freed_memory() is False
    monkeypatch.setenv(host_memory.ENV, "jemalloc")
    assert host_memory.keep_freed_memory() is False
    assert "JAXGEN_MALLOC='jemalloc'" in capsys.readouterr().err


def test_the_default_keeps_only_where_jax_runs_on_the_cpu_alone(monkeypatch):
    monkeypatch.delenv(host_memory.ENV, raising=False)
    monkeypatch.setenv("JAX_PLATFORMS", "cuda,cpu")
    assert host_memory.keep_freed_memory() is False  # an accelerator may run the steps: glibc's defaults
    monkeypatch.setenv(host_memory.ENV, "keep")
    assert host_memory.keep_freed_memory() is host_memory._glibc()  # asked for
    monkeypatch.delenv("JAX_PLATFORMS")
    monkeypatch.setattr(host_memory, "_ACCELERATOR_PLUGINS", ("os",))  # an installed "plugin"
    assert host_memory._cpu_only() is False
    monkeypatch.setattr(host_memory, "_ACCELERATOR_PLUGINS", ("no_such_jax_plugin",))
    assert host_memory._cpu_only() is True
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert host_memory._cpu_only() is True


def test_off_glibc_it_does_nothing(monkeypatch):
    monkeypatch.delenv(host_memory.ENV, raising=False)
    monkeypatch.setattr(host_memory, "_glibc", lambda: False)
    assert host_memory.keep_freed_memory() is False


@glibc_only
def test_on_glibc_every_setting_is_accepted(monkeypatch):
    monkeypatch.setenv(host_memory.ENV, "keep")
    assert host_memory.keep_freed_memory() is True
