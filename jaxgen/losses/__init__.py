"""Pure loss functions: GAN objectives (and, later, likelihoods, VQ, perceptual losses)."""
