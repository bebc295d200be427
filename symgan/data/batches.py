"""The training set of a configuration and the random batches the trainer draws from it.

:func:`load_training_images` turns ``(cfg.data, cfg.img_size, cfg.channels, cfg.n_train,
cfg.data_seed)`` into the images a run trains on; :class:`RandomBatches` samples batches from
them with replacement, from a ``torch.Generator`` of the trainer's own, so that a resumed run
draws the same batches as an uninterrupted one. Chapters: ``book/05_symmetric_discriminator``,
``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..images import to_unit_range
from .registry import get_dataset

if TYPE_CHECKING:
    from ..config import TrainConfig

__all__ = ["load_training_images", "RandomBatches"]


def load_training_images(cfg: TrainConfig) -> Tensor | Dataset:
    """The training set of ``cfg``: a ``uint8`` tensor ``(N, C, H, W)`` when the dataset exposes
    ``.images`` (fast: random batches are indexed from memory), else the dataset itself (items
    float ``(C, H, W)`` in ``[-1, 1]``)."""
    kw: dict[str, Any] = {"channels": cfg.channels, "n": cfg.n_train, "seed": cfg.data_seed}
    try:
        ds = get_dataset(cfg.data, cfg.img_size, **kw)
    except TypeError:  # a dataset without n / seed (a folder, the LFW subset)
        ds = get_dataset(cfg.data, cfg.img_size, channels=cfg.channels)
    images = getattr(ds, "images", None)
    if images is not None:
        u8 = torch.as_tensor(images)
        if u8.dim() == 3:
            u8 = u8.unsqueeze(-1)
        if u8.dtype == torch.uint8 and u8.shape[1:] == (cfg.img_size, cfg.img_size, cfg.channels):
            return u8.permute(0, 3, 1, 2).contiguous()
    return ds


class RandomBatches:
    """Training batches of ``batch_size`` indices drawn with replacement by ``gen`` from
    ``source`` (what :func:`load_training_images` returns); :meth:`next` gives float
    ``(B, C, H, W)`` in ``[-1, 1]`` on ``device`` (uint8 ``x`` becomes ``x / 127.5 - 1``)."""

    def __init__(self, source: Tensor | Dataset, batch_size: int, device: torch.device,
                 gen: torch.Generator) -> None:
        self.source, self.bs, self.device, self.gen = source, batch_size, device, gen
        if isinstance(source, Tensor):
            self.images = source.to(device)
            self.n = source.shape[0]
        else:
            self.images = None
            self.n = len(source)

    def next(self) -> Tensor:
        """The next batch (one ``torch.randint`` draw of ``gen`` per call)."""
        idx = torch.randint(self.n, (self.bs,), generator=self.gen)
        if self.images is not None:
            return to_unit_range(self.images[idx.to(self.device)])
        return torch.stack([self.source[int(i)] for i in idx]).to(self.device)
