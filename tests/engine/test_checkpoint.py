"""Orbax checkpoints: round trip, keep-last-N, fallback from a corrupt latest checkpoint."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.engine import checkpoint


def _state(value):
    return {"step": jnp.int32(value), "params": {"w": jnp.full((3, 2), float(value)), "b": jnp.arange(4.0) + value}}


def test_round_trip_keep_last(tmp_path):
    ckpt = checkpoint.Checkpointer(str(tmp_path / "ck"), keep=2)
    for step in (1, 2, 3):
        ckpt.save(step, _state(step), {"iterator": f"it{step}"})
    assert ckpt.steps() == [2, 3]
    step, state, data = ckpt.restore(checkpoint.abstract(_state(0)))
    assert step == 3 and data == {"iterator": "it3"}
    np.testing.assert_array_equal(state["params"]["w"], np.full((3, 2), 3.0))
    step, state, _ = ckpt.restore(checkpoint.abstract(_state(0)), step=2)
    assert int(state["step"]) == 2
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint for step 7"):
        ckpt.restore(checkpoint.abstract(_state(0)), step=7)
    ckpt.close()


def test_empty_directory_restores_none(tmp_path):
    assert checkpoint.Checkpointer(str(tmp_path / "ck")).restore(checkpoint.abstract(_state(0))) is None


def test_corrupt_latest_falls_back_loudly(tmp_path, capsys):
    directory = tmp_path / "ck"
    ckpt = checkpoint.Checkpointer(str(directory), keep=3)
    ckpt.save(1, _state(1))
    ckpt.save(2, _state(2))
    ckpt.close()
    # Corrupt checkpoint 2: empty every file of its state item.
    for root, _, files in os.walk(directory / "2" / "state"):
        for name in files:
            open(os.path.join(root, name), "wb").close()
    ckpt = checkpoint.Checkpointer(str(directory), keep=3)
    step, state, _ = ckpt.restore(checkpoint.abstract(_state(0)))
    assert step == 1 and int(state["step"]) == 1
    err = capsys.readouterr().err
    assert "WARNING: checkpoint 2" in err and "fell back to checkpoint 1" in err
    assert ckpt.steps() == [1]
    assert any(name.startswith("corrupt-2") for name in os.listdir(directory))
    ckpt.save(2, _state(22))  # the step can be saved again after the fallback
    assert int(ckpt.restore(checkpoint.abstract(_state(0)))[1]["step"]) == 22


def test_half_written_checkpoint_is_ignored(tmp_path):
    directory = tmp_path / "ck"
    ckpt = checkpoint.Checkpointer(str(directory))
    ckpt.save(1, _state(1))
    ckpt.close()
    # What a save killed mid-write leaves: Orbax's temporary directory, never renamed to "2".
    os.makedirs(directory / "2.orbax-checkpoint-tmp-123" / "state")
    ckpt = checkpoint.Checkpointer(str(directory))
    assert ckpt.steps() == [1]
    assert ckpt.restore(checkpoint.abstract(_state(0)))[0] == 1
