"""The transformer prior (jaxgen.models.transformer): the causal mask by gradients, the class token, top-k sampling."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.models import transformer
from jaxgen.models.autoregressive import top_k_logits

MODEL = transformer.Transformer(levels=5, length=6, width=8, layers=2, heads=2, num_classes=3)


def _params():
    return MODEL.init(jax.random.key(0), jnp.zeros((2, 2, 3, 1), jnp.int32), jnp.zeros((2,), jnp.int32))["params"]


def test_position_i_has_zero_gradient_wrt_inputs_after_i():
    params = _params()
    e = jax.random.normal(jax.random.key(1), (1, 6, 8))
    jac = jax.jit(jax.jacobian(lambda x: MODEL.apply({"params": params}, x, method="logits")))(e)  # [1, 6, 5, 1, 6, 8]
    norms = np.abs(np.asarray(jac[0, :, :, 0])).sum(axis=(1, 3))  # [output position, input position]
    assert np.all(norms[np.triu_indices(6, 1)] == 0)  # j > i: exactly zero
    assert np.all(norms[np.tril_indices(6)] > 0)  # j <= i: reached


def test_codes_shifted_right_behind_the_class_token():
    params = _params()
    codes = jnp.array([[[1, 2, 3], [4, 0, 1]]])[..., None]
    out = MODEL.apply({"params": params}, codes, jnp.array([2]))
    assert out.shape == (1, 2, 3, 1, 5)
    changed_last = codes.at[0, 1, 2, 0].set(3)  # the last code is never an input
    np.testing.assert_array_equal(out, MODEL.apply({"params": params}, changed_last, jnp.array([2])))
    other_class = MODEL.apply({"params": params}, codes, jnp.array([0]))
    assert not np.allclose(out[0, 0, 0], other_class[0, 0, 0])  # the first code depends on the class alone


def test_top_k_sampling_draws_only_the_k_most_likely():
    logits = jnp.array([[0.0, 3.0, 1.0, 2.0, -1.0]])
    np.testing.assert_array_equal(np.isfinite(top_k_logits(logits, 2)), [[False, True, False, True, False]])
    params = _params()
    codes = jax.jit(lambda k: transformer.sample(MODEL, params, k, 16, jnp.zeros((16,), jnp.int32), 1))(
        jax.random.key(3))
    greedy = np.asarray(codes)
    assert greedy.shape == (16, 6) and (greedy == greedy[0]).all()  # top-1: the same sequence for every key
    logits = MODEL.apply({"params": params}, jnp.asarray(greedy[:1]).reshape(1, 2, 3, 1), jnp.zeros((1,), jnp.int32))
    np.testing.assert_array_equal(np.asarray(logits).reshape(6, 5).argmax(-1), greedy[0])


def test_cached_decoding_equals_the_full_forward_and_a_no_cache_sampler():
    params = _params()
    labels = jnp.array([2, 0])
    codes = jax.random.randint(jax.random.key(4), (2, 6), 0, 5)
    full = MODEL.apply({"params": params}, codes.reshape(2, 2, 3, 1), labels).reshape(2, 6, 5)
    decoder = MODEL.clone(decode=True)
    cache = decoder.init(jax.random.key(0), jnp.zeros((2, 6, 1, 1), jnp.int32), labels)["cache"]
    cache = jax.tree.map(jnp.zeros_like, cache)
    for i in range(6):  # position i through the cache of positions 0..i-1
        step, updated = decoder.apply({"params": params, "cache": cache}, codes, i, labels, method="next_logits",
                                      mutable=["cache"])
        cache = updated["cache"]
        np.testing.assert_allclose(step, full[:, i], rtol=1e-5, atol=1e-5)

    def naive(rng, n, labels):  # the whole sequence re-run at every position, no cache
        def body(i, codes):
            logits = MODEL.apply({"params": params}, codes.reshape(n, 2, 3, 1), labels).reshape(n, 6, 5)[:, i]
            return codes.at[:, i].set(jax.random.categorical(jax.random.fold_in(rng, i), logits, axis=-1))
        return jax.lax.fori_loop(0, 6, body, jnp.zeros((n, 6), jnp.int32))

    labels = jnp.arange(32) % 3
    drawn = transformer.sample(MODEL, params, jax.random.key(5), 32, labels)
    np.testing.assert_array_equal(drawn, naive(jax.random.key(5), 32, labels))
