"""tools/family_table.py's real floor: a seeded random subset of the reference split (the split is stored in
codepoint order, so its first images are one corner of it), scored like a family's samples."""

import argparse
import importlib.util
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("family_table", ROOT / "tools" / "family_table.py")
family_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(family_table)


def test_the_real_floor_is_a_seeded_random_subset_of_the_split(monkeypatch):
    split = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1) * np.ones((1, 4, 4, 3), np.float32)
    scored = []
    monkeypatch.setattr(family_table.pipeline, "read_split",
                        lambda data, name, limit=None: {"image": split if limit is None else split[:limit]})
    monkeypatch.setattr(family_table.evaluate, "evaluate",
                        lambda images, data, protocol, net=None: scored.append(images) or {})
    args = argparse.Namespace(split="train", num=30, features="emojinet")
    data = argparse.Namespace(name="twemoji")
    row, shown = family_table.real_row(data, args, net=None)
    rows = [scored[0][:, 0, 0, 0].astype(int)]
    family_table.real_row(data, args, net=None)  # again: the same images
    rows.append(scored[1][:, 0, 0, 0].astype(int))
    assert len(rows[0]) == len(set(rows[0])) == 30 and rows[0].max() > 30  # not the first 30, no repeats
    np.testing.assert_array_equal(rows[0], rows[1])
    assert row["family"] == "real (train images)" and shown.shape == (12, 4, 4, 3)
    shown_ids = shown[:, 0, 0, 0].astype(int)
    assert set(shown_ids) <= set(rows[0]) and list(shown_ids) != sorted(shown_ids)  # a random 12, not the lowest
