"""jaxgen.engine.compilation: the backend's compiler options and the jit every trainer uses."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxgen.engine import compilation

DN = ("NHWC", "HWIO", "NHWC")
CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"}


def test_options_by_backend(monkeypatch):
    assert compilation.compiler_options("cpu") == CPU_OPTIONS
    assert compilation.compiler_options("gpu") == {} and compilation.compiler_options("tpu") == {}
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert compilation.compiler_options() == {}
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert compilation.compiler_options() == CPU_OPTIONS


def test_jit_passes_the_backend_options_and_jax_jit_keywords(monkeypatch):
    seen = []
    real_jit = jax.jit
    monkeypatch.setattr(jax, "jit", lambda fn=None, **kw: seen.append(kw) or real_jit(fn, **kw))
    f = lambda state, x, n: state * x + n  # noqa: E731
    compilation.jit(f, donate_state=True, static_argnums=2)
    compilation.jit(f, donate_argnums=2)
    compilation.jit(f, donate_state=True, donate_argnums=(2,))
    compilation.jit(f, compiler_options={"xla_extra": "1"})
    decorated = compilation.jit(static_argnums=2)(f)  # without fn: a decorator, as jax.jit
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    compilation.jit(f)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    compilation.jit(f)
    monkeypatch.undo()
    here = compilation.compiler_options()  # the backend these tests run on
    assert seen == [
        {"compiler_options": here, "static_argnums": 2, "donate_argnums": (0,)},
        {"compiler_options": here, "donate_argnums": (2,)},
        {"compiler_options": here, "donate_argnums": (0, 2)},
        {"compiler_options": {**here, "xla_extra": "1"}},
        {"compiler_options": here, "static_argnums": 2},
        {"compiler_options": CPU_OPTIONS},
        {"compiler_options": {}},
    ]
    assert float(decorated(jnp.float32(2.0), jnp.float32(3.0), 1)) == 7.0


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the options are XLA:CPU's")
def test_cpu_options_route_convolutions_to_eigen_and_donate():
    x, kern = (jnp.asarray(np.random.default_rng(i).standard_normal(s), jnp.float32)
               for i, s in enumerate([(8, 14, 14, 32), (3, 3, 32, 32)]))  # big enough for YNN to claim it

    def f(x, w):
        return lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DN, precision=lax.Precision.DEFAULT)

    ynn = lambda txt: len(re.findall(r"__ynn_fusion", txt))  # noqa: E731
    default = jax.jit(f).lower(x, kern).compile().as_text()
    ours = compilation.jit(f).lower(x, kern).compile().as_text()
    assert ours == jax.jit(f, compiler_options=CPU_OPTIONS).lower(x, kern).compile().as_text()
    assert "convolution(" in ours and ynn(ours) < ynn(default)
    np.testing.assert_allclose(compilation.jit(f)(x, kern), f(x, kern), atol=1e-4, rtol=1e-4)

    state = jnp.ones((4,))
    out = compilation.jit(lambda s, y: s + y, donate_state=True)(state, jnp.ones((4,)))
    np.testing.assert_array_equal(out, 2.0)
    assert state.is_deleted()  # donated: its buffer became the output's


def test_programs_that_run_once_compile_cheaper_with_the_same_bits(monkeypatch):
    import flax.linen as nn

    assert compilation.once_options("cpu") == {"xla_backend_optimization_level": 1}
    assert compilation.once_options("gpu") == {} and compilation.once_options("tpu") == {}
    seen, real_jit = [], jax.jit
    monkeypatch.setattr(jax, "jit", lambda fn, **kw: seen.append(kw) or real_jit(fn, **kw))
    compilation.jit_once(lambda x: x, out_shardings=None, compiler_options={"xla_extra": "1"})
    monkeypatch.undo()
    assert seen == [{"compiler_options": {**compilation.once_options(), "xla_extra": "1"}, "out_shardings": None}]

    class Net(nn.Module):  # the initialisers jaxgen's models use: truncated normal, normal, uniform, zeros
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(8, (3, 3), kernel_init=nn.initializers.lecun_normal())(x)
            x = nn.Dense(16, kernel_init=nn.initializers.normal(0.02))(x)
            return nn.Dense(4, kernel_init=nn.initializers.variance_scaling(1.0, "fan_avg", "uniform"))(x)

    init = lambda key: Net().init(key, jnp.zeros((1, 8, 8, 3)))  # noqa: E731
    once, default = compilation.jit_once(init), jax.jit(init)
    for seed in range(3):
        a, b = jax.tree.leaves(once(jax.random.key(seed))), jax.tree.leaves(default(jax.random.key(seed)))
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
