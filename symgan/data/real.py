"""Real images: the LFW subset and astronaut photo shipped with scikit-image, and loaders for
CelebA, LFW, LSUN bedrooms and any folder of images.

Every dataset returns float tensors ``(C, size, size)`` in ``[-1, 1]`` on 8-bit levels. Photos go
through the package's one image loader, :func:`symgan.images.load_image`: the centred square
is cropped and resized to ``size x size`` (bicubic, antialiased); grayscale, RGBA/LA (composited
on white), palette and 16-bit images are converted.

Nothing here downloads unless asked (:mod:`symgan.data.fetch`); a missing dataset raises
:class:`DatasetNotFoundError` naming the command that fetches it.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..images import load_image, load_uint8, to_unit_range
from .cache import data_dir

__all__ = [
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "IMAGE_EXTENSIONS",
    "LFWSubset",
    "astronaut_face",
    "ImageFolder",
    "CelebA",
    "LFWPeople",
    "LSUNBedrooms",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm",
                    ".pgm")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not where they should be; the message says what to run."""


class EmptyDatasetError(ValueError):
    """A dataset has no usable images, or fewer than one batch."""


def _skimage():
    try:
        import skimage.data as skd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "scikit-image is needed for the LFW subset and the astronaut photo: "
            "pip install 'symgan[data]'") from e
    return skd


class LFWSubset(Dataset):
    """The 100 real faces of ``skimage.data.lfw_subset()`` (25x25 grayscale), upsampled to
    ``size`` (bicubic). ``include_mirrors`` appends their 100 mirror images (indices 100..199).
    ``channels=3`` repeats the gray channel. ``images`` is ``uint8`` ``(N, size, size, C)``."""

    def __init__(self, size: int = 33, channels: int = 1, include_mirrors: bool = False) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        faces = _skimage().lfw_subset()[:100]  # the first 100 are faces, the rest are not
        out = []
        for f in faces:
            im = Image.fromarray(np.asarray(f, dtype=np.float32) * 255.0, mode="F")
            out.append(np.asarray(im.resize((size, size), Image.BICUBIC)))
        a = np.clip(np.rint(np.stack(out)), 0, 255).astype(np.uint8)[..., None]
        if include_mirrors:
            a = np.concatenate([a, a[:, :, ::-1]])
        if channels == 3:
            a = np.repeat(a, 3, axis=3)
        self.images = np.ascontiguousarray(a)
        self.size, self.channels = size, channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return to_unit_range(torch.from_numpy(self.images[i]).permute(2, 0, 1))


def astronaut_face(size: int = 65, channels: int = 3) -> torch.Tensor:
    """A square crop of the face in ``skimage.data.astronaut()`` (Eileen Collins, public domain):
    ``(channels, size, size)`` in ``[-1, 1]``, hair to chin, roughly centred like the aligned
    CelebA crops."""
    return load_image(_skimage().astronaut()[10:190, 138:318], size, channels)


# ----------------------------------------------------------------------------- image folders


def _scan(root: Path, extensions: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """All non-hidden files under ``root`` (recursive, sorted): (image candidates, others)."""
    imgs, other = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            p = Path(dirpath) / f
            (imgs if p.suffix.lower() in extensions else other).append(p)
    return imgs, other


def _check_image(read) -> bool:
    """True when the bytes decode as an image (full decode: truncated files fail too)."""
    try:
        with Image.open(read()) as im:
            im.load()
        return True
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


def _warn_skipped(where: str, bad: list[str]) -> None:
    if bad:
        shown = ", ".join(bad[:5]) + (", ..." if len(bad) > 5 else "")
        warnings.warn(f"{where}: skipped {len(bad)} file(s) that are not readable images: "
                      f"{shown}", stacklevel=3)


def _check_count(n: int, where: str, min_images: int, batch_size: int | None) -> None:
    need = max(min_images, batch_size or 0, 1)
    if n < need:
        what = f"one batch of {batch_size}" if batch_size and batch_size >= min_images else (
            f"min_images={need}")
        raise EmptyDatasetError(
            f"{where}: found {n} usable image(s), need at least {need} ({what}). "
            "Point it at a folder with more images, or lower batch_size / min_images.")


class ImageFolder(Dataset):
    """Every image under ``root`` (recursive; ``IMAGE_EXTENSIONS``; hidden files ignored).

    Unreadable files (corrupt images, non-image files) are found when the dataset is built —
    each image is decoded once, unless ``verify=False`` — and skipped with **one** warning that
    counts them, so an epoch never stops halfway. Fewer than ``max(min_images, batch_size)``
    usable images is an :class:`EmptyDatasetError`; a missing ``root`` is a
    :class:`DatasetNotFoundError`. ``preload=True`` decodes everything into ``images``
    (``uint8`` ``(N, size, size, C)``) once; otherwise images are read on access.
    """

    def __init__(self, root: str | os.PathLike, size: int = 65, channels: int = 3,
                 min_images: int = 1, batch_size: int | None = None, verify: bool = True,
                 preload: bool = False, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetNotFoundError(
                f"image folder not found: {self.root}. Pass root= an existing folder of images "
                f"(searched recursively for {', '.join(extensions)}).")
        self.size, self.channels = int(size), int(channels)
        imgs, other = _scan(self.root, tuple(e.lower() for e in extensions))
        bad = list(other)
        if verify:
            # decoding releases the GIL, so threads check large folders several times faster
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
                ok = list(pool.map(lambda p: _check_image(lambda: p), imgs, chunksize=64))
            good = [p for p, k in zip(imgs, ok, strict=True) if k]
            bad += [p for p, k in zip(imgs, ok, strict=True) if not k]
        else:
            good = imgs
        self.files: list[Path] = good
        self.skipped: list[Path] = sorted(bad)
        _warn_skipped(f"ImageFolder({self.root})",
                      [str(p.relative_to(self.root)) for p in self.skipped])
        _check_count(len(self.files), f"ImageFolder({self.root})", min_images, batch_size)
        self.images = None
        if preload:
            self.images = np.stack([load_uint8(f, self.size, self.channels) for f in self.files])

    def _load(self, i: int) -> torch.Tensor:
        return load_image(self.files[i], self.size, self.channels)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.images is not None:
            return to_unit_range(torch.from_numpy(self.images[i]).permute(2, 0, 1))
        return self._load(i)


# ----------------------------------------------------------------------------- CelebA


class CelebA(Dataset):
    """The aligned-and-cropped CelebA faces (``img_align_celeba``, 178x218 JPEGs), read from
    ``img_align_celeba.zip`` or its extracted folder, ``Resize(size) + CenterCrop(size)``.

    ``root`` may be the zip, the extracted ``img_align_celeba`` folder, or a folder holding
    either (default ``<data dir>/celeba``, where ``python -m symgan.data fetch celeba`` puts it).
    Members are checked when the dataset is built when ``verify=True`` (slow for all 202,599
    images: off by default; a file that fails later is replaced by the next one, with one
    warning).
    """

    def __init__(self, root: str | os.PathLike | None = None, size: int = 65, channels: int = 3,
                 min_images: int = 1, batch_size: int | None = None, verify: bool = False,
                 max_images: int | None = None) -> None:
        root = Path(root).expanduser() if root is not None else data_dir() / "celeba"
        self.size, self.channels = int(size), int(channels)
        self.zip_path: Path | None = None
        self.folder: Path | None = None
        for cand in (root, root / "img_align_celeba.zip"):
            if cand.is_file() and zipfile.is_zipfile(cand):
                self.zip_path = cand
                break
        if self.zip_path is None:
            for cand in (root / "img_align_celeba", root):
                if cand.is_dir() and any(cand.glob("*.jpg")):
                    self.folder = cand
                    break
        if self.zip_path is None and self.folder is None:
            raise DatasetNotFoundError(
                f"CelebA not found at {root}. Run `python -m symgan.data fetch celeba` "
                "(downloads img_align_celeba.zip, 1.4 GB, into the data directory), or pass "
                "root= the img_align_celeba.zip file or its extracted folder.")
        if self.zip_path is not None:
            with zipfile.ZipFile(self.zip_path) as zf:
                names = sorted(n for n in zf.namelist()
                               if n.lower().endswith((".jpg", ".jpeg", ".png"))
                               and not Path(n).name.startswith("."))
            self.names = names
        else:
            self.names = sorted(str(p) for p in self.folder.glob("*.jp*g"))
        if max_images is not None:
            self.names = self.names[:max_images]
        self._zf: zipfile.ZipFile | None = None
        self._pid = -1
        self._warned = False
        if verify:
            ok = [n for n in self.names if _check_image(lambda n=n: io.BytesIO(self._read(n)))]
            _warn_skipped(f"CelebA({root})", sorted(set(self.names) - set(ok)))
            self.names = ok
        _check_count(len(self.names), f"CelebA({root})", min_images, batch_size)

    def _read(self, name: str) -> bytes:
        if self.zip_path is None:
            return Path(name).read_bytes()
        if self._zf is None or self._pid != os.getpid():  # one handle per DataLoader worker
            self._zf = zipfile.ZipFile(self.zip_path)
            self._pid = os.getpid()
        return self._zf.read(name)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> torch.Tensor:
        for k in range(len(self.names)):
            name = self.names[(i + k) % len(self.names)]
            try:
                with Image.open(io.BytesIO(self._read(name))) as img:
                    img.load()
                    return load_image(img, self.size, self.channels)
            except (OSError, UnidentifiedImageError, ValueError, zipfile.BadZipFile):
                if not self._warned:
                    warnings.warn(f"CelebA: unreadable image {name} replaced by the next one "
                                  "(build with verify=True to drop such files up front)",
                                  stacklevel=2)
                    self._warned = True
        raise EmptyDatasetError("CelebA: no readable image")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_zf"] = None  # zip handles do not cross process boundaries
        return state


# ----------------------------------------------------------------------------- LFW (sklearn)


class LFWPeople(Dataset):
    """Labeled Faces in the Wild through scikit-learn's ``fetch_lfw_people`` (the
    ``symgan[lfw]`` extra), stored under ``<data dir>/lfw``. Images (the default 125x94 face
    crop) are resized and centre-cropped to ``size``. Fetch first with
    ``python -m symgan.data fetch lfw`` (scikit-learn verifies the archive's SHA-256).
    ``targets`` holds the person index of each image, ``target_names`` their names."""

    def __init__(self, size: int = 65, channels: int = 3, min_faces_per_person: int = 0,
                 download: bool = False, data_home: str | os.PathLike | None = None) -> None:
        try:
            from sklearn.datasets import fetch_lfw_people
        except ImportError as e:
            raise ImportError("LFW needs scikit-learn: pip install 'symgan[lfw]' "
                              "(or pip install scikit-learn)") from e
        home = Path(data_home) if data_home is not None else data_dir() / "lfw"
        try:
            b = fetch_lfw_people(data_home=str(home), color=channels == 3, resize=1.0,
                                 min_faces_per_person=min_faces_per_person,
                                 download_if_missing=download)
        except OSError as e:
            raise DatasetNotFoundError(
                f"LFW not found under {home}. Run `python -m symgan.data fetch lfw` "
                "(downloads about 230 MB through scikit-learn).") from e
        imgs = np.asarray(b.images, dtype=np.float32)
        if imgs.max() <= 1.0:
            imgs = imgs * 255.0
        self.size, self.channels = int(size), int(channels)
        self.targets = np.asarray(b.target)
        self.target_names = list(b.target_names)
        a8 = np.clip(np.rint(imgs), 0, 255).astype(np.uint8)
        self.images = np.stack([load_uint8(a, self.size, self.channels) for a in a8])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return to_unit_range(torch.from_numpy(self.images[i]).permute(2, 0, 1))


# ----------------------------------------------------------------------------- LSUN (lmdb)


_LMDB_ENVS: dict[tuple[str, int], object] = {}


class LSUNBedrooms(Dataset):
    """LSUN bedrooms from the official lmdb export (``bedroom_train_lmdb``): values are encoded
    images (WebP/JPEG), read with the ``lmdb`` package (the ``symgan[lsun]`` extra),
    ``Resize(size) + CenterCrop(size)``. ``max_images`` takes the first keys only (the full
    export has 3,033,042). An image that fails to decode is replaced by the next one, with one
    warning; ``verify=True`` decodes every value up front and drops the bad ones (slow)."""

    def __init__(self, lmdb_path: str | os.PathLike | None = None, size: int = 65,
                 channels: int = 3, max_images: int | None = None, min_images: int = 1,
                 batch_size: int | None = None, verify: bool = False) -> None:
        try:
            import lmdb
        except ImportError as e:
            raise ImportError("LSUN needs the lmdb package: pip install 'symgan[lsun]'") from e
        path = Path(lmdb_path).expanduser() if lmdb_path is not None else (
            data_dir() / "lsun" / "bedroom_train_lmdb")
        if not (path / "data.mdb").is_file() and not (path.is_file()):
            raise DatasetNotFoundError(
                f"LSUN bedroom lmdb not found at {path}. Run `python -m symgan.data fetch "
                "lsun_bedroom` (downloads bedroom_train_lmdb.zip, 43 GB, and unpacks it), or pass "
                "lmdb_path= the folder holding data.mdb.")
        self.path, self.size, self.channels = path, int(size), int(channels)
        self._lmdb = lmdb
        env = self._open()
        with env.begin(write=False) as txn:
            keys = []
            for k in txn.cursor().iternext(keys=True, values=False):
                keys.append(bytes(k))
                if max_images is not None and len(keys) >= max_images:
                    break
        self.keys = keys
        self._warned = False
        if verify:
            with env.begin(write=False) as txn:
                good = [_check_image(lambda k=k: io.BytesIO(txn.get(k))) for k in keys]
            _warn_skipped(f"LSUNBedrooms({path})",
                          [k.decode(errors="replace") for k, g in zip(keys, good, strict=True) if not g])
            self.keys = [k for k, g in zip(keys, good, strict=True) if g]
        _check_count(len(self.keys), f"LSUNBedrooms({path})", min_images, batch_size)

    def _open(self):
        # lmdb refuses to open one environment twice in a process: share one per (path, pid)
        key = (str(self.path.resolve()), os.getpid())
        if key not in _LMDB_ENVS:
            _LMDB_ENVS[key] = self._lmdb.open(
                str(self.path), readonly=True, lock=False, readahead=False, meminit=False,
                subdir=self.path.is_dir(), max_readers=64)
        self._env, self._pid = _LMDB_ENVS[key], os.getpid()
        return self._env

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> torch.Tensor:
        if self._env is None or self._pid != os.getpid():
            self._open()
        with self._env.begin(write=False) as txn:
            for k in range(len(self.keys)):
                key = self.keys[(i + k) % len(self.keys)]
                try:
                    buf = txn.get(key)
                    with Image.open(io.BytesIO(buf)) as img:
                        img.load()
                        return load_image(img, self.size, self.channels)
                except (OSError, UnidentifiedImageError, ValueError, TypeError):
                    if not self._warned:
                        warnings.warn(f"LSUN: unreadable value for key {key!r} replaced by the "
                                      "next image", stacklevel=2)
                        self._warned = True
        raise EmptyDatasetError("LSUN: no readable image")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_env"] = None  # lmdb environments do not cross process boundaries
        state["_lmdb"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        import lmdb

        self._lmdb = lmdb
