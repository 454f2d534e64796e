"""Vector quantisation (jaxgen.nn.quantizer): nearest codes against brute force, the straight-through gradient, the
losses' gradients, the EMA codebook update against a hand computation, dead-code restarts, perplexity."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.nn import quantizer


def _data(seed=0, n=40, k=16, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(k, d)).astype(np.float32)


def test_nearest_code_is_the_brute_force_argmin():
    z, codebook = _data()
    brute = np.array([np.argmin([np.sum((row - e) ** 2) for e in codebook]) for row in z])
    np.testing.assert_array_equal(quantizer.nearest(jnp.asarray(z), jnp.asarray(codebook)), brute)
    grid = z.reshape(2, 4, 5, 4)  # any leading shape
    np.testing.assert_array_equal(quantizer.nearest(jnp.asarray(grid), jnp.asarray(codebook)), brute.reshape(2, 4, 5))
    np.testing.assert_allclose(quantizer.distances(jnp.asarray(z), jnp.asarray(codebook)),
                               ((z[:, None] - codebook[None]) ** 2).sum(-1), rtol=1e-5, atol=1e-5)


def test_straight_through_gradient_is_the_identity_and_forward_the_code():
    z, codebook = _data(1)
    module = quantizer.VectorQuantizer(16, 4, ema=True)
    variables = module.init(jax.random.key(0), jnp.asarray(z))
    variables = {**variables, "vq": {**variables["vq"], "codebook": jnp.asarray(codebook)}}
    q, codes, _ = module.apply(variables, jnp.asarray(z))
    np.testing.assert_allclose(q, codebook[np.asarray(codes)], atol=1e-6)  # z + sg(e - z): rounding only
    cotangent = np.random.default_rng(2).normal(size=z.shape).astype(np.float32)
    _, pullback = jax.vjp(lambda x: module.apply(variables, x)[0], jnp.asarray(z))
    np.testing.assert_array_equal(pullback(jnp.asarray(cotangent))[0], cotangent)  # d q / d z = I


def test_codebook_loss_moves_the_codes_and_commitment_the_encoder():
    z, codebook = _data(3, n=6, k=3)
    q = codebook[np.asarray(quantizer.nearest(jnp.asarray(z), jnp.asarray(codebook)))]
    losses = quantizer.vq_losses(jnp.asarray(z), jnp.asarray(q))
    np.testing.assert_allclose(losses["codebook"], np.mean((z - q) ** 2), rtol=1e-6)
    np.testing.assert_allclose(losses["commitment"], np.mean((z - q) ** 2), rtol=1e-6)
    g_z, g_q = jax.grad(lambda a, b: quantizer.vq_losses(a, b)["commitment"], argnums=(0, 1))(jnp.asarray(z),
                                                                                             jnp.asarray(q))
    np.testing.assert_allclose(g_z, 2 * (z - q) / z.size, rtol=1e-5) and np.testing.assert_array_equal(g_q, 0)
    g_z, g_q = jax.grad(lambda a, b: quantizer.vq_losses(a, b)["codebook"], argnums=(0, 1))(jnp.asarray(z),
                                                                                           jnp.asarray(q))
    np.testing.assert_array_equal(g_z, 0) and np.testing.assert_allclose(g_q, 2 * (q - z) / z.size, rtol=1e-5)


def test_ema_update_against_a_hand_computation():
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], np.float32)
    z = np.array([[0.2, 0.0], [0.0, 0.4], [1.0, 2.0]], np.float32)  # codes 0, 0, 1; code 2 unused
    codes = np.array([0, 0, 1])
    state = {"codebook": codebook, "counts": np.ones(3, np.float32), "sums": codebook.copy(),
             "idle": np.array([0, 3, 7], np.int32)}
    d, eps = 0.9, 1e-5
    counts = np.array([0.9 + 0.1 * 2, 0.9 + 0.1 * 1, 0.9])  # d N + (1 - d) n
    sums = np.array([[0.1 * 0.2, 0.1 * 0.4], [0.9 + 0.1, 0.9 + 0.2], [4.5, 4.5]])  # d m + (1 - d) sum z
    total = counts.sum()
    smoothed = (counts + eps) / (total + 3 * eps) * total
    out = quantizer.ema_update(jax.tree.map(jnp.asarray, state), jnp.asarray(z), jnp.asarray(codes), d, eps)
    np.testing.assert_allclose(out["counts"], counts, rtol=1e-6)
    np.testing.assert_allclose(out["sums"], sums, rtol=1e-6)
    np.testing.assert_allclose(out["codebook"], sums / smoothed[:, None], rtol=1e-5)
    np.testing.assert_array_equal(out["idle"], [0, 0, 8])


def test_dead_codes_restart_at_encoder_outputs_of_the_batch():
    z, codebook = _data(4, n=8, k=4, d=3)
    state = {"codebook": jnp.asarray(codebook), "counts": jnp.full((4,), 2.0), "sums": jnp.asarray(codebook),
             "idle": jnp.array([0, 5, 2, 9], jnp.int32)}
    out = jax.device_get(quantizer.restart_dead(state, jnp.asarray(z), jax.random.key(0), restart_after=5))
    for k in (0, 2):  # alive: unchanged
        np.testing.assert_array_equal(out["codebook"][k], codebook[k])
        assert out["counts"][k] == 2.0 and out["idle"][k] == state["idle"][k]
    for k in (1, 3):  # dead: a row of z, its running sums on it, count 1, idle 0
        assert any(np.array_equal(out["codebook"][k], row) for row in z)
        np.testing.assert_array_equal(out["sums"][k], out["codebook"][k])
        assert out["counts"][k] == 1.0 and out["idle"][k] == 0
    # Through the module: a code far from every input is restarted after `restart_after` training calls.
    module = quantizer.VectorQuantizer(4, 3, ema=True, restart_after=2)
    variables = dict(module.init(jax.random.key(0), jnp.asarray(z)))
    far = np.array(codebook)
    far[2] = 1e3
    variables["vq"] = {**variables["vq"], "codebook": jnp.asarray(far), "sums": jnp.asarray(far)}
    for step in range(2):
        (_, codes, _), new = module.apply(variables, jnp.asarray(z), train=True, mutable=["vq"],
                                          rngs={"dropout": jax.random.key(step)})
        assert 2 not in np.asarray(codes)
        variables = {**variables, **new}
    assert np.abs(np.asarray(variables["vq"]["codebook"][2])).max() < 10  # restarted near the data


def test_perplexity_and_usage():
    codes = jnp.array([0, 1, 2, 3] * 5)
    out = quantizer.usage(codes, 8)
    np.testing.assert_allclose(out["perplexity"], 4.0, rtol=1e-6)
    np.testing.assert_allclose(out["usage"], 0.5)
    np.testing.assert_allclose(quantizer.usage(jnp.zeros(7, jnp.int32), 8)["perplexity"], 1.0)
