"""The trainer at smoke scale: it learns, keeps exactness, caches runs, and runs under torchrun."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symgan.checkpoint import CheckpointError, load_checkpoint
from symgan.config import METHOD_NAMES, METHODS, TrainConfig
from symgan.generators import mirror_errors
from symgan.losses import symmetry_loss
from symgan.plots import plot_log
from symgan.runs import load_or_train
from symgan.symmetry import check_invariance, mirror
from symgan.train import train

pytestmark = pytest.mark.usefixtures("scratch_dirs")


def _cfg(method: str, **kw) -> TrainConfig:
    kw.setdefault("progress", False)
    kw.setdefault("time_budget_s", None)
    return TrainConfig.from_scale("smoke", method=method, **kw)


def test_methods_table() -> None:
    assert set(METHOD_NAMES) == {"dcgan", "dcgan_soft", "dcgan_strong", "zprime", "flip"}  # the paper's
    assert set(METHODS) - set(METHOD_NAMES) == {"tile", "tile_plain"}  # textures (chapter 10)
    c = _cfg("dcgan_strong")
    assert (c.arch, c.symmetric_d, c.alpha, c.encoding) == ("dcgan", False, 100.0, "zprime")
    c = _cfg("flip")
    assert (c.arch, c.symmetric_d, c.alpha, c.encoding) == ("flip", True, 0.0, "flip")
    assert _cfg("dcgan_soft").alpha == 40.0
    assert _cfg("zprime").key() != _cfg("flip").key()
    assert _cfg("zprime", device="cpu", progress=True).key() == _cfg("zprime").key()
    with pytest.raises(ValueError, match="method must be one of"):
        _cfg("nope")


def test_symmetry_loss_reduction() -> None:
    x, xn = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    d = (x - mirror(xn)).pow(2)
    assert torch.allclose(symmetry_loss(x, xn), d.mean())
    assert torch.allclose(symmetry_loss(x, xn, "sum"), d.sum() / 2)
    assert symmetry_loss(x, mirror(x)) == 0


@pytest.mark.parametrize("method", ["dcgan", "zprime", "dcgan_strong"])
def test_trainer_learns_and_keeps_exactness(method: str, tmp_path: Path) -> None:
    r = train(_cfg(method, max_steps=40), tmp_path / method, resume=False)
    assert r.info["step"] == 40 and r.info["stop_reason"] == "max steps"
    assert len(r.log) == 8 and all(math.isfinite(row["loss_d"]) for row in r.log)
    # D learns to separate real and fake in the first steps: its loss falls below log(4).
    assert r.log[-1]["loss_d"] < min(r.log[0]["loss_d"], math.log(4))
    assert (tmp_path / method / "samples" / "final.png").is_file()
    assert (tmp_path / method / "samples" / "step_000020.png").is_file()
    G, D = r.generator, r.discriminator
    z = G.sample_latent(16)
    err = mirror_errors(G, z)
    if method == "zprime":
        assert err["mirror"] < 1e-5 and err["symmetric"] < 1e-5
        x = torch.rand(8, 3, G.img_size, G.img_size) * 2 - 1
        assert check_invariance(D, x, atol=1e-5).passed
    else:
        assert err["mirror"] > 1e-3  # the plain DC-GAN is not exact, with or without the loss
    if method == "dcgan_strong":
        assert "loss_sym" in r.log[0]
    ax = plot_log(tmp_path / method)
    assert len(ax.get_lines()) >= 2


def test_time_budget_stops(tmp_path: Path) -> None:
    r = train(_cfg("flip", max_steps=100000, time_budget_s=0.5), tmp_path / "t", resume=False)
    assert r.info["stop_reason"] == "time budget" and 0 < r.info["step"] < 100000


def test_load_or_train_caches(tmp_path: Path) -> None:
    cfg = _cfg("flip", max_steps=6)
    r1 = load_or_train(cfg, root=tmp_path)
    ckpt = tmp_path / cfg.run_name() / "checkpoint.safetensors"
    mtime = ckpt.stat().st_mtime_ns
    r2 = load_or_train(cfg, root=tmp_path)
    assert ckpt.stat().st_mtime_ns == mtime, "a finished run must be loaded, not retrained"
    for (k, a), b in zip(r1.generator.state_dict().items(), r2.generator.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    G, D, info = r2  # unpacks as (G, D, info)
    assert info["step"] == 6 and G.arch == "flip" and D.symmetric
    r3 = load_or_train(cfg, path=ckpt)
    assert r3.info["loaded"] and r3.config.method == "flip"
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_or_train(_cfg("flip", max_steps=7), root=tmp_path, train_if_missing=False)
    # From a URL with a SHA-256 (a file:// URL stands in for a download).
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    r4 = load_or_train(cfg, url=ckpt.as_uri(), sha256=digest, root=tmp_path / "dl")
    assert r4.info["loaded"] and r4.info["step"] == 6
    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        load_or_train(cfg, url=ckpt.as_uri(), sha256="0" * 64, root=tmp_path / "dl2")
    with pytest.raises(CheckpointError, match="arch=flip"):
        load_or_train(_cfg("zprime", max_steps=6), path=ckpt)


def test_ddp_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "symgan", "train", "--method", "dcgan_soft", "--scale", "smoke", "--steps", "6",
           "--checkpoint-every", "3", "--sample-every", "0", "--no-progress", "--threads", "1",
           "--device", "cpu", "--out", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    tensors, meta = load_checkpoint(out / "checkpoint.safetensors")
    assert meta["world_size"] == 2 and meta["step"] == 6 and meta["finished"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks_in_sync"] is True, "DDP ranks ended with different weights"
    assert all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point())
