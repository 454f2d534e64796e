"""`jaxgen dissect` end to end on a tiny class-conditional DCGAN (2 training steps): the files, their agreement
with each other and with the run's layer, the one-line errors."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.edit import dissect_report
from jaxgen.engine import writers
from jaxgen.trainers import gan
from tests.test_cli import _IMPORTS_OF_MAIN, subprocess_env

NUM = 24
SCALE = max(1, dissect_report.FIGURE_PX // 28)  # the figures' enlargement of 28 px digits


def _grid_size(count, ncol):
    """(width, height) of the PNG of `count` digits in `ncol` columns."""
    h, w, _ = writers.image_grid(np.zeros((count, 28, 28, 1)), ncol).shape
    return w * SCALE, h * SCALE


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("cdcgan"))
    config = config_lib.load("cdcgan_mnist:tiny", ["num_steps=2", "checkpoint_every=2", "sample_every=2"])
    gan.train_and_evaluate(config, workdir, mesh=one_device_mesh)
    return workdir


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxgen: error: ") and "\n" not in err, err
    assert fragment in err, err


def test_dissect_writes_consistent_files(run, tmp_path, capsys):
    out = str(tmp_path / "dissect")
    argv = ["dissect", "--workdir", run, "--layer", "up0_bn", "--out", out, "--num", str(NUM), "--units", "2",
            "--region", "0,0,0.5,1"]
    assert cli.main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    with open(os.path.join(out, "dissect.json")) as f:
        info = json.load(f)
    h, w, units = info["shape"]
    assert (info["layer"], info["num"], info["concepts"]) == ("up0_bn", NUM, ["stroke", "hole", "background"])
    with open(os.path.join(out, "units.csv")) as f:
        table = list(csv.DictReader(f))
    assert sorted(int(r["unit"]) for r in table) == list(range(units))
    ious = [float(r["iou"]) for r in table]
    assert ious == sorted(ious, reverse=True) and all(0 <= v <= 1 for v in ious)
    for row, unit in zip(table, info["units"]):  # the CSV is the JSON's table; the best concept is the argmax
        assert int(row["unit"]) == unit["unit"] and row["concept"] == max(unit["ious"], key=unit["ious"].get)
    with open(os.path.join(out, "interventions.csv")) as f:
        effects = list(csv.DictReader(f))
    assert [e["concept"] for e in effects] == list(dict.fromkeys(r["concept"] for r in table if float(r["iou"]) > 0))
    for e in effects:
        assert len(e["units"].split()) == 2
        assert float(e["ablated"]) - float(e["before"]) == pytest.approx(float(e["ablate_effect"]), abs=1e-9)
        assert float(e["before"]) == pytest.approx(info["shares"][e["concept"]])
        figure = Image.open(os.path.join(out, f"interventions_{e['concept']}.png"))
        assert figure.size == _grid_size(3 * 8, 8)  # before / ablated / inserted rows of 8 samples
    figure = Image.open(os.path.join(out, "units.png"))
    count = min(units, dissect_report.UNIT_ROWS) * 2 * dissect_report.UNIT_COLUMNS
    assert figure.size == _grid_size(count, 2 * dissect_report.UNIT_COLUMNS)


@pytest.mark.parametrize("extra, fragment", [
    (["--layer", "up7"], "no layer 'up7' in this generator; its layers (h x w x units) are: project_bn 7x7x16, "
                         "up0 14x14x8, up0_bn 14x14x8, up1 28x28x1"),
    (["--layer", "up0_bn", "--concepts", "red"], "no concept 'red' for these images; the concepts are stroke"),
    (["--layer", "up0_bn", "--region", "0.5,0,0.2,1"], "--region must be y0,x0,y1,x1"),
    (["--layer", "up0_bn", "--num", "0"], "--num and --units must be at least 1"),
    (["--layer", "up0_bn", "--out", __file__], "is a file; give the directory"),
])
def test_bad_arguments_are_one_line_errors(run, tmp_path, capsys, extra, fragment):
    argv = ["dissect", "--workdir", run, "--out", str(tmp_path / "d"), "--num", "4", *extra]
    assert cli.main(argv) == cli.EXIT_USAGE
    _one_line_error(capsys, fragment)


def test_bad_region_fails_before_jax_is_imported(run, tmp_path):
    argv = ["dissect", "--workdir", run, "--layer", "up0_bn", "--out", str(tmp_path), "--region", "0,0,1"]
    env = {**subprocess_env(), "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))}
    proc = subprocess.run([sys.executable, "-c", _IMPORTS_OF_MAIN, *argv], env=env, text=True, capture_output=True,
                          timeout=120, check=False)
    assert proc.stdout.split() == [str(cli.EXIT_USAGE), "none"], (proc.stdout, proc.stderr)
    assert proc.stderr.strip() == "jaxgen: error: --region must be y0,x0,y1,x1 with 0 <= y0 < y1 <= 1 and " \
                                  "0 <= x0 < x1 <= 1, got '0,0,1'"
