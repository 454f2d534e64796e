"""Class conditioning and spectral normalisation, for every GAN family (dcgan, gan_mlp).

Each conditional module is checked against a closed form built from the *unconditional* module of the same
family with the same variables: G(z, y) = G0([z; onehot(y)]); concat-D(x, y) = D0([x; onehot(y)]);
projection-D(x, y) = D0(x) + <embed[y], phi(x)> with phi(x) = d D0(x) / d w_psi (D0 is linear in psi's
kernel); AC-GAN class logits = phi(x) W_c + b_c. Spectral norm: after many power-iteration steps the SN
discriminator equals the plain one with every kernel divided by its numpy top singular value.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import dcgan, gan_mlp
from jaxgen.nn import conditioning as cond
from tests.models.variables import key, noise_variables

K = 3  # classes
SHAPE = (8, 8, 1)
N = 4
FAMILIES = {
    "dcgan": {"width": 4, "z_dim": 5, "d_norm": "none"},
    "gan_mlp": {"z_dim": 5, "g_hidden": (8,), "d_units": (6, 5), "d_pieces": 2},
}


def _family(name):
    return {"dcgan": dcgan, "gan_mlp": gan_mlp}[name]


def _cfg(name, **kw):
    cfg = model_defaults.config(name)
    cfg.update({**FAMILIES[name], **kw})
    return cfg


def _variables(module, *args, seed=0):
    """Noise variables, weights (BatchNorm scales too) N(0, 0.3)."""
    return noise_variables(module, *args, seed=seed, std=0.3, scales_around_one=False)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    z = jnp.asarray(rng.standard_normal((N, 5)), jnp.float32)
    x = jnp.asarray(rng.uniform(-1, 1, (N,) + SHAPE), jnp.float32)
    y = jnp.asarray([0, 2, 1, 2], jnp.int32)
    return z, x, y


def _one_hot(y):
    return np.eye(K, dtype=np.float32)[np.asarray(y)]


def _d_input_with_labels(family, x, y):
    """The input an unconditional D must see to compute the concat-D: labels as channels (images) or
    as features after the flattened image (MLP)."""
    code = _one_hot(y)
    if family == "dcgan":
        return jnp.concatenate([x, jnp.broadcast_to(code[:, None, None, :], x.shape[:-1] + (K,))], axis=-1)
    return jnp.concatenate([x.reshape(N, -1), code], axis=-1)


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_conditions_on_concatenated_one_hot(family):
    fam = _family(family)
    z, _, y = _inputs()
    assert [fam.generator(_cfg(family, conditioning=m), SHAPE, K).num_classes for m in cond.CONDITIONINGS] == \
        [None, K, K, K]  # every conditional mode has the same generator
    g = fam.generator(_cfg(family, conditioning="acgan"), SHAPE, K)
    g0 = fam.generator(_cfg(family, z_dim=5 + K), SHAPE, None)
    v = _variables(g, z, y)
    zy = jnp.concatenate([z, _one_hot(y)], axis=1)
    out, other, ref = jax.jit(lambda v: (g.apply(v, z, y, train=False), g.apply(v, z, (y + 1) % K, train=False),
                                         g0.apply(v, zy, train=False)))(v)
    assert out.shape == (N,) + SHAPE
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert np.abs(np.asarray(out) - np.asarray(other)).max() > 1e-3  # the labels change the images


@pytest.mark.parametrize("family", FAMILIES)
def test_concat_discriminator(family):
    fam = _family(family)
    _, x, y = _inputs()
    d = fam.discriminator(_cfg(family, conditioning="concat"), SHAPE, K)
    d0 = fam.discriminator(_cfg(family), SHAPE, None)
    v = _variables(d, x, y)
    xy = _d_input_with_labels(family, x, y)
    if family == "dcgan":
        assert v["params"]["down0"]["kernel"].shape[2] == SHAPE[-1] + K
    out, other, ref = jax.jit(lambda v: (d.apply(v, x, y, train=False), d.apply(v, x, (y + 1) % K, train=False),
                                         d0.apply(v, xy, train=False)))(v)
    assert out.shape == (N,)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert np.abs(np.asarray(out) - np.asarray(other)).max() > 1e-3  # the labels change the logits


def _phi(d0, v0, x):
    """phi(x) [N, F]: the per-example gradient of the unconditional logit w.r.t. psi's kernel [F, 1]."""
    def logit(kernel, xi):
        params = {**v0["params"], "logit": {**v0["params"]["logit"], "kernel": kernel}}
        return d0.apply({**v0, "params": params}, xi[None], train=False)[0]

    grads = jax.vmap(jax.grad(logit), in_axes=(None, 0))(v0["params"]["logit"]["kernel"], x)
    return grads[..., 0]


def _without(v, name):
    return {**v, "params": {k: p for k, p in v["params"].items() if k != name}}


@pytest.mark.parametrize("family", FAMILIES)
def test_projection_discriminator_closed_form(family):
    fam = _family(family)
    _, x, y = _inputs()
    d = fam.discriminator(_cfg(family, conditioning="projection"), SHAPE, K)
    d0 = fam.discriminator(_cfg(family), SHAPE, None)
    v = _variables(d, x, y)
    v0 = _without(v, "embed")

    @jax.jit
    def run(v, v0):
        return d.apply(v, x, y, train=False), d.apply(v, x, (y + 1) % K, train=False), d0.apply(v0, x, train=False), \
            _phi(d0, v0, x)

    out, other, psi, phi = run(v, v0)
    embed = np.asarray(v["params"]["embed"]["embedding"])
    assert embed.shape == (K, phi.shape[1])
    want = np.asarray(psi) + np.sum(embed[np.asarray(y)] * np.asarray(phi), axis=1)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    assert np.abs(np.asarray(out) - np.asarray(other)).max() > 1e-3  # the labels change the logits


@pytest.mark.parametrize("family", FAMILIES)
def test_acgan_discriminator_heads(family):
    fam = _family(family)
    _, x, y = _inputs()
    d = fam.discriminator(_cfg(family, conditioning="acgan"), SHAPE, K)
    d0 = fam.discriminator(_cfg(family), SHAPE, None)
    v = _variables(d, x)
    v0 = _without(v, "class_logits")

    @jax.jit
    def run(v, v0):
        return d.apply(v, x, y, train=False), d.apply(v, x, train=False), d0.apply(v0, x, train=False), \
            _phi(d0, v0, x)

    (logits, class_logits), (logits_nolabel, _), ref, phi = run(v, v0)
    assert logits.shape == (N,) and class_logits.shape == (N, K)
    np.testing.assert_allclose(logits, ref, rtol=1e-5, atol=1e-5)  # the source head is the unconditional D
    np.testing.assert_array_equal(logits, logits_nolabel)  # D does not see the labels
    head = v["params"]["class_logits"]
    np.testing.assert_allclose(class_logits, np.asarray(phi) @ head["kernel"] + head["bias"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_config_and_label_errors(family):
    fam = _family(family)
    for build in (fam.generator, fam.discriminator):
        with pytest.raises(ConfigError, match=r"model\.conditioning='cgan'.*choose one of"):
            build(_cfg(family, conditioning="cgan"), SHAPE, K)
        with pytest.raises(ConfigError, match=r"model\.conditioning='concat' needs class labels.*'none'"):
            build(_cfg(family, conditioning="concat"), SHAPE, None)
    z, x, y = _inputs()
    g = fam.generator(_cfg(family, conditioning="concat"), SHAPE, K)
    with pytest.raises(ValueError, match="needs labels"):
        jax.eval_shape(lambda: g.init(key(), z, train=False))
    g0 = fam.generator(_cfg(family), SHAPE, K)  # unconditional: the data's class count is ignored
    assert g0.num_classes is None
    with pytest.raises(ValueError, match="unconditional"):
        jax.eval_shape(lambda: g0.init(key(), z, y, train=False))
    d = fam.discriminator(_cfg(family, conditioning="projection"), SHAPE, K)
    with pytest.raises(ValueError, match="needs labels"):
        jax.eval_shape(lambda: d.init(key(), x, train=False))


def _top_singular_value(w):
    w = np.asarray(w, np.float64)
    return np.linalg.svd(w.reshape(-1, w.shape[-1]), compute_uv=False)[0]


@pytest.mark.parametrize("family,mode", [("dcgan", "projection"), ("gan_mlp", "acgan"), ("gan_mlp", "none")])
def test_spectral_norm_converges_to_unit_top_singular_value(family, mode):
    """Power iteration (one step per train-mode call) drives each stored sigma to the kernel's top singular
    value; then D's output is the plain D's with every kernel divided by its numpy top singular value."""
    fam = _family(family)
    _, x, y = _inputs()
    classes = None if mode == "none" else K
    labels = y if mode == "projection" else None
    d = fam.discriminator(_cfg(family, conditioning=mode, spectral_norm=True), SHAPE, classes)
    d_plain = fam.discriminator(_cfg(family, conditioning=mode), SHAPE, classes)
    v = _variables(d, x, labels)
    assert set(v) == {"params", "batch_stats"}
    assert jax.tree.structure(v["params"]) == jax.tree.structure(
        jax.eval_shape(lambda: d_plain.init(key(), x, labels, train=False))["params"])  # SN adds no params

    normalised = jax.tree.map(lambda w: w / _top_singular_value(w) if w.ndim >= 2 else w, v["params"])

    @jax.jit
    def run(v):
        def body(_, stats):
            return d.apply({**v, "batch_stats": stats}, x, labels, train=True, mutable=["batch_stats"],
                           rngs={"dropout": key(1)})[1]["batch_stats"]

        stats = jax.lax.fori_loop(0, 300, body, v["batch_stats"])
        out, unchanged = d.apply({**v, "batch_stats": stats}, x, labels, train=False, mutable=["batch_stats"])
        ref = d_plain.apply({"params": normalised}, x, labels, train=False)
        raw = d_plain.apply({"params": v["params"]}, x, labels, train=False)
        return stats, unchanged["batch_stats"], out, ref, raw

    stats, unchanged, out, ref, raw = run(v)
    assert jax.tree.all(jax.tree.map(np.array_equal, unchanged, stats))  # eval mode leaves u and sigma alone
    # every matrix (conv/dense kernels, the projection embedding) has its own sigma: its top singular value
    sigmas = {k.split("/")[0] + "/" + k.split("/")[-2]: float(s) for layer in stats.values()
              for k, s in layer.items() if k.endswith("/sigma")}
    matrices = {f"{path[0].key}/{path[-1].key}": w
                for path, w in jax.tree_util.tree_leaves_with_path(v["params"]) if w.ndim >= 2}
    assert set(sigmas) == set(matrices)
    for name, w in matrices.items():
        np.testing.assert_allclose(_top_singular_value(np.asarray(w) / sigmas[name]), 1.0, rtol=1e-3, err_msg=name)
    for a, b, c in zip(jax.tree.leaves(out), jax.tree.leaves(ref), jax.tree.leaves(raw)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
        assert np.abs(np.asarray(b) - np.asarray(c)).max() > 1e-2  # not vacuous: normalising changes D


def test_concat_one_hot_layout():
    x = jnp.arange(2 * 2 * 3, dtype=jnp.float32).reshape(2, 1, 2, 3)
    out = cond.concat_one_hot(x, jnp.asarray([2, 0]), 4)
    assert out.shape == (2, 1, 2, 7)
    np.testing.assert_array_equal(out[..., :3], x)
    np.testing.assert_array_equal(out[0, 0, 1, 3:], [0, 0, 1, 0])
    np.testing.assert_array_equal(out[1, 0, 0, 3:], [1, 0, 0, 0])
