"""tools/device_check.py: the --small run on the CPU (every row, finite times, the two lowerings computing the same
first step), and the one-line reasons when PyTorch cannot run beside JAX."""

import importlib.util
import json
import math
import pathlib
import sys

import jax
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("device_check", ROOT / "tools" / "device_check.py")
device_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device_check)


def test_small_run_times_every_row_on_both_lowerings(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "check.json"
    result = device_check.main(["--small", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert result["machine"]["backend"] == "cpu" and result["machine"]["default_lowering"] == "fast"
    assert result["machine"]["compiler_options"]  # XLA:CPU's convolutions on Eigen
    rows = result["rows"]
    want = {(model, dtype, framework, lowering) for model in ("dcgan", "wgan_gp") for dtype in ("float32", "bfloat16")
            for framework, lowering in (("jax", "fast"), ("jax", "lax"), ("torch", None))}
    assert sorted((r["model"], r["dtype"], r["framework"], r["lowering"]) for r in rows) == sorted(want)
    for r in rows:
        assert r["batch_size"] == 8 and r["config"].endswith(":tiny")
        assert all(math.isfinite(r[k]) and r[k] > 0 for k in ("ms", "cpu_ms", "images_per_s"))
        assert r["framework"] == "torch" or (r["default_lowering"] == (r["lowering"] == "fast")
                                             and math.isfinite(r["speedup_vs_torch"]))
    # The forced lowering compiled the same step: the same losses on the first step, to float rounding.
    first = {(r["model"], r["dtype"], r["lowering"]): r["first_step"] for r in rows if r["framework"] == "jax"}
    for model in ("dcgan", "wgan_gp"):
        for dtype, tol in (("float32", 1e-5), ("bfloat16", 1e-2)):
            fast, lax = first[model, dtype, "fast"], first[model, dtype, "lax"]
            assert {"d_loss", "g_loss"} <= fast.keys() == lax.keys()
            for key in fast:
                np.testing.assert_allclose(lax[key], fast[key], rtol=tol, atol=tol * 1e-1, err_msg=key)
    printed = capsys.readouterr().out
    assert "| dcgan | bfloat16 | 8 |" in printed and "| wgan_gp | float32 | 8 |" in printed
    assert "Faster lowering here: `fast` (the default) in" in printed and "Total wall time" in printed

    jax_only = [{k: v for k, v in r.items() if k != "speedup_vs_torch"} for r in rows if r["framework"] == "jax"]
    device_check.print_table(jax_only, "fast", "lax", "the reason")  # as without PyTorch
    printed = capsys.readouterr().out
    assert "| – | – | – |" in printed and "\nPyTorch: the reason\n" in printed


def test_torch_missing_or_without_cuda_says_why_in_one_line(monkeypatch):
    torch = pytest.importorskip("torch")
    assert device_check.torch_device() == ("cpu", "")
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    device, why = device_check.torch_device()
    assert device is None and "sees no CUDA device" in why and "\n" not in why
    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")
    assert device_check.torch_device() == (None, "no PyTorch eager reference on backend 'tpu'")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    device, why = device_check.torch_device()
    assert device is None and why.startswith("PyTorch is not installed") and "\n" not in why


def test_refuses_a_forced_lowering(monkeypatch, capsys):
    monkeypatch.setenv("JAXGEN_UPSAMPLE_IMPL", "lax")
    with pytest.raises(SystemExit):
        device_check.main(["--small"])
    assert "unset JAXGEN_UPSAMPLE_IMPL: device_check times both lowerings itself" in capsys.readouterr().err
