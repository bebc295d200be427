"""Where datasets live on disk, and an atomic ``.npy`` cache keyed by generator parameters.

The data directory is, in order: ``$SYMGAN_DATA``; ``<repo>/data`` when it exists and is writable
(a source checkout); ``~/.cache/symgan``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["data_dir", "cache_path", "cached_array", "atomic_save_npy", "param_hash"]

_REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def data_dir() -> Path:
    """The root folder for downloads and caches (created if missing)."""
    env = os.environ.get("SYMGAN_DATA")
    if env:
        root = Path(env).expanduser()
    elif _REPO_DATA.is_dir() and os.access(_REPO_DATA, os.W_OK):
        root = _REPO_DATA
    else:
        root = Path.home() / ".cache" / "symgan"
    root.mkdir(parents=True, exist_ok=True)
    return root


def param_hash(params: dict[str, Any]) -> str:
    """A short stable hash of JSON-serialisable parameters (sorted keys)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cache_path(kind: str, params: dict[str, Any], suffix: str = ".npy") -> Path:
    """``<data_dir>/cache/<kind>-<hash>.npy``: one file per parameter set."""
    folder = data_dir() / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{param_hash(params)}{suffix}"


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` through a temporary file and ``os.replace``.

    A reader never sees a half-written file, and two processes writing the same cache both leave a
    complete one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verified(path: Path) -> bool:
    """Does ``path`` match the SHA-256 stored next to it when it was written?"""
    from .fetch import file_digest

    try:
        return _digest_path(path).read_text().split()[0] == file_digest(path)
    except (OSError, IndexError):
        return False


def cached_array(
    kind: str, params: dict[str, Any], build: Callable[[], np.ndarray], cache: bool = True
) -> np.ndarray:
    """Load the array for ``params`` from the cache, or ``build()`` it and store it.

    Each cache file has its SHA-256 next to it (``<file>.sha256``, written after the file). A
    file that has none is rebuilt; one that does not match it or cannot be read (truncated,
    wrong format, flipped bits that still parse) is rebuilt with a warning: never trusted.
    """
    if not cache:
        return build()
    path = cache_path(kind, params)
    if path.exists():
        if _verified(path):
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                pass
        # No checksum file: a writer stopped between the two files, or an older version wrote
        # it; nothing to warn about. A checksum that does not match is damage.
        if _digest_path(path).exists():
            warnings.warn(f"data cache {path} does not match its SHA-256 (corrupted); rebuilding it",
                          stacklevel=2)
    arr = build()
    atomic_save_npy(path, arr)
    from .fetch import file_digest

    digest = _digest_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=digest.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{file_digest(path)}  {path.name}\n")
        os.replace(tmp, digest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return arr
