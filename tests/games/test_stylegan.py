"""StyleGAN (jaxgen.models.stylegan) in the progressive game: one step of configs/stylegan_emoji.py:f,tiny (every
switch on: mapping, styles, constant input, noise, mixing) on the test emoji; the tracked average w lives in G's
model state and moves in training."""

import jax
import numpy as np

from jaxgen import config as config_lib
from jaxgen.trainers import gan


def test_one_tiny_step_through_the_progressive_game(emoji_data_dir, tmp_path, one_device_mesh):
    config = config_lib.load("configs/stylegan_emoji.py:f,tiny", [f"data.data_dir={emoji_data_dir}", "num_steps=1",
                                                                  "sample_every=1000", "checkpoint_every=1000"])
    assert config.game == "progressive" and config.model.mixing_prob == 0.9
    state = jax.device_get(gan.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh))
    assert int(state["step"]) == 1 and int(state["stage"]) == 0
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(state["params"]))
    assert set(state["params"]["g"]) == {"mapping_network", "synthesis"} and "const" in state["params"]["g"]["synthesis"]
    w_avg = state["model_state"]["g"]["batch_stats"]["w_avg"]
    assert w_avg.shape == (8,) and np.abs(w_avg).sum() > 0  # from its initial zeros, by D's and G's training calls
    assert set(state["ema"]["synthesis"]) == set(state["params"]["g"]["synthesis"])
