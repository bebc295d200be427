"""Unsupervised face rotation: the frames from ``z`` to its mirror latent ``zN`` (paper Figs. 12-13).

With a symmetric generator (z' or flip), ``G(z_t)`` for ``t`` from 1 to -1 moves the face from
its pose to the mirrored pose; the middle frame is exactly symmetric (a frontal view) and the
last frame is exactly the mirror of the first. With a FitAndTune generator ``G_I`` the frames
keep the identity of the tuned image.

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from .images import make_grid, to_uint8_hwc

__all__ = ["rotate", "save_rotation"]


@torch.no_grad()
def rotate(generator: torch.nn.Module, z: Tensor, n: int = 9) -> Tensor:
    """``n`` frames ``G(z_t)``, ``t`` from 1 to -1 (``latent_series``), shape ``(n, C, H, W)``.

    Works with either encoding (the generator's own). Runs in eval mode (restored after).
    """
    z = z.reshape(-1)
    if z.numel() != generator.z_dim:
        raise ValueError(f"expected one latent of {generator.z_dim} entries, got shape {tuple(z.shape)}")
    was = generator.training
    generator.eval()
    try:
        return generator(generator.latent_series(z, n))
    finally:
        generator.train(was)


def save_rotation(
    frames: Tensor,
    png: str | os.PathLike | None = None,
    gif: str | os.PathLike | None = None,
    *,
    scale: int = 4,
    duration_ms: int = 120,
    boomerang: bool = True,
) -> None:
    """Save frames ``(n, C, H, W)`` in ``[-1, 1]`` as a PNG strip and/or an animated GIF.

    ``scale`` enlarges each pixel (nearest) so small images stay visible; ``boomerang`` plays
    the GIF forth and back (a head turning left and right).
    """
    if frames.dim() != 4:
        raise ValueError(f"expected frames (n, C, H, W), got {tuple(frames.shape)}")
    frames = frames.detach().cpu().float()
    if png is not None:
        strip = to_uint8_hwc(make_grid(frames, nrow=len(frames), padding=1))
        _pil(strip, scale).save(_mkparent(png))
    if gif is not None:
        imgs = [_pil(to_uint8_hwc(f), scale).convert("P", palette=Image.ADAPTIVE) for f in frames]
        if boomerang and len(imgs) > 2:
            imgs = imgs + imgs[-2:0:-1]
        imgs[0].save(_mkparent(gif), save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)


def _pil(arr, scale: int) -> Image.Image:
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def _mkparent(path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p
