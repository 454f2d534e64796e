"""Latent editing of trained generators (`jaxgen edit`): :mod:`jaxgen.edit.generator` wraps a trained run's G as
pure functions of its latents (z, and for style-based generators w and one w per layer)."""
