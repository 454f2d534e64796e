"""Sample-quality metrics of generative models (mode coverage on toy mixtures; FID, KID, … to come)."""
