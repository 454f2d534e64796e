"""VQ-GAN in the vq game (jaxgen.games.vq) on configs/vqgan_emoji.py:tiny's networks (16 x 16 grey images, no data
read): the stages, the adaptive weight against the two gradient norms computed directly through the whole model (L_rec
without the perceptual term: the VGG would only slow the test), the perceptual term's LPIPS on grey images."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import config as config_lib
from jaxgen.games import vq
from jaxgen.games.base import Players
from jaxgen.losses import gan as gan_losses


def _game(perceptual=0.0):
    config = config_lib.load("configs/vqgan_emoji.py:tiny", [f"loss.weights.perceptual={perceptual}"])
    return vq.build(config, {"image_shape": (16, 16, 1)}, None)


def test_stages_and_players():
    game = _game()
    assert game.stage_starts == (0, 1, 3) and game.d_players == ("d",)
    assert [game.critic_on(s) for s in range(3)] == [False, True, False]
    assert [game.prior_on(s) for s in range(3)] == [False, False, True]


def test_adaptive_weight_is_the_ratio_of_the_gradient_norms_at_the_last_layer():
    game = _game()
    params, model_state = game.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 1), minval=-1, maxval=1)
    key = jax.random.key(2)
    players = Players(game.modules, params, model_state, 1, jnp.int32(1))
    x_hat, _, _, hidden = players("autoencoder", x, True, rng=key, train=False)
    lam = jax.jit(lambda h, y: game.lambda_of(players, h, y, x, key))(hidden, x_hat)

    def losses(kernel):  # both losses through the whole autoencoder, as functions of the last kernel
        p = {**params["autoencoder"], "up1": {**params["autoencoder"]["up1"], "kernel": kernel}}
        y = game.modules["autoencoder"].apply({"params": p, **model_state["autoencoder"]}, x)[0]
        d = game.modules["d"].apply({"params": params["d"]}, y, train=True)
        return game._rec_total(y, x), gan_losses.g_loss_fn("hinge")(d)

    kernel = params["autoencoder"]["up1"]["kernel"]
    g_rec, g_gan = jax.jit(lambda k: (jax.grad(lambda v: losses(v)[0])(k), jax.grad(lambda v: losses(v)[1])(k)))(kernel)
    expected = np.linalg.norm(np.ravel(g_rec)) / (np.linalg.norm(np.ravel(g_gan)) + 1e-4)
    np.testing.assert_allclose(lam, min(expected, 1e4), rtol=1e-4)
    assert float(vq.adaptive_weight(jnp.ones(3), jnp.zeros(3))) == 1e4  # clipped


def test_perceptual_term_is_zero_on_equal_images_and_positive_otherwise():
    game = _game(1.0)
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 1), minval=-1, maxval=1)
    assert float(game.features(x, x)) == 0.0 and float(game.features(x, -x)) > 0.0
