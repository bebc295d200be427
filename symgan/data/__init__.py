"""Datasets for symgan: procedural faces and bedrooms (offline), texture patches, the
scikit-image LFW subset, and loaders for CelebA, LFW, LSUN bedrooms and image folders. All items are float tensors
``(C, H, W)`` in ``[-1, 1]``; :func:`get_dataset` is the single entry point, and
:func:`load_training_images` the training set of a config (:mod:`symgan.data.batches`)."""

from .batches import RandomBatches, load_training_images
from .cache import data_dir
from .fetch import fetch
from .real import (
    CelebA,
    DatasetNotFoundError,
    EmptyDatasetError,
    ImageFolder,
    LFWPeople,
    LFWSubset,
    LSUNBedrooms,
    astronaut_face,
)
from .registry import DATASETS, get_dataset
from .synthfaces import FaceIdentity, SynthFaces, render, render_batch, sample_identities
from .synthrooms import SynthRooms, render_rooms, sample_rooms
from .textures import TexturePatches

__all__ = [
    "CelebA",
    "DATASETS",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "FaceIdentity",
    "ImageFolder",
    "LFWPeople",
    "LFWSubset",
    "LSUNBedrooms",
    "RandomBatches",
    "SynthFaces",
    "SynthRooms",
    "TexturePatches",
    "astronaut_face",
    "data_dir",
    "fetch",
    "get_dataset",
    "load_training_images",
    "render",
    "render_batch",
    "render_rooms",
    "sample_identities",
    "sample_rooms",
]
