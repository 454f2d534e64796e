"""The default configs of every trainer, game and model family, as plain `ml_collections` (no JAX).

Config files (`configs/*.py`) build on these, so loading a config, applying its `--config.*` overrides and
refusing a misspelt key or a bad value take a fraction of a second: nothing here imports JAX, Flax, Optax, TFDS or
grain (`tests/test_config.py` checks it). The modules that read a config live elsewhere: `trainers.<name>`,
`games.<name>`, `models.<family>`, `engine.optimizers`.
"""
