"""Research tools: exact demonstrations of GAN theory (the optimal discriminator, the Dirac-GAN), the game
Jacobian, loss landscapes and Hessian spectra of any trained workdir (`jaxgen research`)."""
