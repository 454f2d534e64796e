"""Research tools: small, exact demonstrations of GAN theory (the optimal discriminator; issue 6 adds
loss landscapes, Hessians and game dynamics)."""
