"""Pure loss functions: GAN objectives and penalties; likelihoods, KL, bounds and units (`likelihood`); Gram, style,
feature and total-variation losses (`perceptual`)."""
