"""Faults a cluster or a careless user causes, and what a run does about them: preemption (SIGTERM, to the
process group too, a second signal mid-save), a second trainer on the workdir, exploding parameters, a changed architecture, unreadable or
missing files, a full disk, values out of range. Each leaves the last good checkpoint usable and says so in one
line."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxgen import cli
from jaxgen.engine import checkpoint as checkpoint_lib
from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from tests.test_cli import _jaxgen, subprocess_env, wait_for_first_log

TINY = "configs/dcgan_mnist.py:tiny"  # 4 steps, checkpoints at 2 and 4, logs every 2


@pytest.fixture(scope="module", autouse=True)
def prepared():
    from jaxgen import data

    data.prepare("mnist5k")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A TINY run trained to its end (checkpoints 2 and 4); tests copy it before changing it."""
    workdir = str(tmp_path_factory.mktemp("trained") / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0
    return workdir


def _copy(trained, tmp_path):
    workdir = str(tmp_path / "run")
    shutil.copytree(trained, workdir)
    return workdir


def _error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    line = err.splitlines()[-1]
    assert line.startswith("jaxgen: error: "), err
    assert fragment in line, err
    return err


def _steps(workdir):
    return sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())


def _params(workdir, step=None):
    return jax.device_get(workdir_lib.restore(workdir, step)[2]["params"])


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("override, fragment", [
    ("keep_checkpoints=0", "'keep_checkpoints' must be at least 1, got 0"),
    ("model.width=0", "'model.width' must be at least 1"),
    ("num_samples=0", "'num_samples' must be at least 1"),
    ("model.z_dim=-3", "'model.z_dim' must be at least 1"),
    ("data.num_workers=-1", "'data.num_workers' must not be negative"),
    ("optimizer.g.b1=1.0", "'optimizer.g.b1' must be in [0, 1)"),
    ("max_seconds=-5", "'max_seconds' must not be negative"),
])
def test_values_out_of_range_are_refused_before_anything_is_touched(override, fragment, trained, tmp_path, capsys):
    workdir = _copy(trained, tmp_path)
    before = sorted(os.listdir(workdir)), _steps(workdir)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, f"--config.{override}",
                     "--config.num_steps=6"]) == cli.EXIT_USAGE
    _error(capsys, fragment)
    assert (sorted(os.listdir(workdir)), _steps(workdir)) == before


def test_sigterm_saves_and_the_resumed_run_equals_the_uninterrupted_one(tmp_path):
    """What SLURM and TPU preemption send: the run checkpoints, exits like Ctrl-C, and resumes bit for bit."""
    args = ["--config", TINY, "--config.num_steps=300", "--config.log_every=1", "--config.checkpoint_every=100000",
            "--config.sample_every=100000"]
    env = subprocess_env()  # one CPU device, in the interrupted run and the reference run
    interrupted = tmp_path / "interrupted"
    proc = _jaxgen("train", "--workdir", str(interrupted), *args)
    wait_for_first_log(proc, interrupted, timeout=240)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "SIGTERM: saving a checkpoint" in err and "Traceback" not in err
    (stopped,) = _steps(str(interrupted))
    assert 1 <= stopped < 300
    for workdir in (interrupted, tmp_path / "uninterrupted"):
        out = subprocess.run([sys.executable, "-m", "jaxgen", "train", "--workdir", str(workdir), *args], env=env,
                             text=True, capture_output=True, timeout=600, check=False)
        assert out.returncode == 0, out.stderr
    _assert_same(_params(str(interrupted)), _params(str(tmp_path / "uninterrupted")))
    steps = [json.loads(line)["step"] for line in (interrupted / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 301))  # one line per step, none lost or repeated around the stop


def test_sigterm_to_the_process_group_with_data_workers_saves_and_resumes_exactly(tmp_path):
    """`timeout` and SLURM signal the whole process group, grain's worker processes too, and the trainer twice:
    the workers ignore it, the trainer saves at the step it reached (no traceback) and resumes bit for bit."""
    args = ["--config", TINY, "--config.num_steps=300", "--config.log_every=1", "--config.checkpoint_every=100000",
            "--config.sample_every=100000", "--config.data.num_workers=2"]
    interrupted = tmp_path / "interrupted"
    proc = _jaxgen("train", "--workdir", str(interrupted), *args, start_new_session=True)
    wait_for_first_log(proc, interrupted, timeout=240)
    proc.send_signal(signal.SIGTERM)  # as `timeout` does: the process, then its whole group
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "SIGTERM: saving a checkpoint" in err and "Traceback" not in err, err
    (stopped,) = _steps(str(interrupted))
    assert 1 <= stopped < 300
    for workdir in (interrupted, tmp_path / "uninterrupted"):
        out = subprocess.run([sys.executable, "-m", "jaxgen", "train", "--workdir", str(workdir), *args],
                             env=subprocess_env(), text=True, capture_output=True, timeout=600, check=False)
        assert out.returncode == 0, out.stderr
    _assert_same(_params(str(interrupted)), _params(str(tmp_path / "uninterrupted")))


def test_data_workers_ignore_a_sigterm_to_the_process_group(tmp_path):
    """grain's worker processes outlive a SIGTERM sent to the whole group: the process that owns the loader decides
    when they stop (a trainer may need more batches before its save: a step of several critic batches)."""
    script = tmp_path / "workers.py"  # grain spawns its workers, which import the main module: a file, not -c
    script.write_text(textwrap.dedent("""
        import os, signal, time
        from jaxgen import config
        from jaxgen.data import pipeline
        if __name__ == "__main__":
            data = config.load("dcgan_mnist:tiny").data
            data.num_workers = 2
            heard = []
            signal.signal(signal.SIGTERM, lambda *_: heard.append(1))
            batches = iter(pipeline.make_loader(data, global_batch_size=8, seed=0))
            next(batches)  # the workers start
            os.killpg(0, signal.SIGTERM)
            time.sleep(1)
            print("batches", sum(len(next(batches)["image"]) for _ in range(20)), "heard", len(heard))
    """))
    out = subprocess.run([sys.executable, str(script)], env=subprocess_env(), text=True, capture_output=True,
                         timeout=300, check=False, start_new_session=True)
    assert out.returncode == 0 and "batches 160 heard 1" in out.stdout, out.stdout + out.stderr


def test_a_repeated_sigterm_still_saves_and_a_second_ctrl_c_stops_at_once():
    from jaxgen.engine import loop

    with loop._StopFlag() as stop:
        for _ in range(3):  # `timeout` signals the process and its group; schedulers may repeat it
            os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and stop.reached(1)
    with loop._StopFlag() as stop, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        os.kill(os.getpid(), signal.SIGINT)  # the user means it


def test_a_spent_time_budget_saves_exits_75_and_the_same_command_continues_exactly(trained, tmp_path, monkeypatch,
                                                                                    capsys):
    """`config.max_seconds`: a cluster job's allocation ends before num_steps; the run saves and stops by itself
    (after step 3 here: a clock that advances one second per reading, a budget of 2.5 s), says how to go on, and the
    same command (no budget now) ends where an uninterrupted run does."""
    from jaxgen.engine import loop

    ticks = iter(range(1000))
    monkeypatch.setattr(loop, "_clock", lambda: float(next(ticks)))
    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.max_seconds=2.5"]) == \
        cli.EXIT_TIME_BUDGET == 75
    err = capsys.readouterr().err
    assert "Traceback" not in err and "time budget: saves and stops after 2.5 s" in err
    assert "budget_left=0:00:0" in err  # the bar shows the time left (the fake clock's seconds)
    assert err.strip().splitlines()[-1].startswith(
        "jaxgen: time budget config.max_seconds=2.5 reached at step 3 of 4; checkpoint saved in ")
    assert _steps(workdir) == [2, 3]
    monkeypatch.setattr(loop, "_clock", lambda: 0.0)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.max_seconds=0"]) == 0
    _assert_same(_params(workdir), _params(trained))
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        assert [json.loads(line)["step"] for line in f] == [2, 4]


def test_a_budget_spent_on_the_last_step_ends_the_run_normally(trained, tmp_path, monkeypatch):
    from jaxgen.engine import loop

    ticks = iter(range(1000))
    monkeypatch.setattr(loop, "_clock", lambda: float(next(ticks)))
    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.max_seconds=4"]) == 0
    assert _steps(workdir) == [2, 4]
    _assert_same(_params(workdir), _params(trained))


def test_a_second_signal_during_the_save_waits_for_it(trained, tmp_path, monkeypatch, capsys):
    """Two SIGTERMs arriving while checkpoint 2 is written: the save completes, the run stops, and it resumes to
    the uninterrupted run's parameters."""
    real_save = checkpoint_lib.Checkpointer.save

    def save_under_fire(self, step, state, data_state=None):
        if step == 2 and "checkpoints_best" not in self.directory:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        return real_save(self, step, state, data_state)

    workdir = str(tmp_path / "run")
    monkeypatch.setattr(checkpoint_lib.Checkpointer, "save", save_under_fire)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "a checkpoint is being written; stopping as soon as it is complete" in err
    assert _steps(workdir) == [2]
    monkeypatch.setattr(checkpoint_lib.Checkpointer, "save", real_save)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0
    _assert_same(_params(workdir), _params(trained))


def test_a_second_trainer_on_the_workdir_is_refused(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    os.makedirs(workdir)
    with workdir_lib.lock(workdir):
        assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == cli.EXIT_USAGE
        _error(capsys, f"is in use by another jaxgen run (pid {os.getpid()})")
    assert not os.path.exists(os.path.join(workdir, "metrics.jsonl"))


def test_a_killed_trainer_does_not_leave_the_workdir_locked(tmp_path):
    workdir = str(tmp_path / "run")
    os.makedirs(workdir)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from jaxgen.engine import workdir as w\n"
                               "with w.lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)", workdir],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(Exception, match="in use by another jaxgen run"), workdir_lib.lock(workdir):
        pass
    holder.kill()
    holder.wait()
    with workdir_lib.lock(workdir):
        pass


def test_parameters_that_blow_up_are_never_saved(tmp_path, capsys):
    """A learning rate that overflows float32 makes the parameters non-finite at step 1 while step 1's loss (taken
    before the update) is finite: checkpoint 1 must not be written, nor called good."""
    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.optimizer.g.learning_rate=1e39",
                     "--config.checkpoint_every=1"]) == cli.EXIT_NONFINITE
    _error(capsys, "the state became non-finite by step 1")
    assert _steps(workdir) == []
    assert cli.main(["sample", "--workdir", workdir, "--out", str(tmp_path / "s.png")]) == cli.EXIT_USAGE
    _error(capsys, "no checkpoint")


def test_a_changed_architecture_is_named_and_moves_nothing(trained, tmp_path, capsys):
    workdir = _copy(trained, tmp_path)
    before = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.model.width=32",
                     "--config.num_steps=6", "--allow-config-change"]) == cli.EXIT_USAGE
    _error(capsys, "checkpoint 4 in")
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == before


def test_no_readable_checkpoint_is_refused_rather_than_restarted(trained, tmp_path, capsys):
    workdir = _copy(trained, tmp_path)
    for root, _, files in os.walk(os.path.join(workdir, "checkpoints")):
        for name in files:
            open(os.path.join(root, name), "wb").close()
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.num_steps=6"]) == cli.EXIT_USAGE
    _error(capsys, "none of the checkpoints [2, 4]")
    assert _steps(workdir) == [2, 4] and not any(n.startswith("corrupt") for n in os.listdir(workdir + "/checkpoints"))


def test_a_missing_or_damaged_config_json_is_an_error(trained, tmp_path, capsys):
    workdir = _copy(trained, tmp_path)
    os.remove(os.path.join(workdir, "config.json"))  # would bypass the changed-config guard
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.model.width=32"]) == cli.EXIT_USAGE
    _error(capsys, "holds checkpoints but no config.json")
    open(os.path.join(workdir, "config.json"), "w").close()  # what a kill mid-write left before writes were atomic
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == cli.EXIT_USAGE
    _error(capsys, "config.json is damaged")
    assert cli.main(["sample", "--workdir", workdir]) == cli.EXIT_USAGE
    _error(capsys, "config.json is damaged")


def test_a_damaged_best_json_is_a_one_line_error(tmp_path):
    from jaxgen.engine import loop
    from jaxgen.errors import JaxgenError

    (tmp_path / "best.json").write_text('{"metric": "fid')  # cut short
    with pytest.raises(JaxgenError, match=r"best\.json is damaged \(the best evaluation so far"):
        loop.BestCheckpoint(str(tmp_path), "fid5k_test_lenet")


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    path.write_text('{"old": 1}')

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        writers.write_atomic(str(path), '{"new": 2}')
    assert path.read_text() == '{"old": 1}' and os.listdir(tmp_path) == ["config.json"]


def test_a_full_disk_keeps_the_last_checkpoint_and_resumes_exactly(trained, tmp_path, monkeypatch, capsys):
    """A write that fails the way TensorStore reports a full disk (checked by hand on a 600 KB tmpfs too)."""
    import orbax.checkpoint as ocp

    real_save = ocp.CheckpointManager.save

    def full_at_4(self, step, *args, **kwargs):
        if step == 4:
            raise ValueError("RESOURCE_EXHAUSTED: Error writing \"params\": Failed to write 21342 bytes to file 11: "
                             "No space left on device [os_error_code='28']")
        return real_save(self, step, *args, **kwargs)

    workdir = str(tmp_path / "run")
    monkeypatch.setattr(ocp.CheckpointManager, "save", full_at_4)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == cli.EXIT_USAGE
    _error(capsys, "No space left on device; the last good checkpoint is step 2; free the space")
    monkeypatch.setattr(ocp.CheckpointManager, "save", real_save)
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0
    _assert_same(_params(workdir), _params(trained))
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        steps = [json.loads(line)["step"] for line in f]
    assert steps == [2, 4]  # step 4 was logged before the failed save and again after the resume: kept once


def test_unwritable_outputs_and_damaged_sample_files_are_one_line_errors(trained, tmp_path, capsys):
    assert cli.main(["sample", "--workdir", trained, "--out", str(tmp_path)]) == cli.EXIT_USAGE
    _error(capsys, "is a directory; give a file name")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert cli.main(["sample", "--workdir", trained, "--out", str(a_file / "s.png")]) == cli.EXIT_USAGE
    _error(capsys, "is not a writable directory")
    path = tmp_path / "samples.npz"
    np.savez_compressed(path, images=np.random.default_rng(0).integers(0, 256, (64, 28, 28, 1), np.uint8))
    data = bytearray(path.read_bytes())
    for damaged in (data[:len(data) // 2], data[:1000] + bytes(b ^ 0xFF for b in data[1000:1100]) + data[1100:]):
        path.write_bytes(bytes(damaged))
        assert cli.main(["eval", "--samples", str(path), "--dataset", "mnist5k"]) == cli.EXIT_USAGE
        _error(capsys, "cannot read samples file")
