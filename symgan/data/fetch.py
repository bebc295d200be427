"""Explicit downloads, verified and cached under the data directory. Nothing else in
:mod:`symgan.data` touches the network.

``python -m symgan.data fetch NAME`` calls :func:`fetch`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from .cache import data_dir

__all__ = ["download", "fetch", "file_digest", "ChecksumError", "SOURCES"]

#: Fixed files we download. ``sha256`` is checked when the publisher gives one; CelebA's zip has
#: only a published MD5 (the one torchvision checks), which is verified instead, and its SHA-256 is
#: printed and stored next to it so it can be pinned. LSUN publishes no checksum.
SOURCES: dict[str, dict] = {
    "celeba": {
        "url": "https://drive.usercontent.google.com/download?"
               "id=1zmsC4yvw-e089uHXj5EdP0BSZ0AlDQRR&export=download&confirm=t",
        "file": "celeba/img_align_celeba.zip",
        "md5": "00d2c5bc6d35e252742224ab0c1e8fcb",
        "sha256": None,
        "size": "1.4 GB",
    },
    "lsun_bedroom": {
        "url": "http://dl.yf.io/lsun/scenes/bedroom_train_lmdb.zip",
        "file": "lsun/bedroom_train_lmdb.zip",
        "md5": None,
        "sha256": None,
        "size": "43 GB",
    },
}


class ChecksumError(OSError):
    """A downloaded file does not match its published checksum (it is deleted)."""


def file_digest(path: str | os.PathLike, algo: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def download(url: str, dest: str | os.PathLike, sha256: str | None = None,
             md5: str | None = None, quiet: bool = False,
             check: Callable[[Path], object] | None = None) -> Path:
    """Download ``url`` to ``dest`` through a temporary file, verify ``sha256`` / ``md5`` when
    given, then move it into place. An existing ``dest`` that verifies is kept. ``check``, when
    given, is called on the verified temporary file before the move and refuses it by raising:
    whatever fails, nothing at ``dest`` changes and the temporary file is deleted."""
    for name, value, n in (("sha256", sha256, 64), ("md5", md5, 32)):
        if value is not None and not (isinstance(value, str) and len(value) == n
                                      and all(c in "0123456789abcdefABCDEF" for c in value)):
            raise ValueError(f"{name} must be {n} hexadecimal digits or None, got {value!r}")
    sha256, md5 = (sha256.lower() if sha256 else None), (md5.lower() if md5 else None)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def ok(p: Path) -> bool:
        return (sha256 is None or file_digest(p, "sha256") == sha256) and (
            md5 is None or file_digest(p, "md5") == md5)

    if dest.exists() and (sha256 or md5) and ok(dest):
        return dest
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
            total = int(r.headers.get("Content-Length") or 0)
            done = 0
            while chunk := r.read(1 << 20):
                f.write(chunk)
                done += len(chunk)
                if not quiet and total:
                    print(f"\r{dest.name}: {done / 1e6:.0f} / {total / 1e6:.0f} MB", end="")
        if not quiet:
            print()
        if not ok(Path(tmp)):
            raise ChecksumError(f"{url}: checksum mismatch (expected sha256={sha256}, "
                                f"md5={md5}); the download was deleted, run the command again")
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _extract(zip_path: Path, into: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(into)


def fetch(name: str, size: int = 33, quiet: bool = False) -> Path:
    """Fetch or prepare dataset ``name`` under the data directory; returns its path.

    ``celeba``: downloads ``img_align_celeba.zip`` (MD5-verified) to ``<data>/celeba`` (read
    from the zip, no extraction needed). ``lfw``: scikit-learn downloads and SHA-256-verifies LFW
    into ``<data>/lfw``. ``lsun_bedroom``: downloads and unpacks ``bedroom_train_lmdb``.
    ``synthfaces`` / ``synthrooms``: renders and caches 10,000 images at ``size``.
    ``lfw_subset``: ships with scikit-image, nothing to do.
    """
    from ..checks import check_int

    check_int("size", size, 4, 4096)
    root = data_dir()
    if name == "celeba":
        s = SOURCES["celeba"]
        path = download(s["url"], root / s["file"], s["sha256"], s["md5"], quiet)
        digest = file_digest(path)
        (path.parent / (path.name + ".sha256")).write_text(f"{digest}  {path.name}\n")
        if not quiet:
            print(f"{path} (md5 verified; sha256 {digest})")
        return path
    if name == "lsun_bedroom":
        s = SOURCES["lsun_bedroom"]
        path = download(s["url"], root / s["file"], s["sha256"], s["md5"], quiet)
        _extract(path, path.parent)
        if not quiet:
            print(f"{path.parent / 'bedroom_train_lmdb'} (sha256 {file_digest(path)})")
        return path.parent / "bedroom_train_lmdb"
    if name == "lfw":
        from .real import LFWPeople

        LFWPeople(size=size, download=True)
        return root / "lfw"
    if name in ("synthfaces", "synthrooms"):
        from .registry import get_dataset

        ds = get_dataset(name, size)
        if not quiet:
            print(f"{name}: {len(ds)} images at {size}px cached under {root / 'cache'}")
        return root / "cache"
    if name == "lfw_subset":
        from .real import LFWSubset

        LFWSubset()
        return root
    from .registry import DATASETS

    raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")

