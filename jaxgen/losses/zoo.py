"""The loss zoo as configs: each row of Lucic et al. 2018, Table 1 (plus hinge, R1, R2) by name.

A row is an objective of :mod:`jaxgen.losses.gan`, an optional penalty of
:mod:`jaxgen.losses.penalties` with its weight, and the row's own knobs (WGAN's clip value, BEGAN's
gamma and lambda_k). ``loss_config(name)`` gives the ``config.loss`` block for it; every field can
then be overridden (``--config.loss.penalty_weight=5``). Config files read this module, so it imports no JAX
(:mod:`jaxgen.defaults`); only :func:`validate` reads the objectives and penalties.
"""

from __future__ import annotations

import ml_collections

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError

# name -> (objective, penalty, penalty_weight); the papers' defaults.
ROWS = {
    "mm": ("mm", "none", 0.0),  # Goodfellow et al. 2014, saturating G loss
    "ns": ("ns", "none", 0.0),  # Goodfellow et al. 2014, non-saturating G loss
    "wgan": ("wgan", "none", 0.0),  # Arjovsky et al. 2017; weight clipping via loss.clip
    "wgan_gp": ("wgan", "wgan_gp", 10.0),  # Gulrajani et al. 2017, lambda = 10
    "lsgan": ("lsgan", "none", 0.0),  # Mao et al. 2017
    "dragan": ("ns", "dragan", 10.0),  # Kodali et al. 2017, lambda = 10
    "began": ("began", "none", 0.0),  # Berthelot et al. 2017; needs an autoencoder discriminator
    "hinge": ("hinge", "none", 0.0),  # Lim & Ye 2017; Miyato et al. 2018
    "r1": ("ns", "r1", 10.0),  # Mescheder et al. 2018, gamma = 10
    "r2": ("ns", "r2", 10.0),  # Mescheder et al. 2018, gamma = 10
}


def loss_config(name: str) -> ml_collections.ConfigDict:
    """The ``config.loss`` block of the row called ``name``."""
    if name not in ROWS:
        raise ConfigError(f"unknown loss {name!r}; choose one of {sorted(ROWS)}")
    objective, penalty, weight = ROWS[name]
    return ml_collections.ConfigDict(dict(
        name=name,
        objective=objective,  # jaxgen.losses.gan.OBJECTIVES
        penalty=penalty,  # jaxgen.losses.penalties.PENALTIES
        penalty_weight=weight,  # lambda (WGAN-GP, DRAGAN) or gamma (R1, R2: the term is gamma/2 E||grad||^2)
        reg_every=1,  # lazy regularisation: the penalty every N steps, scaled by N (StyleGAN2); 1 = every step
        g_reg_every=4,  # a game's lazy G-reg terms (path length, weighted by loss.weights): every N steps (StyleGAN2)
        dragan_c=0.5,  # DRAGAN noise std in units of the batch's pixel std
        clip=0.01 if name == "wgan" else 0.0,  # WGAN: clip D's parameters to [-clip, clip] after each step; 0 = off
        began_gamma=0.5,  # BEGAN diversity ratio gamma = E e(G(z)) / E e(x)
        began_lambda_k=0.001,  # BEGAN proportional gain of k_t
    ))


def validate(loss) -> None:
    """Checks a ``config.loss`` block; raises ConfigError naming the bad key."""
    from jaxgen.losses import gan, penalties  # JAX: imported when a trainer checks its config, not by config files

    for name in (loss.objective.options if isinstance(loss.objective, config_lib.Choice) else (loss.objective,)):
        gan.objective(name)
    if loss.penalty not in penalties.PENALTIES:
        raise ConfigError(f"config key 'loss.penalty' must be one of {list(penalties.PENALTIES)}, got {loss.penalty!r}")
    if loss.penalty != "none" and not config_lib.is_traced(loss.penalty_weight) and loss.penalty_weight <= 0:
        raise ConfigError(f"config key 'loss.penalty_weight' must be > 0 with loss.penalty={loss.penalty!r}, "
                          f"got {loss.penalty_weight} (set loss.penalty='none' to train without it)")
    if loss.reg_every < 1:
        raise ConfigError(f"config key 'loss.reg_every' must be >= 1 (1 = penalty every step), got {loss.reg_every}")
    if not config_lib.is_traced(loss.clip) and loss.clip < 0:
        raise ConfigError(f"config key 'loss.clip' must be >= 0 (0 = no weight clipping), got {loss.clip}")
