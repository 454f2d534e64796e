"""The shared base of the loss-zoo configs `configs/<loss>_mnist.py` (not a config itself).

One architecture for every row (DCGAN, Radford et al. 2015, on the bundled 28x28 digits, batch 64),
so the rows differ only in what the papers that introduced them prescribe: the objective, the
penalty, the critic's normalisation, `n_critic` and the optimiser. Lucic et al. 2018 ("Are GANs
Created Equal?") keep the architecture fixed in the same way (their Table 1 lists the objectives).
"""

from jaxgen import config as config_lib
from jaxgen.engine import optimizers
from jaxgen.trainers import gan

# Per row: (n_critic, model.d_norm, optimizer for both nets) as the row's paper trains it.
_ADAM_DCGAN = optimizers.adam_config(2e-4, 0.5, 0.999)  # Radford et al. 2015; also LSGAN, hinge, R1/R2 here
_ADAM_GP = optimizers.adam_config(1e-4, 0.5, 0.9)  # Gulrajani et al. 2017 (beta1 0 or 0.5); DRAGAN's code
_SETTINGS = {
    "mm": (1, "batch", _ADAM_DCGAN),
    "ns": (1, "batch", _ADAM_DCGAN),
    "wgan": (5, "batch", optimizers.rmsprop_config(5e-5)),  # Arjovsky et al. 2017, Algorithm 1
    "wgan_gp": (5, "none", _ADAM_GP),  # no BatchNorm under a gradient penalty
    "lsgan": (1, "batch", _ADAM_DCGAN),
    "dragan": (1, "none", _ADAM_GP),
    "began": (1, "none", optimizers.adam_config(1e-4, 0.5, 0.999)),  # Berthelot et al. 2017
    "hinge": (1, "batch", _ADAM_DCGAN),
    "r1": (1, "none", _ADAM_DCGAN),
    "r2": (1, "none", _ADAM_DCGAN),
}


def zoo_config(loss: str, arg=None):
    """The config of row `loss` on DCGAN-MNIST; `arg="tiny"` shrinks it to seconds for tests."""
    model = "began" if loss == "began" else "dcgan"
    config = gan.default_config(model, loss)
    n_critic, d_norm, opt = _SETTINGS[loss]
    config.n_critic = n_critic
    config.model.d_norm = d_norm
    config.optimizer.g = opt.copy_and_resolve_references()
    config.optimizer.d = opt.copy_and_resolve_references()
    config.num_steps = 3000
    config.batch_size = 64
    if arg == "tiny":
        config_lib.shrink_for_tests(config)
        config.model.width = 8
        config.model.z_dim = 8
        if model == "began":
            config.model.code_dim = 8
    elif arg is not None:
        raise ValueError(f"unknown variant {arg!r}; known: tiny")
    return config
