"""Reconstruction quality: PSNR and SSIM between images in ``[-1, 1]``.

Both are computed after mapping to ``[0, 1]`` (the usual convention for 8-bit images):

* ``PSNR(x, y) = 10 log10(1 / MSE)`` per image, in dB;
* ``SSIM`` (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5, smaller for tiny
  images), ``C1 = 0.01^2``, ``C2 = 0.03^2``, averaged over channels and pixels ("valid" windows).

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["psnr", "ssim", "mse"]


def _check_pair(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape != y.shape:
        raise ValueError(f"images must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() == 3:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"expected images (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    return (x.float() + 1) / 2, (y.float() + 1) / 2


def mse(x: Tensor, y: Tensor) -> Tensor:
    """Per-image mean squared error on the ``[0, 1]`` scale, shape ``(N,)``."""
    a, b = _check_pair(x, y)
    return (a - b).pow(2).flatten(1).mean(1)


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Per-image PSNR in dB, shape ``(N,)`` (capped at 100 dB for identical images)."""
    return (10 * torch.log10(1.0 / mse(x, y).clamp_min(1e-10))).clamp_max(100.0)


def _gaussian(size: int, sigma: float, device: torch.device) -> Tensor:
    ax = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(ax**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-image SSIM, shape ``(N,)``; the window shrinks (odd, >= 3) for images under 11 px."""
    a, b = _check_pair(x, y)
    n, c, h, w = a.shape
    win = min(window, h, w)
    win = win if win % 2 else win - 1
    if win < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {h}x{w}")
    s = sigma * win / window
    k = _gaussian(win, s, a.device).expand(c, 1, win, win)
    mu_a, mu_b = F.conv2d(a, k, groups=c), F.conv2d(b, k, groups=c)
    saa = F.conv2d(a * a, k, groups=c) - mu_a**2
    sbb = F.conv2d(b * b, k, groups=c) - mu_b**2
    sab = F.conv2d(a * b, k, groups=c) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return m.flatten(1).mean(1)
