"""Checkpoints: exact resume after SIGKILL, atomic writes, tamper / truncation / wrong-model errors."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from symgan.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_models,
    prev_path,
    save_checkpoint,
)
from symgan.config import TrainConfig
from symgan.train import Trainer

pytestmark = pytest.mark.usefixtures("scratch_dirs")

STEPS = 24


def _train_cmd(out: Path, method: str = "dcgan_soft", steps: int = STEPS, hooks: tuple[str, ...] = ()) -> list[str]:
    """The train command; ``hooks`` (``--sleep S``, ``--nan-at N``) go to tests/hooked_cli.py."""
    head = [sys.executable, str(Path(__file__).with_name("hooked_cli.py")), *hooks, "--"] if hooks \
        else [sys.executable, "-m", "symgan"]
    return [*head, "train", "--method", method, "--scale", "smoke",
            "--steps", str(steps), "--checkpoint-every", "3", "--sample-every", "0",
            "--time-budget", "0", "--no-progress", "--threads", "1", "--out", str(out)]


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_resume_after_sigkill_is_bit_identical(tmp_path: Path) -> None:
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run(_train_cmd(full), check=True, env=_env(), capture_output=True)
    # The killed run sleeps a little each step so the kill lands at a random step mid-run.
    proc = subprocess.Popen(_train_cmd(killed, hooks=("--sleep", "0.05")), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = killed / "checkpoint.safetensors"
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert ckpt.exists(), "the run never wrote a checkpoint"
    time.sleep(random.uniform(0.0, 0.6))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _, meta = load_checkpoint(ckpt)
    assert 0 < meta["step"] < STEPS and not meta["finished"], meta["step"]
    subprocess.run(_train_cmd(killed), check=True, env=_env(), capture_output=True)

    a, ma = load_checkpoint(full / "checkpoint.safetensors")
    b, mb = load_checkpoint(ckpt)
    assert ma["step"] == mb["step"] == STEPS
    assert a.keys() == b.keys()
    for k in a:
        if k.startswith(("G.", "D.", "optG.", "optD.")):
            assert torch.equal(a[k], b[k]), k
    steps = [line.split(",")[0] for line in (killed / "log.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps), key=int), "log rows duplicated after resume"


def test_atomic_write_keeps_previous(tmp_path: Path) -> None:
    p = tmp_path / "c.safetensors"
    save_checkpoint(p, {"w": torch.zeros(3)}, {"step": 1})
    save_checkpoint(p, {"w": torch.ones(3)}, {"step": 2})
    t, m = load_checkpoint(p)
    tp, mp = load_checkpoint(prev_path(p))
    assert m["step"] == 2 and torch.equal(t["w"], torch.ones(3))
    assert mp["step"] == 1 and torch.equal(tp["w"], torch.zeros(3))
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_tampered_and_truncated_files_raise(tmp_path: Path) -> None:
    p = tmp_path / "c.safetensors"
    save_checkpoint(p, {"w": torch.arange(64, dtype=torch.float32)}, {"step": 1})
    raw = bytearray(p.read_bytes())
    tampered = tmp_path / "tampered.safetensors"
    raw2 = raw.copy()
    raw2[-5] ^= 0xFF  # flip bits inside the tensor data
    tampered.write_bytes(bytes(raw2))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tampered)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(bytes(raw[: len(raw) // 2]))
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    pickle = tmp_path / "pickle.safetensors"
    torch.save({"w": torch.zeros(2)}, pickle)
    with pytest.raises(CheckpointError):
        load_checkpoint(pickle)


def test_wrong_arch_names_both(tmp_path: Path) -> None:
    cfg = TrainConfig.from_scale("smoke", method="zprime", max_steps=2, progress=False)
    Trainer(cfg, tmp_path / "z", resume=False).train()
    other = TrainConfig.from_scale("smoke", method="flip", img_size=33).model_dict()
    with pytest.raises(CheckpointError) as e:
        load_models(tmp_path / "z", expect=other)
    msg = str(e.value)
    assert "arch=zprime" in msg and "arch=flip" in msg
    assert f"img_size={cfg.img_size}" in msg and "img_size=33" in msg
    # Resuming a run folder with another model is refused the same way.
    cfg2 = TrainConfig.from_scale("smoke", method="flip", max_steps=2, progress=False)
    with pytest.raises(CheckpointError, match="arch=flip"):
        Trainer(cfg2, tmp_path / "z", resume=True).train()


def test_nan_stops_and_keeps_last_good(tmp_path: Path) -> None:
    out = tmp_path / "nan"
    r = subprocess.run(_train_cmd(out, steps=12, hooks=("--nan-at", "8")), env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    # NaN images are refused at the discriminator's input, before BatchNorm sees them.
    assert "non-finite values at step 8" in r.stderr and "x has" in r.stderr
    tensors, meta = load_checkpoint(out / "checkpoint.safetensors")
    assert meta["step"] == 6 and not meta["finished"]
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if v.is_floating_point())
