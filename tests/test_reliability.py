"""Reliability: checkpoints and run folders as untrusted input, runs that survive Ctrl-C, SIGTERM,
each other, read-only and full disks. Smoke-scale models of a few steps; subprocesses only where
a signal or a second process is the point."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from safetensors.torch import save as st_save

from symgan.__main__ import main
from symgan.checkpoint import (
    FORMAT,
    CheckpointError,
    _digest,
    load_checkpoint,
    load_models,
    prev_path,
)
from symgan.checks import NonFiniteError
from symgan.config import TrainConfig
from symgan.discriminators import Discriminator
from symgan.generators import Generator
from symgan.runs import RunLock, RunLocked, load_or_train, run_folder
from symgan.train import RunWarning, Trainer, TrainingDiverged, TrainingInterrupted

CKPT = "checkpoint.safetensors"


pytestmark = pytest.mark.usefixtures("scratch_dirs")


def cfg(method: str = "zprime", **kw) -> TrainConfig:
    base = dict(max_steps=2, n_train=64, sample_every=0, checkpoint_every=0, progress=False,
                time_budget_s=None)
    return TrainConfig.from_scale("smoke", method=method, **{**base, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-step z' run folder (copy it before changing anything)."""
    run = tmp_path_factory.mktemp("trained") / "zprime"
    Trainer(cfg(), run).train()
    return run


def forge(src: Path, dst: Path, edit, rehash: bool = True) -> Path:
    """Rewrite ``src``'s metadata with ``edit(meta_dict) -> meta_dict | str``; ``rehash``
    recomputes the integrity hash, as anyone who edits a file can."""
    tensors = load_file(str(src))
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        md = f.metadata()
    new = edit(json.loads(md["meta"]))
    raw = new if isinstance(new, str) else json.dumps(new, sort_keys=True)
    sha = _digest(tensors, raw) if rehash else md["sha256"]
    dst.write_bytes(st_save(tensors, metadata={"format": md["format"], "meta": raw, "sha256": sha}))
    return dst


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


HOOKED = [sys.executable, str(Path(__file__).with_name("hooked_cli.py"))]


def train_cmd(out: Path, steps: int = 12, *extra: str, sleep: float = 0.0) -> list[str]:
    """The train command; ``sleep``: each step also sleeps that long (tests/hooked_cli.py)."""
    head = [*HOOKED, "--sleep", str(sleep), "--"] if sleep else [sys.executable, "-m", "symgan"]
    return [*head, "train", "--method", "zprime", "--scale", "smoke",
            "--steps", str(steps), "--n-train", "64", "--checkpoint-every", "2", "--sample-every", "0",
            "--time-budget", "0", "--no-progress", "--threads", "1", "--out", str(out), *extra]


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# -- 1. path traversal ------------------------------------------------------------------------------
def test_traversal_in_dataset_name_writes_nothing(tmp_path: Path, capsys) -> None:
    runs = Path(os.environ["SYMGAN_RUNS"]) / "a" / "b" / "c"
    before = files_under(tmp_path.parent)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGAN_RUNS", str(runs))
        code, err = cli(["train", "--scale", "smoke", "--data", "../../../escaped", "--no-progress"], capsys)
        assert code == 2 and "argument --data" in err
        with pytest.raises(ValueError, match="data must be one of"):
            load_or_train(TrainConfig.from_scale("smoke", data="../../x"))
    assert files_under(tmp_path.parent) == before and not runs.exists()


def test_run_folder_stays_inside_its_root(tmp_path: Path, monkeypatch) -> None:
    c = cfg()
    assert run_folder(c, tmp_path).parent == tmp_path
    monkeypatch.setattr(TrainConfig, "run_name", lambda self: "../outside")
    with pytest.raises(ValueError, match="outside its root"):
        run_folder(c, tmp_path)


# -- 2, 3. the checkpoint's metadata is covered by the hash and checked before any model is built ----
def test_edited_metadata_is_refused(trained: Path, tmp_path: Path) -> None:
    def bump(m):
        return {**m, "step": 999999}

    def same_length(m):  # 2 -> 9 and seed 0 -> 1: not even the length changes
        return {**m, "step": 9, "config": {**m["config"], "seed": 1}}

    for edit in (bump, same_length):
        with pytest.raises(CheckpointError, match="SHA-256"):
            load_checkpoint(forge(trained / CKPT, tmp_path / "edited.safetensors", edit, rehash=False))
    # Recomputed by whoever edited it: the hash cannot tell (a signature would); it loads.
    _, meta = load_checkpoint(forge(trained / CKPT, tmp_path / "rehashed.safetensors", bump))
    assert meta["step"] == 999999


@pytest.mark.parametrize("width", [2400, 1000])
def test_huge_width_in_a_small_file_allocates_nothing(trained: Path, tmp_path: Path, width: int,
                                                      monkeypatch) -> None:
    built_on: list[str] = []
    real_build = TrainConfig.build_models

    def spy(self):
        built_on.append(torch.empty(0).device.type)  # "meta" inside the shape check
        return real_build(self)

    monkeypatch.setattr(TrainConfig, "build_models", spy)
    bad = forge(trained / CKPT, tmp_path / "wide.safetensors",
                lambda m: {**m, "config": {**m["config"], "width": width}})
    assert bad.stat().st_size < 1_000_000
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match="width must be" if width > 1024 else "do not match the stored config"):
        load_models(bad)
    assert time.perf_counter() - t0 < 20
    assert "cpu" not in built_on, "a model was built before the shapes were checked"


def test_non_finite_weights_and_tuned_files_are_told_apart(trained: Path, tmp_path: Path) -> None:
    tensors = load_file(str(trained / CKPT))
    key = next(k for k in tensors if k.startswith("G.") and tensors[k].is_floating_point())
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = float("nan")
    _, meta = load_checkpoint(trained / CKPT)
    raw = json.dumps(meta, sort_keys=True)
    nan = tmp_path / "nan.safetensors"
    nan.write_bytes(st_save(tensors, metadata={"format": FORMAT, "meta": raw, "sha256": _digest(tensors, raw)}))
    with pytest.raises(CheckpointError, match="non-finite"):
        load_models(nan)
    tuned = forge(trained / CKPT, tmp_path / "tuned.safetensors",
                  lambda m: {"config": m["config"], "step": 0, "fit_and_tune": {"psnr_tuned": 30.0}})
    G, _, _, _ = load_models(tuned)  # readable as models ...
    assert G.arch == "zprime"
    with pytest.raises(CheckpointError, match="FitAndTune result"):  # ... never as a training run
        load_models(tuned, kind="training")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tuned, run / CKPT)
    with pytest.raises(CheckpointError, match="FitAndTune result"):
        Trainer(cfg(), run).train()
    with pytest.raises(CheckpointError, match="FitAndTune result"):
        load_or_train(cfg(), path=tuned)


# -- 4, 5. load_or_train: pinned hashes, downloads that must load first, never a poisoned cache -----
def test_pinned_sha256_is_checked_on_every_call(trained: Path, tmp_path: Path) -> None:
    c = cfg()
    right = hashlib.sha256((trained / CKPT).read_bytes()).hexdigest()
    url = (trained / CKPT).as_uri()
    r = load_or_train(c, url=url, sha256=right, root=tmp_path)
    assert r.info["loaded"] and r.info["step"] == 2
    cached = tmp_path / c.run_name() / CKPT
    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        load_or_train(c, url=url, sha256="0" * 64, root=tmp_path)
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == right, "the cached file was touched"
    cached.write_bytes(cached.read_bytes()[:-8] + b"\0" * 8)  # damaged after the download
    r = load_or_train(c, url=url, sha256=right, root=tmp_path)  # fetched again, verified
    assert r.info["loaded"] and hashlib.sha256(cached.read_bytes()).hexdigest() == right
    assert not [p for p in cached.parent.iterdir() if p.name.endswith((".part", ".tmp"))]


def test_a_bad_download_never_poisons_the_cache(trained: Path, tmp_path: Path) -> None:
    c = cfg()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"<html>not a checkpoint</html>")
    with pytest.raises(CheckpointError, match="nothing was cached"):
        load_or_train(c, url=junk.as_uri(), root=tmp_path)
    flip = tmp_path / "flip"
    Trainer(cfg("flip"), flip).train()
    with pytest.raises(CheckpointError, match="nothing was cached"):  # loads, but for another model
        load_or_train(c, url=(flip / CKPT).as_uri(), root=tmp_path)
    run = tmp_path / c.run_name()
    assert not (run / CKPT).exists() and not [p for p in run.iterdir() if p.suffix in (".part", ".tmp")]
    with pytest.raises(CheckpointError, match="no checkpoint for this config"):
        load_or_train(c, root=tmp_path, train_if_missing=False)
    r = load_or_train(c, url=(trained / CKPT).as_uri(), root=tmp_path)  # a good one still caches
    assert r.info["loaded"]


def test_path_must_match_method_and_loss_settings(tmp_path: Path) -> None:
    soft = tmp_path / "soft"
    Trainer(cfg("dcgan_soft"), soft).train()
    with pytest.raises(CheckpointError, match="method=dcgan_soft.*expected.*method=dcgan_strong"):
        load_or_train(cfg("dcgan_strong"), path=soft)
    with pytest.raises(CheckpointError, match="alpha=40.0.*expected.*alpha=7.0"):
        load_or_train(cfg("dcgan_soft", alpha=7.0), path=soft)
    with pytest.raises(CheckpointError, match="sym_reduction"):
        load_or_train(cfg("dcgan_soft", sym_reduction="sum"), path=soft)
    assert load_or_train(cfg("dcgan_soft"), path=soft).config.method == "dcgan_soft"


# -- 6. one trainer per run folder ----------------------------------------------------------------------
def test_second_trainer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    lock = RunLock(run).acquire()
    try:
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
            Trainer(cfg(seed=1), run).train()
    finally:
        lock.release()
    assert not (run / CKPT).exists() and not (run / "log.csv").exists()
    Trainer(cfg(seed=1), run).train()  # free again once released
    assert (run / CKPT).exists()


def test_load_or_train_waits_for_the_holder(tmp_path: Path) -> None:
    c = cfg()
    run = run_folder(c, tmp_path)
    lock = RunLock(run).acquire()
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=load_or_train(c, root=tmp_path)))
    t0 = time.perf_counter()
    t.start()
    time.sleep(1.0)
    assert t.is_alive(), "load_or_train did not wait for the lock"
    lock.release()
    t.join(60)
    assert time.perf_counter() - t0 >= 1.0 and out["r"].info["step"] == 2


def test_two_processes_in_one_folder(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    env = dict(os.environ)
    first = subprocess.Popen(train_cmd(run, 20, sleep=0.1), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (run / ".lock").exists() and (run / ".lock").read_text().strip())
        code, err = cli(["train", "--method", "zprime", "--scale", "smoke", "--steps", "20", "--n-train", "64",
                         "--seed", "1", "--no-progress", "--out", str(run)], capsys)
        assert code == 5 and f"pid {first.pid}" in err
    finally:
        assert first.wait(120) == 0, first.stderr.read()
    _, meta = load_checkpoint(run / CKPT)
    assert meta["step"] == 20 and meta["config"]["seed"] == 0 and meta["finished"]
    steps = [int(line.split(",")[0]) for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)), "log rows interleaved or duplicated"
    assert sorted(p.name for p in run.iterdir() if "tmp" in p.name or p.suffix == ".part") == []


# -- 7. a sample image or log row that cannot be written costs nothing -------------------------------
def test_unwritable_samples_do_not_cost_the_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "samples").write_text("a file where the samples folder should be")
    with pytest.warns(RunWarning, match="could not write the sample image"):
        r = Trainer(cfg(max_steps=4, sample_every=2, checkpoint_every=2), run).train()
    _, meta = load_checkpoint(run / CKPT)
    assert meta["finished"] and meta["step"] == 4 and r.info["warnings"]


def test_unwritable_log_is_a_warning(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.csv").mkdir()  # a folder where the log should be
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(cfg(max_steps=4, checkpoint_every=2, log_every=1), run).train()
    assert any(issubclass(w.category, RunWarning) and "log.csv" in str(w.message) for w in caught)
    assert load_checkpoint(run / CKPT)[1]["step"] == 4


# -- 8. budgets that could only save an untrained model are refused ---------------------------------
def test_negative_time_budget_is_refused(tmp_path: Path, capsys) -> None:
    code, err = cli(["train", "--scale", "smoke", "--time-budget", "-5", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "argument --time-budget" in err and not (tmp_path / "r").exists()
    for bad in (-5.0, 0.0):
        with pytest.raises(ValueError, match="time_budget_s"):
            cfg(time_budget_s=bad)


# -- 9. rotate takes any z' or flip training checkpoint ---------------------------------------------------
def test_rotate_takes_any_symmetric_checkpoint(tmp_path: Path, capsys) -> None:
    flip = tmp_path / "flip16"
    Trainer(cfg("flip", width=16), flip).train()
    code, err = cli(["rotate", "synthfaces:0", "--checkpoint", str(flip), "--out", str(tmp_path / "rot"),
                     "--invert-steps", "2", "--tune-steps", "2", "--frames", "3"], capsys)
    assert code == 0, err
    _, _, c, _ = load_models(tmp_path / "rot" / "tuned.safetensors")
    assert (c.arch, c.width) == ("flip", 16)
    dc = tmp_path / "dcgan"
    Trainer(cfg("dcgan"), dc).train()
    code, err = cli(["rotate", "synthfaces:0", "--checkpoint", str(dc), "--out", str(tmp_path / "rot2")], capsys)
    assert code == 2 and "argument --checkpoint" in err and "symmetric generator" in err
    code, err = cli(["rotate", "synthfaces:0", "--checkpoint", str(tmp_path / "rot" / "tuned.safetensors"),
                     "--out", str(tmp_path / "rot3")], capsys)
    assert code == 4 and "FitAndTune result" in err


# -- 10. BatchNorm is never poisoned ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_never_reaches_batchnorm(bad: float) -> None:
    G = Generator("zprime", img_size=17, width=8)
    D = Discriminator(True, img_size=17, width=8)
    stats = {k: v.clone() for k, v in {**G.state_dict(), **{f"D.{k}": v for k, v in D.state_dict().items()}}.items()}
    z = G.sample_latent(4)
    z[1, 3] = bad
    with pytest.raises(NonFiniteError, match="z has 1 non-finite"):
        G.train()(z)
    x = torch.rand(4, 3, 17, 17) * 2 - 1
    x[0, 0, 0, 0] = bad
    with pytest.raises(NonFiniteError, match="x has 1 non-finite"):
        D.train()(x)
    after = {**G.state_dict(), **{f"D.{k}": v for k, v in D.state_dict().items()}}
    assert all(torch.equal(stats[k], after[k]) for k in stats), "running statistics changed"
    assert torch.isfinite(G.eval()(G.sample_latent(4))).all()


def test_diverging_loss_keeps_the_last_good_checkpoint(tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "run"
    real_step = Trainer.train_step

    def step(self, *a):
        out = real_step(self, *a)
        if self.step + 1 == 5:
            out["loss_g"] = out["loss_g"] * float("nan")
        return out

    monkeypatch.setattr(Trainer, "train_step", step)
    with pytest.raises(TrainingDiverged, match="loss_g became nan at step 5"):
        Trainer(cfg(max_steps=8, checkpoint_every=2), run).train()
    _, meta = load_checkpoint(run / CKPT)
    assert meta["step"] == 4 and not meta["finished"]


# -- 11. Ctrl-C and SIGTERM save a checkpoint and exit 130 ------------------------------------------------
def test_signals_save_and_exit_130(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) and SIGTERM, to two trainings at once (they mostly sleep)."""
    env = dict(os.environ)
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        run = tmp_path / sig.name
        # No periodic checkpoint in the first 1000 steps: whatever is saved, the signal saved.
        procs[sig] = (run, subprocess.Popen(train_cmd(run, 200, "--checkpoint-every", "1000", sleep=0.1), env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for run, _ in procs.values():
        assert wait_for(lambda run=run: (run / "config.json").exists())
    time.sleep(1.0)  # several steps of 0.1 s
    for sig, (_, proc) in procs.items():
        proc.send_signal(sig)
    for sig, (run, proc) in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and f"{sig.name}: stopped at step" in err and "checkpoint saved" in err
        _, meta = load_checkpoint(run / CKPT)
        assert 0 < meta["step"] < 200 and not meta["finished"] and meta["stop_reason"] == "interrupted"
        steps = meta["step"]  # resumed by the same settings (only the step budget differs)
        r = Trainer(cfg(max_steps=steps + 2, checkpoint_every=1000), run).train()
        assert r.info["step"] == steps + 2 and load_checkpoint(run / CKPT)[1]["finished"]


def test_interrupt_in_process_raises_a_keyboard_interrupt(tmp_path: Path, monkeypatch) -> None:
    """In a notebook, Ctrl-C raises TrainingInterrupted (a KeyboardInterrupt) after saving."""
    real_step = Trainer.train_step

    def step(self, *a):
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, *a)

    monkeypatch.setattr(Trainer, "train_step", step)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as e:
        Trainer(cfg(max_steps=50), tmp_path / "run").train()
    assert isinstance(e.value, KeyboardInterrupt) and e.value.step == 4
    assert load_checkpoint(tmp_path / "run" / CKPT)[1]["step"] == 4
    assert signal.getsignal(signal.SIGINT) is before, "the previous handler was not restored"


# -- the previous checkpoint and temporary files ----------------------------------------------------
def test_missing_checkpoint_resumes_from_prev(tmp_path: Path) -> None:
    run = tmp_path / "run"
    c = cfg(max_steps=4, checkpoint_every=2, log_every=1)
    Trainer(c, run).train()
    (run / CKPT).rename(run / "moved-away.safetensors")
    assert prev_path(run / CKPT).exists()
    with pytest.warns(RunWarning, match="resumed from .*prev"):
        r = Trainer(c, run).train()  # not a fresh start: the finished run is kept
    assert r.info["step"] == 4 and [row["step"] for row in r.log] == [1, 2, 3, 4]
    _, meta = load_checkpoint(run / CKPT)
    assert meta["finished"] and meta["step"] == 4


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    stale = [run / "checkpoint.safetensors.abc123.ckpt.tmp", run / "checkpoint.safetensors.abc123.ckpt.tmp.prev",
             run / "checkpoint.safetensors.x.part"]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = run / "notes.txt"
    keep.write_text("mine")
    Trainer(cfg(), run).train()
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"


# -- read-only and full file systems (a tmpfs: needs root) ---------------------------------------------
def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path: Path):
    mounts: list[Path] = []

    def make(size: str) -> Path:
        where = tmp_path / f"fs{len(mounts)}"
        _mount_tmpfs(where, size)
        mounts.append(where)
        return where

    yield make
    for m in mounts:
        subprocess.run(["umount", "-l", str(m)], check=False)


def test_read_only_run_folder(tmp_path: Path, tmpfs, capsys) -> None:
    fs = tmpfs("16m")
    run = fs / "run"
    Trainer(cfg(), run).train()
    before = (run / CKPT).read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
    code, err = cli(["train", "--method", "zprime", "--scale", "smoke", "--steps", "4", "--n-train", "64",
                     "--no-progress", "--out", str(run)], capsys)
    assert code == 1 and "not writable" in err
    code, err = cli(["sample", str(run), "--n", "4", "--rows", "1"], capsys)
    assert code == 1 and "cannot write" in err
    assert (run / CKPT).read_bytes() == before
    r = load_or_train(cfg(), path=run)  # reading still works
    assert r.info["step"] == 2


def test_full_disk_keeps_the_last_checkpoint(trained: Path, tmpfs, capsys) -> None:
    size = (trained / CKPT).stat().st_size  # the same model as the run below
    fs = tmpfs(str(int(size * 2.5) // 4096 * 4096))  # room for two checkpoints, not three
    run = fs / "run"
    code, err = cli(["train", "--method", "zprime", "--scale", "smoke", "--steps", "12", "--n-train", "64",
                     "--checkpoint-every", "2", "--sample-every", "0", "--no-progress", "--out", str(run)], capsys)
    assert code == 1 and "No space left" in err and "could not write the checkpoint of step" in err
    _, meta = load_checkpoint(run / CKPT)
    _, prev = load_checkpoint(prev_path(run / CKPT))
    assert meta["step"] == 4 and prev["step"] == 2
    assert not [p.name for p in run.iterdir() if "tmp" in p.name]
