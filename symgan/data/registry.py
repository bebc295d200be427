"""``get_dataset``: one entry point for every dataset by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import Dataset

from .real import CelebA, ImageFolder, LFWPeople, LFWSubset, LSUNBedrooms
from .synthfaces import SynthFaces
from .synthrooms import SynthRooms
from .textures import TexturePatches

__all__ = ["get_dataset", "DATASETS"]


def _folder(size: int, channels: int, root: Any = None, **kw: Any) -> Dataset:
    if root is None:
        raise TypeError("get_dataset('folder', ...) needs root= a folder of images")
    return ImageFolder(root, size, channels, **kw)


def _sized(cls: type) -> Callable[..., Dataset]:
    """The factory of a dataset class whose constructor takes ``size=`` and ``channels=``."""

    def make(size: int, channels: int, **kw: Any) -> Dataset:
        return cls(size=size, channels=channels, **kw)

    make.__name__ = make.__qualname__ = f"make_{cls.__name__}"
    return make


def _texture(name: str) -> Callable[..., Dataset]:
    """The factory of the texture patches of ``name`` (:mod:`symgan.data.textures`)."""

    def make(size: int, channels: int, **kw: Any) -> Dataset:
        return TexturePatches(name, size=size, channels=channels, **kw)

    make.__name__ = make.__qualname__ = f"make_{name}_patches"
    return make


#: name -> (factory(size, channels, **kwargs), one-line description)
DATASETS: dict[str, tuple[Callable[..., Dataset], str]] = {
    "synthfaces": (_sized(SynthFaces),
                   "procedural 3D faces with yaw labels (offline, default at smoke/cpu scale)"),
    "synthrooms": (_sized(SynthRooms), "procedural bedrooms, mirror-invariant distribution (offline)"),
    "lfw_subset": (_sized(LFWSubset), "the 100 real LFW faces shipped with scikit-image"),
    "celeba": (_sized(CelebA), "CelebA aligned faces (img_align_celeba.zip)"),
    "lfw": (_sized(LFWPeople), "Labeled Faces in the Wild via scikit-learn"),
    "lsun_bedroom": (_sized(LSUNBedrooms), "LSUN bedrooms, lmdb export"),
    "folder": (_folder, "any folder of images (root=...)"),
    "brick": (_texture("brick"), "random patches of scikit-image's brick wall photo (texture, offline)"),
    "grass": (_texture("grass"), "random patches of scikit-image's grass photo (texture, offline)"),
    "gravel": (_texture("gravel"), "random patches of scikit-image's gravel photo (texture, offline)"),
    "plaid": (_texture("plaid"), "random patches of a procedural colour plaid of known period (offline)"),
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
