"""The training engine: sharding, checkpoints, writers, optimizers and the loop every trainer uses."""
