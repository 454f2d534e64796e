"""The classic game without noise (`config.game = "tests.games.image_input_game"`): G's input is a fixed function
of the batch (the first `model.z_dim` pixels of each image), so a step is a deterministic function of its batches.
What gradient accumulation is tested on: k micro-batches must give the step on their concatenation."""

from __future__ import annotations

from jaxgen.defaults import games as game_defaults
from jaxgen.games import unconditional

WEIGHTS = game_defaults.WEIGHTS["unconditional"]


def default_config(model: str):
    return game_defaults.model_config("unconditional", model)


class ImageInput(unconditional.Unconditional):
    def _z(self, images):  # [B, H, W, C] -> [B, z_dim]
        return images.reshape(images.shape[0], -1)[:, : self.model_cfg.z_dim]

    def d_inputs(self, players, batch, key):
        return {"real": batch["image"], "fake": players("g", self._z(batch["image"]), rng=key), "labels": None}

    def g_inputs(self, players, batch, keys):
        return {"z": self._z(batch["image"]), "labels": None}


def build(config, info: dict, mesh) -> ImageInput:
    return ImageInput(config, info, mesh)
