"""``get_dataset``: one entry point for every dataset by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import Dataset

from .real import CelebA, ImageFolder, LFWPeople, LFWSubset, LSUNBedrooms
from .synthfaces import SynthFaces
from .synthrooms import SynthRooms

__all__ = ["get_dataset", "DATASETS"]


def _folder(size: int, channels: int, root: Any = None, **kw: Any) -> Dataset:
    if root is None:
        raise TypeError("get_dataset('folder', ...) needs root= a folder of images")
    return ImageFolder(root, size, channels, **kw)


#: name -> (factory(size, channels, **kwargs), one-line description)
DATASETS: dict[str, tuple[Callable[..., Dataset], str]] = {
    "synthfaces": (lambda size, channels, **kw: SynthFaces(size=size, channels=channels, **kw),
                   "procedural 3D faces with yaw labels (offline, default at smoke/cpu scale)"),
    "synthrooms": (lambda size, channels, **kw: SynthRooms(size=size, channels=channels, **kw),
                   "procedural bedrooms, mirror-invariant distribution (offline)"),
    "lfw_subset": (lambda size, channels, **kw: LFWSubset(size=size, channels=channels, **kw),
                   "the 100 real LFW faces shipped with scikit-image"),
    "celeba": (lambda size, channels, **kw: CelebA(size=size, channels=channels, **kw),
               "CelebA aligned faces (img_align_celeba.zip)"),
    "lfw": (lambda size, channels, **kw: LFWPeople(size=size, channels=channels, **kw),
            "Labeled Faces in the Wild via scikit-learn"),
    "lsun_bedroom": (lambda size, channels, **kw: LSUNBedrooms(size=size, channels=channels, **kw),
                     "LSUN bedrooms, lmdb export"),
    "folder": (_folder, "any folder of images (root=...)"),
}


def get_dataset(name: str, size: int, channels: int = 3, **kwargs: Any) -> Dataset:
    """The dataset ``name`` at ``size x size`` with ``channels`` (1 or 3): items are float tensors
    ``(channels, size, size)`` in ``[-1, 1]``. ``kwargs`` go to the dataset class (e.g.
    ``n=``, ``seed=`` for the synthetic sets, ``root=`` for ``folder`` and ``celeba``,
    ``lmdb_path=`` for ``lsun_bedroom``). Unknown names raise ``ValueError`` listing the valid
    ones."""
    key = name.lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return DATASETS[key][0](size, channels, **kwargs)
