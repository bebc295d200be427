"""Run folders and their records, and ``load_or_train``: how the book gets a trained model.

A run of a :class:`~symgan.config.TrainConfig` lives in ``runs_dir() / config.run_name()``
(:func:`run_folder`; the name ends with :meth:`~symgan.config.TrainConfig.key`, a hash of the
fields that change the weights). It holds ``checkpoint.safetensors`` (:mod:`symgan.checkpoint`),
``log.csv`` (:data:`LOG_FIELDS`, :func:`read_log`), ``config.json``, ``summary.json``, sample
grids and snapshots, written by :class:`symgan.train.Trainer`.

Runs survive their environment: a run folder is locked while a process writes to it
(:class:`RunLock`, released by the operating system however the process ends), temporary files of
a killed writer are removed under that lock (:func:`remove_stale_temporaries`), and a log row that
does not parse is skipped with a :class:`~symgan.train.RunWarning`.

:func:`load_or_train` looks for the weights of a config (a given file, the weights shipped in
:mod:`symgan.pretrained`, a URL pinned by its SHA-256, the run folder) and trains only when none
exist. Chapter: ``book/06_loss_baselines_and_faces``; ``book/appendix_running`` lists the order.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from .checkpoint import CheckpointError, load_models, prev_path
from .config import TrainConfig
from .data.fetch import ChecksumError, download, file_digest

__all__ = [
    "CHECKPOINT",
    "LOG_FIELDS",
    "RunLock",
    "RunLocked",
    "TrainResult",
    "load_or_train",
    "read_log",
    "remove_stale_temporaries",
    "run_folder",
    "runs_dir",
    "write_log",
]

#: The checkpoint of a run, inside its folder.
CHECKPOINT = "checkpoint.safetensors"
#: The columns of a run's ``log.csv``: the step, training seconds, the losses, D's mean outputs on
#: real and fake batches, and images per second.
LOG_FIELDS = ["step", "time_s", "loss_d", "loss_g", "loss_sym", "d_real", "d_fake", "img_per_s"]
_REPO = Path(__file__).resolve().parents[1]
_LOCK_NAME = ".lock"
# What a killed writer can leave behind: save_checkpoint's and load_or_train's temporary files.
_STALE = re.compile(r"^checkpoint\.safetensors\..+\.(ckpt\.tmp(\.prev)?|part)$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def runs_dir() -> Path:
    """Where :func:`load_or_train` keeps runs: ``$SYMGAN_RUNS``, else ``<repo>/runs`` in a
    writable source checkout, else ``~/.cache/symgan/runs``."""
    env = os.environ.get("SYMGAN_RUNS")
    if env:
        return Path(env).expanduser()
    if (_REPO / "pyproject.toml").is_file() and os.access(_REPO, os.W_OK):
        return _REPO / "runs"
    return Path.home() / ".cache" / "symgan" / "runs"


def run_folder(config: TrainConfig, root: str | os.PathLike | None = None) -> Path:
    """``root/config.run_name()`` (``root`` defaults to :func:`runs_dir`), checked to lie inside
    ``root``: the name is built from validated values only, and this check holds even if it
    were not."""
    base = Path(root if root is not None else runs_dir()).expanduser()
    run = base / config.run_name()
    if not run.resolve().is_relative_to(base.resolve()):
        raise ValueError(f"run folder {run} would lie outside its root {base}")
    return run


# -- the lock -------------------------------------------------------------------------------------
class RunLocked(RuntimeError):
    """Another process is training in this run folder (it holds the folder's ``.lock``)."""


class RunLock:
    """An exclusive lock on a run folder (``flock`` on ``<folder>/.lock``), so that two
    trainings never write the same checkpoint and log. The operating system releases it when
    the process ends, however it ends, so a killed run leaves no stale lock. The file records
    the holder (pid, host, start time, command) for the message a second trainer gets.
    Where ``fcntl`` does not exist (Windows) no lock is taken."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / _LOCK_NAME
        self._fd: int | None = None

    def holder(self) -> str:
        """Who holds the lock, as recorded in the lock file ("another process" if unknown)."""
        try:
            info = json.loads(self.path.read_text() or "{}")
            return (f"pid {int(info['pid'])} on {info['host']} (since {info['since']}: "
                    f"{str(info['command'])[:200]})")
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def acquire(self, wait: float = 0.0) -> RunLock:
        """Take the lock, waiting up to ``wait`` seconds (``math.inf``: until it is free);
        :class:`RunLocked` naming the holder when it stays taken."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RunLocked(f"run folder {self.folder} is in use by {self.holder()}; wait for "
                                    "it to finish or stop it (its lock is released when it ends)") from None
                if not told:
                    print(f"waiting for {self.holder()} to finish with {self.folder}", file=sys.stderr)
                    told = True
                time.sleep(0.2)
            except BaseException:
                os.close(fd)
                raise
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (the file stays: removing it would let a waiting process lock a
        file that no longer has a name while a third one creates a new one)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Delete temporary files a killed writer left in ``folder`` (call only under its lock);
    returns their names."""
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if _STALE.match(p.name):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p.name)
    return removed


# -- records --------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`symgan.train.train` and :func:`load_or_train` return: trained models (eval
    mode, CPU unless trained elsewhere), the config, the log rows and run information."""

    generator: nn.Module
    discriminator: nn.Module
    config: TrainConfig
    log: list[dict[str, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None

    def __iter__(self):  # G, D, info = load_or_train(cfg)
        return iter((self.generator, self.discriminator, self.info))

    def plot_log(self, ax=None):
        """Losses against step (see :func:`symgan.plots.plot_log`)."""
        from .plots import plot_log  # matplotlib and the plot are needed only here

        return plot_log(self.log, ax=ax, title=self.config.method)


def read_log(path: str | os.PathLike) -> list[dict[str, float]]:
    """Rows of a run's ``log.csv`` (``path`` is the file or its run folder) as dicts of floats
    (empty fields skipped). Rows that do not parse (a file cut short by a full disk, edited by
    hand) are skipped with a :class:`~symgan.train.RunWarning`: the log is a record, never a
    reason to refuse a trained model."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.csv"
    if not path.is_file():
        return []
    rows, bad = [], 0
    with open(path, newline="", errors="replace") as f:
        for row in csv.DictReader(f):
            try:
                r = {k: float(v) for k, v in row.items() if k in LOG_FIELDS and v not in ("", None)}
            except (TypeError, ValueError):
                r = {}
            if "step" in r:
                rows.append(r)
            else:
                bad += 1
    if bad:
        from .train import RunWarning

        warnings.warn(f"{path}: skipped {bad} malformed row(s)", RunWarning, stacklevel=2)
    return rows


def write_log(path: Path, rows: list[dict[str, float]], mode: str = "a") -> None:
    """Append ``rows`` to the ``log.csv`` at ``path`` (``mode="w"``: rewrite it), with a header
    when the file is new: the step as an integer, other values to 6 significant digits, fields
    outside :data:`LOG_FIELDS` dropped. ``OSError`` when it cannot be written."""
    new = mode == "w" or not path.exists()
    with open(path, mode, newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: (int(v) if k == "step" else f"{v:.6g}") for k, v in r.items()})


# -- load or train --------------------------------------------------------------------------------
def _download_checkpoint(url: str, dest: Path, sha256: str | None, expect: dict[str, Any]) -> None:
    """Download ``url`` to ``dest`` (through :func:`symgan.data.fetch.download`) only if it
    verifies (``sha256``) and loads as a training checkpoint matching ``expect``; otherwise
    nothing at ``dest`` changes (no poisoned cache)."""

    def usable(tmp: Path) -> None:
        try:
            load_models(tmp, expect=expect, kind="training")
        except CheckpointError as e:
            raise CheckpointError(f"{url} is not a usable checkpoint for this config, so nothing was "
                                  f"cached: {e}") from e

    try:
        download(url, dest, sha256=sha256, quiet=True, check=usable)
    except ChecksumError as e:
        raise CheckpointError(f"{url}: SHA-256 mismatch (expected {sha256}); nothing was cached") from e
    except (OSError, ValueError) as e:  # URLError is an OSError; a malformed URL a ValueError
        raise CheckpointError(f"could not download {url}: {e}") from e


def _loaded(ckpt: Path, expect: dict[str, Any], log: list[dict[str, float]] | None = None,
            **extra: Any) -> TrainResult:
    """The models of the checkpoint ``ckpt`` (which must match ``expect``), without training;
    ``log`` defaults to the ``log.csv`` beside it."""
    G, D, cfg, meta = load_models(ckpt, expect=expect, kind="training")
    info = {k: meta.get(k) for k in ("step", "elapsed_s", "stop_reason", "key")}
    info.update(checkpoint=str(ckpt), loaded=True, **extra)
    return TrainResult(G, D, cfg, read_log(ckpt.parent) if log is None else log, info, ckpt.parent)


def load_or_train(
    config: TrainConfig,
    *,
    path: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    root: str | os.PathLike | None = None,
    train_if_missing: bool = True,
    pretrained: bool = True,
) -> TrainResult:
    """The trained models of ``config``: loaded when a checkpoint exists, else trained and saved.

    Looks, in order, at ``path`` (a checkpoint file or run folder), ``url`` (downloaded into the
    run folder only once it verifies against ``sha256`` and loads; a cached copy is checked
    against ``sha256`` on every call and fetched again if it differs), the weights shipped in
    :mod:`symgan.pretrained` (when ``pretrained``: matched by the config's run key, checked
    against the manifest's SHA-256), then the run folder
    :func:`run_folder` (``root/config.run_name()``, ``root`` defaulting to :func:`runs_dir`; the
    name ends with :meth:`TrainConfig.key`, a hash of the fields that change the weights). A
    checkpoint from ``path`` or ``url`` must match the config's architecture, method and loss
    settings. A finished checkpoint is loaded without training; an unfinished one is resumed
    (waiting for another process that is training the same run). Returns a
    :class:`TrainResult` (``.generator``, ``.discriminator``, ``.log``, ``.config``, ``.info``;
    it also unpacks as ``G, D, info``). Chapter: ``book/06_loss_baselines_and_faces``.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    if url is not None and not (isinstance(url, str) and url.split(":", 1)[0] in ("http", "https", "file")):
        raise ValueError(f"url must be an http, https or file URL, got {url!r}")
    run = run_folder(config, root)
    expect = {**config.model_dict(), "method": config.method, "alpha": config.alpha,
              "sym_reduction": config.sym_reduction}
    if path is not None:
        src = Path(path)
        src = src / CHECKPOINT if src.is_dir() else src
        if not src.is_file():
            raise CheckpointError(f"no checkpoint at {src}")
        return _loaded(src, expect)
    if url is not None:
        src = run / CHECKPOINT
        lock = RunLock(run).acquire(wait=math.inf)  # not while a trainer writes there
        try:
            if not src.is_file() or (sha256 and file_digest(src) != sha256.lower()):
                _download_checkpoint(url, src, sha256, expect)
        finally:
            lock.release()
        return _loaded(src, expect)
    if pretrained:
        from .pretrained import find

        hit = find(config)
        if hit is not None:
            return _loaded(hit[0], expect, hit[1].get("log", []), pretrained=True)
    ckpt = run / CHECKPOINT
    if not train_if_missing and not ckpt.exists() and not prev_path(ckpt).exists():
        raise CheckpointError(f"no checkpoint for this config at {ckpt} (train_if_missing=False)")
    from .train import Trainer  # the trainer builds on this module's run folders

    result = Trainer(config, run, resume=True, wait_for_lock=math.inf).train()
    result.generator.cpu()
    result.discriminator.cpu()
    return result
