"""The `jaxgen` command: errors for bad input, sample determinism, Ctrl-C, two processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgen import cli
from jaxgen import config as config_lib

TINY = "dcgan_mnist:tiny"  # a bundled config, by name


@pytest.fixture(scope="module", autouse=True)
def prepared():
    """Prepare the bundled digits first, so that TFDS's preparation progress is not in captured stderr."""
    from jaxgen import data

    data.prepare("mnist5k")


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxgen: error: ") and "\n" not in err, err
    assert fragment in err, err


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--config", "configs/nope.py", "--workdir", "W"], "config file not found: 'configs/nope.py'"),
    (["train", "--config", TINY, "--workdir", "W", "--config.batch_sise=3"], "unknown config key 'batch_sise'"),
    (["train", "--config", TINY, "--workdir", "W", "--config.batch_size=big"], "'batch_size' expects int"),
    (["train", "--config", TINY, "--workdir", "W", "--config.model.name=nope"], "model.name='nope' is not a model"),
    (["train", "--config", TINY, "--workdir", "W", "--config.data.name=nope"], "nope"),
    (["train", "--config", TINY, "--workdir", "W", "--config.batch_size=7"], "'batch_size' = 7 must be divisible"),
    (["sample", "--workdir", "does/not/exist"], "is 'does/not/exist' a jaxgen workdir"),
    (["sample", "--workdir", "W", "--num", "0"], "--num must be at least 1"),
    (["data", "prepare", "no_such_dataset"], "no_such_dataset"),
])
def test_bad_input_is_one_line_error(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(__file__)))
    argv = [str(tmp_path / "w") if a == "W" else a for a in argv]
    assert cli.main(argv) == cli.EXIT_USAGE
    _one_line_error(capsys, fragment)


# Runs `jaxgen ARGS` in a fresh interpreter; prints the exit status and which heavy modules it imported.
_IMPORTS_OF_MAIN = """
import sys
from jaxgen import cli
try:
    status = cli.main(sys.argv[1:])
except SystemExit as e:  # argparse's usage errors
    status = e.code
print(status, ",".join(m for m in ("jax", "tensorflow_datasets", "flax", "grain") if m in sys.modules) or "none")
"""


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--config", "nope.py", "--workdir", "W"], "'nope.py' is neither a file nor a bundled config"),
    (["train", "--config", "dcgan_mnst:tiny", "--workdir", "W"], "did you mean dcgan_mnist"),
    (["train", "--config", "dcgan_mnist:tiny", "--workdir", "W", "--config.=3"], "not of the form key=value"),
    (["train", "--config", "dcgan_mnist:tiny", "--workdir", "W", "--nope"], "unrecognized arguments: --nope"),
    (["train", "--config", "dcgan_mnist", "--workdir", "W", "--coordinator", "h:1"], "needs --num-processes"),
    (["train", "--config", "dcgan_mnist:tiny", "--workdir", "W", "--config.modle.width=3"],
     "unknown config key 'modle.width'"),
    (["train", "--config", "pix2pix_emoji", "--workdir", "W", "--config.model.g_width=0"], "must be at least 1"),
    (["train", "--config", "srgan_photos", "--workdir", "W", "--config.optimizer.g.b1=1.5"], "must be in [0, 1)"),
    (["sweep", "--config", "gan_mnist:tiny", "--workdir", "W", "--config.batch_size=x", "--over", "seed=0:2"],
     "batch_size"),
    (["sweep", "--config", "configs/nope.py", "--workdir", "W", "--over", "seed=0:2"], "config file not found"),
    (["sample", "--workdir", "W"], "is 'W' a jaxgen workdir"),
    (["eval", "--samples", "x.npz", "--dataset", "mnist5k"], "samples file 'x.npz' not found"),
    (["eval", "--samples", "x.npz", "--dataset", "mnist5k", "--metrics", "fud"], "unknown metric(s) ['fud']"),
    (["eval", "--samples", "x.npz", "--dataset", "mnist5k", "--metrics", "task"], "give --workdir, not --samples"),
    (["research", "landscape", "--workdir", "W", "--kind", "interp", "--k", "3"], "is 'W' a jaxgen workdir"),
    (["edit", "mix", "--workdir", "W", "--out", "m.png", "--layers", "3:1"], "--layers must be START:STOP"),
    (["edit", "truncate", "--workdir", "W", "--out", "t.png", "--psi", "1,a"], "--psi must be comma-separated"),
    (["edit", "interpolate", "--workdir", "W", "--out", "i.png", "--space", "w", "--method", "slerp"],
     "slerp is for Gaussian z"),
    (["edit", "interpolate", "--workdir", "W", "--out", "i.png"], "is 'W' a jaxgen workdir"),
])
def test_bad_arguments_fail_before_jax_is_imported(argv, fragment, tmp_path):
    """Checked by a fresh process in an empty directory (bundled configs by name): exit status 2, one line."""
    env = {**subprocess_env(), "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    proc = subprocess.run([sys.executable, "-c", _IMPORTS_OF_MAIN, *argv], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120, check=False)
    assert proc.stdout.split() == [str(cli.EXIT_USAGE), "none"], (proc.stdout, proc.stderr)
    assert fragment in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("jaxgen: error: "), proc.stderr


def test_configs_lists_the_bundled_configs(capsys):
    assert cli.main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[0] == "dcgan_mnist" and "DCGAN" in line for line in lines)
    assert len(lines) == len(config_lib.bundled()) + 1


def test_workdir_that_is_a_file(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    assert cli.main(["train", "--config", TINY, "--workdir", str(path)]) == cli.EXIT_USAGE
    _one_line_error(capsys, "is not a directory")


def test_train_then_sample_is_byte_identical(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0
    outs = [str(tmp_path / f"{name}.png") for name in ("a", "b", "c", "d")]
    assert cli.main(["sample", "--workdir", workdir, "--num", "9", "--out", outs[0], "--seed", "5"]) == 0
    assert cli.main(["sample", "--workdir", workdir, "--num", "9", "--out", outs[1], "--seed", "5"]) == 0
    assert cli.main(["sample", "--workdir", workdir, "--num", "9", "--out", outs[2], "--seed", "6"]) == 0
    assert cli.main(["sample", "--workdir", workdir, "--num", "9", "--out", outs[3], "--seed", "5",
                     "--step", "2"]) == 0
    data = [open(p, "rb").read() for p in outs]
    assert data[0] == data[1] and data[0] != data[2] and data[0] != data[3]
    capsys.readouterr()
    assert cli.main(["sample", "--workdir", workdir, "--step", "3"]) == cli.EXIT_USAGE
    _one_line_error(capsys, "no checkpoint for step 3")
    assert cli.main(["sample", "--workdir", workdir, "--label", "3"]) == cli.EXIT_USAGE
    _one_line_error(capsys, "--label needs a class-conditional model")
    # A workdir saved when DCGAN's lowering was a config key samples the same bytes and resumes.
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
        saved = json.load(f)
    saved["model"].update(use_fast_upsample=True, upsample_impl="fast", use_fast_downsample=True)
    with open(path, "w") as f:
        json.dump(saved, f)
    old = str(tmp_path / "old.png")
    assert cli.main(["sample", "--workdir", workdir, "--num", "9", "--out", old, "--seed", "5"]) == 0
    assert open(old, "rb").read() == data[0]
    assert cli.main(["train", "--config", TINY, "--workdir", workdir]) == 0


def _stub_conditional_workdir(path, monkeypatch, num_classes=3):
    """A workdir with one checkpoint of a stub trainer whose 4x4 images are uniformly grey at level
    label / (K - 1) (in [-1, 1]: 2 * label / (K - 1) - 1) except pixel (0, 0), which carries the noise."""
    import types

    import jax
    import jax.numpy as jnp

    from jaxgen import config as config_lib
    from jaxgen import trainers
    from jaxgen.engine import checkpoint, loop

    def generate(state, rng, n, labels=None):
        level = 2.0 * jnp.asarray(labels, jnp.float32) / (num_classes - 1) - 1.0
        images = jnp.broadcast_to(level[:, None, None, None], (n, 4, 4, 1))
        return images.at[:, 0, 0, 0].set(jax.random.uniform(rng, (n,), minval=-1, maxval=1)) * state["scale"]

    def create_task(config, info, mesh):
        return loop.Task(init=lambda rng: {"scale": jnp.ones((), jnp.float32)}, step=None, generate=generate,
                         num_classes=num_classes)

    monkeypatch.setattr(trainers, "get", lambda name: types.SimpleNamespace(create_task=create_task))
    path.mkdir()
    (path / "config.json").write_text(config_lib.to_json(config_lib.from_json('{"trainer": "stub"}')))
    (path / "run.json").write_text("{}")
    saver = checkpoint.Checkpointer(str(path / "checkpoints"))
    saver.save(1, {"scale": jnp.ones((), jnp.float32)})
    saver.close()
    return str(path)


def test_sample_label_and_class_rows(tmp_path, monkeypatch, capsys):
    """`jaxgen sample` on a conditional model (stub trainer): --label L draws class L only; without --label,
    one row per class with ceil(num / K) columns; bad labels are one-line errors; same seed, same bytes."""
    from PIL import Image

    workdir = _stub_conditional_workdir(tmp_path / "run", monkeypatch)
    grey = {0: 0, 1: 128, 2: 255}  # class -> pixel value (level in [-1, 1] mapped to 0..255)
    out = str(tmp_path / "label.png")
    assert cli.main(["sample", "--workdir", workdir, "--num", "4", "--label", "2", "--out", out]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * 6 + 2, 2 * 6 + 2)  # 4 images of 4x4, 2x2 grid, padding 2
    cells = [grid[2 + 6 * r: 6 + 6 * r, 2 + 6 * c: 6 + 6 * c] for r in range(2) for c in range(2)]
    assert all(np.all(cell.ravel()[1:] == grey[2]) for cell in cells)

    rows = [str(tmp_path / f"rows{i}.png") for i in range(3)]
    for path, seed in zip(rows, ("0", "0", "1")):
        assert cli.main(["sample", "--workdir", workdir, "--num", "5", "--seed", seed, "--out", path]) == 0
    assert "wrote 6 samples (3 classes x 2)" in capsys.readouterr().out
    grid = np.asarray(Image.open(rows[0]))
    assert grid.shape == (3 * 6 + 2, 2 * 6 + 2)  # one row per class, ceil(5 / 3) = 2 columns
    for r in range(3):
        for c in range(2):
            cell = grid[2 + 6 * r: 6 + 6 * r, 2 + 6 * c: 6 + 6 * c]
            assert np.all(cell.ravel()[1:] == grey[r])
    assert np.all(grid[2, 2::6][:2] == grid[2 + 6, 2::6][:2])  # each column shares its noise across classes
    data = [open(p, "rb").read() for p in rows]
    assert data[0] == data[1] and data[0] != data[2]

    for label in ("3", "-1"):
        assert cli.main(["sample", "--workdir", workdir, "--label", label]) == cli.EXIT_USAGE
        _one_line_error(capsys, f"--label {label} is out of range: the model has 3 classes (0..2)")


def test_conditional_train_then_sample(tmp_path, capsys):
    """End to end on mnist5k (10 classes) with a projection discriminator and spectral norm; needs the
    trainer's conditioning support in jaxgen/trainers/gan.py."""
    from PIL import Image

    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", TINY, "--workdir", workdir, "--config.model.conditioning=projection",
                     "--config.model.spectral_norm=true", "--config.model.d_norm=none"]) == 0
    # the training grids: tiny num_samples = 16 -> 10 rows (classes) x 2 columns of 28x28 digits
    assert Image.open(os.path.join(workdir, "samples", "step_0000004.png")).size == (2 * 30 + 2, 10 * 30 + 2)
    outs = [str(tmp_path / f"{name}.png") for name in ("a", "b", "rows")]
    for out in outs[:2]:
        assert cli.main(["sample", "--workdir", workdir, "--num", "6", "--label", "3", "--out", out]) == 0
    assert open(outs[0], "rb").read() == open(outs[1], "rb").read()
    assert Image.open(outs[0]).size == (3 * 30 + 2, 2 * 30 + 2)
    assert cli.main(["sample", "--workdir", workdir, "--num", "20", "--out", outs[2]]) == 0
    assert Image.open(outs[2]).size == (2 * 30 + 2, 10 * 30 + 2)
    capsys.readouterr()
    assert cli.main(["sample", "--workdir", workdir, "--label", "10"]) == cli.EXIT_USAGE
    _one_line_error(capsys, "--label 10 is out of range: the model has 10 classes (0..9)")


def subprocess_env():
    """A child process gets one CPU device (not the 8 fake ones) and the session's data dir."""
    return {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


def _jaxgen(*args, **popen):
    return subprocess.Popen([sys.executable, "-m", "jaxgen", *args], env=subprocess_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def wait_for_first_log(proc, workdir, timeout: float) -> None:
    """Waits until training process `proc` has written a line to `workdir/metrics.jsonl` (it is running steps)."""
    deadline = time.time() + timeout
    while not (workdir / "metrics.jsonl").exists() or not (workdir / "metrics.jsonl").read_text():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.1)


def test_ctrl_c_saves_a_checkpoint_and_resumes(tmp_path):
    workdir = tmp_path / "run"
    proc = _jaxgen("train", "--config", TINY, "--workdir", str(workdir), "--config.num_steps=100000",
                   "--config.log_every=1", "--config.checkpoint_every=100000", "--config.sample_every=100000")
    wait_for_first_log(proc, workdir, timeout=120)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "interrupted at step" in err and "checkpoint saved" in err
    steps = [int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit()]
    assert len(steps) == 1 and steps[0] >= 1
    proc = _jaxgen("train", "--config", TINY, "--workdir", str(workdir), f"--config.num_steps={steps[0] + 2}",
                   "--config.log_every=1", "--config.checkpoint_every=100000", "--config.sample_every=100000")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert f"resumed from checkpoint {steps[0]}" in err
    assert str(steps[0] + 2) in os.listdir(workdir / "checkpoints")


def test_two_fresh_processes_train_identical_parameters(tmp_path):
    """A run is a pure function of (config, seed, data, device count): two processes, same bits."""
    from jaxgen.engine import workdir as workdir_lib

    workdirs = [tmp_path / name for name in ("a", "b")]
    procs = [_jaxgen("train", "--config", TINY, "--workdir", str(w)) for w in workdirs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    states = [jax.device_get(workdir_lib.restore(str(w))[2]) for w in workdirs]
    for x, y in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    runs = [json.loads((w / "run.json").read_text()) for w in workdirs]
    assert runs[0]["versions"] == runs[1]["versions"] and set(runs[0]["versions"]) >= {"jax", "jaxlib", "flax", "optax"}
    assert runs[0]["devices"]["kind"] and runs[0]["devices"]["count"] == 1


def test_resume_under_other_versions_warns(tmp_path, capsys):
    workdir = tmp_path / "run"
    assert cli.main(["train", "--config", TINY, "--workdir", str(workdir), "--config.num_steps=2"]) == 0
    info = json.loads((workdir / "run.json").read_text())
    info["versions"]["jax"] = "0.0.1"
    (workdir / "run.json").write_text(json.dumps(info))
    capsys.readouterr()
    assert cli.main(["train", "--config", TINY, "--workdir", str(workdir), "--config.num_steps=4"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: resuming" in err and "'jax': ('0.0.1'" in err


def test_two_processes_with_jax_distributed(tmp_path):
    """Two processes (one CPU device each, gloo collectives on loopback) train, stop at a time budget, resume and
    checkpoint together."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path / "run"

    def train(*extra):
        procs = [_jaxgen("train", "--config", TINY, "--workdir", str(workdir), "--coordinator", f"127.0.0.1:{port}",
                         "--num-processes", "2", "--process-id", str(i), *extra) for i in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        return [p.returncode for p in procs], "\n".join(
            f"--- process {i}, exit {p.returncode}:\n{err}" for i, (p, (_, err)) in enumerate(zip(procs, outputs)))

    # A time budget spent at once: both processes stop after the same step (the first log step, by process 0's
    # clock), save it together, and the same command without a budget resumes them to the end.
    codes, errors = train("--config.max_seconds=1e-9")
    assert codes == [cli.EXIT_TIME_BUDGET] * 2 and "reached at step 2 of 4" in errors, errors
    assert sorted(os.listdir(workdir / "checkpoints")) == ["2"]
    codes, errors = train()
    assert codes == [0, 0], errors
    assert sorted(os.listdir(workdir / "checkpoints")) == ["2", "4"]
    assert (workdir / "samples" / "step_0000004.png").exists()
    assert '"processes": 2' in (workdir / "run.json").read_text()
    # The checkpoint written by two processes restores in one.
    assert cli.main(["sample", "--workdir", str(workdir), "--num", "4", "--out", str(tmp_path / "s.png")]) == 0


def test_data_prepare_and_list(tmp_path, capsys):
    assert cli.main(["data", "prepare", "digits", "--data-dir", str(tmp_path)]) == 0
    assert "prepared digits" in capsys.readouterr().out
    assert cli.main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["digits", "bundled", "prepared"] and "train=1497" in line for line in lines)
    assert any(line.split()[:4] == ["mnist5k", "bundled", "not", "prepared"] for line in lines)


_COUNT_CACHE_HITS = """import sys
import jax.monitoring
from jaxgen import cli
hits = []
jax.monitoring.register_event_listener(
    lambda event, **_: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
code = cli.main(sys.argv[1:])
print("cache hits:", len(hits))
sys.exit(code)
"""


def test_a_repeated_run_loads_its_programs_from_the_compilation_cache(tmp_path):
    """`jaxgen` keeps compiled programs in <cache>/xla: a second run compiles nothing it compiled before, and the
    programs it loads train the same bits as freshly compiled ones."""
    from jaxgen.engine import workdir as workdir_lib

    env = {k: v for k, v in subprocess_env().items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["JAXGEN_CACHE_DIR"] = str(tmp_path / "cache")
    hits = []
    for name in ("a", "b"):
        out = subprocess.run([sys.executable, "-c", _COUNT_CACHE_HITS, "train", "--config", TINY, "--workdir",
                              str(tmp_path / name)], env=env, text=True, capture_output=True, timeout=300,
                              check=False)
        assert out.returncode == 0, out.stderr
        hits.append(int(out.stdout.split("cache hits:")[1]))
    assert hits[0] == 0 and hits[1] >= 2, hits  # at least the train step and the sampler
    assert os.listdir(tmp_path / "cache" / "xla")
    states = [jax.device_get(workdir_lib.restore(str(tmp_path / name))[2]) for name in ("a", "b")]
    for x, y in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_output_cut_short_by_its_reader_is_not_an_error():
    """`jaxgen configs | head -1`: the closed pipe ends the command quietly."""
    out = subprocess.run(f"{sys.executable} -m jaxgen configs | head -1", shell=True, env=subprocess_env(), text=True,
                         capture_output=True, timeout=120, check=False)
    assert out.stdout.startswith("ae_mnist") and out.stderr == "", out.stderr
