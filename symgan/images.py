"""Small image utilities shared by the whole project (no torchvision).

Images are float tensors in ``[-1, 1]``; shapes follow PyTorch, ``(N, C, H, W)`` or ``(C, H, W)``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["make_grid", "save_image", "to_uint8_hwc"]


def make_grid(
    images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0
) -> torch.Tensor:
    """Tile a batch ``(N, C, H, W)`` into one image ``(C, H', W')``.

    ``nrow`` images per row, ``ceil(N / nrow)`` rows, ``padding`` pixels of ``pad_value`` around
    and between the tiles, so ``H' = rows * (H + padding) + padding`` and
    ``W' = min(N, nrow) * (W + padding) + padding``. Values stay in ``[-1, 1]`` (not rescaled).
    A single image ``(C, H, W)`` is treated as a batch of one.
    """
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise ValueError(f"make_grid expects (N, C, H, W) or (C, H, W), got {tuple(images.shape)}")
    if nrow < 1 or padding < 0:
        raise ValueError(f"need nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    n, c, h, w = images.shape
    cols = min(n, nrow)
    rows = max(1, math.ceil(n / nrow))
    grid = images.new_full(
        (c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value
    )
    for k in range(n):
        r, q = divmod(k, nrow)
        y0 = padding + r * (h + padding)
        x0 = padding + q * (w + padding)
        grid[:, y0 : y0 + h, x0 : x0 + w] = images[k]
    return grid


def to_uint8_hwc(img: torch.Tensor | np.ndarray) -> np.ndarray:
    """Convert one image ``(C, H, W)`` in ``[-1, 1]`` to a ``uint8`` array ``(H, W, C)``.

    ``u = round((x + 1) / 2 * 255)`` after clamping to ``[-1, 1]``. One channel gives ``(H, W, 1)``.
    """
    if isinstance(img, torch.Tensor):
        img = img.detach().to("cpu", torch.float32).numpy()
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        img = img[None]
    if img.ndim != 3:
        raise ValueError(f"to_uint8_hwc expects (C, H, W), got shape {img.shape}")
    u = np.rint((np.clip(img, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return np.ascontiguousarray(u.transpose(1, 2, 0))


def save_image(
    images: torch.Tensor, path: str | os.PathLike, nrow: int = 8, padding: int = 2
) -> None:
    """Save a batch ``(N, C, H, W)`` (tiled with :func:`make_grid`) or one image ``(C, H, W)``.

    Values in ``[-1, 1]``; one or three channels. The format follows the file extension (PIL).
    Parent folders are created.
    """
    if images.dim() == 4:
        images = make_grid(images, nrow=nrow, padding=padding)
    arr = to_uint8_hwc(images)
    if arr.shape[2] == 1:
        pil = Image.fromarray(arr[:, :, 0], mode="L")
    elif arr.shape[2] == 3:
        pil = Image.fromarray(arr, mode="RGB")
    else:
        raise ValueError(f"save_image needs 1 or 3 channels, got {arr.shape[2]}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pil.save(path)
