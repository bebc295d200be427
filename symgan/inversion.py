r"""Phase I of FitAndTune (paper Algorithm 1): recover the latent ``z`` of an existing image.

.. math::

    z^\star = \arg\min_z \; \|G(z) - I\|^2_{\text{mean}} + \alpha \|z\|_2^2
              + \beta \sum_i \max(|z_i| - 1, 0)

The reconstruction term is the per-pixel mean squared error (the paper writes a norm without
saying which; a mean keeps the weights independent of the image size). ``alpha`` is the weight
decay on ``z`` that the paper found necessary; the hinge applies **per element**, so each
``z_i`` is pushed back into ``[-1, 1]``, the support of the prior ``U[-1, 1]``. Several random
starts are optimised together (one batch) and the best is kept, because the loss is non-convex.

Images come in every form users have: a path, a PIL image, a numpy array or a tensor; HWC or
CHW; uint8, uint16 or float; grayscale, RGB or RGBA; any size (centre-cropped to a square and
resized). :func:`prepare_image` turns them into the generator's ``(1, C, S, S)`` in ``[-1, 1]``
or raises a ``ValueError`` that says what was expected.

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn
from tqdm.auto import tqdm

__all__ = ["prepare_image", "latent_penalty", "InversionResult", "invert"]

ImageLike = str | os.PathLike | Image.Image | np.ndarray | Tensor


def _from_pil(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        return arr / (65535.0 if arr.max() > 255 else 255.0)
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
    return np.asarray(img, dtype=np.float64) / 255.0


def _to_hwc01(image: ImageLike, value_range: tuple[float, float] | None) -> np.ndarray:
    """Any accepted input -> float64 array (H, W, C) in [0, 1] with C in {1, 3, 4}."""
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"image file not found: {path}")
        try:
            with Image.open(path) as im:
                im.load()
                arr = _from_pil(im)
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"cannot read {path} as an image ({e}); expected a PNG, JPEG or other PIL-readable file") from e
        return arr[..., None] if arr.ndim == 2 else arr
    if isinstance(image, Image.Image):
        arr = _from_pil(image)
        return arr[..., None] if arr.ndim == 2 else arr
    chw_default = isinstance(image, Tensor)  # PyTorch convention for ambiguous shapes
    if isinstance(image, Tensor):
        image = image.detach().cpu()
        if image.dim() == 4 and image.shape[0] == 1:
            image = image[0]
        raw = image.numpy()
    elif isinstance(image, np.ndarray):
        raw = image
        if raw.ndim == 4 and raw.shape[0] == 1:
            raw = raw[0]
    else:
        raise ValueError(f"expected a path, PIL image, numpy array or tensor, got {type(image).__name__}")
    if raw.size == 0:
        raise ValueError(f"the image is empty (shape {raw.shape})")
    if raw.ndim == 2:
        raw = raw[..., None]
    elif raw.ndim == 3:
        first, last = raw.shape[0] in (1, 3, 4), raw.shape[-1] in (1, 3, 4)
        if first and (not last or chw_default):
            raw = np.moveaxis(raw, 0, -1)
        elif not last:
            raise ValueError(
                f"cannot find the channel axis of an image of shape {raw.shape}: expected 1, 3 or 4 "
                "channels (grayscale, RGB, RGBA) first (CHW) or last (HWC)"
            )
    else:
        raise ValueError(f"expected an image of shape (H, W), (H, W, C) or (C, H, W), got {raw.shape}")
    kind = raw.dtype
    arr = raw.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("the image contains NaN or Inf values")
    if value_range is not None:
        lo, hi = value_range
    elif kind == np.uint8:
        lo, hi = 0.0, 255.0
    elif kind == np.uint16:
        lo, hi = 0.0, 65535.0
    elif kind == np.bool_:
        lo, hi = 0.0, 1.0
    elif np.issubdtype(kind, np.floating):
        lo, hi = (-1.0, 1.0) if arr.min() < 0 else (0.0, 1.0)
        if arr.min() < -1 - 1e-3 or arr.max() > 1 + 1e-3:
            raise ValueError(
                f"float image values span [{arr.min():.3g}, {arr.max():.3g}]: expected [0, 1] or "
                "[-1, 1]; pass value_range=(lo, hi) for other scales"
            )
    else:
        raise ValueError(f"unsupported image dtype {kind}: expected uint8, uint16, bool or float")
    return np.clip((arr - lo) / (hi - lo), 0.0, 1.0)


def prepare_image(
    image: ImageLike,
    size: int,
    channels: int,
    *,
    value_range: tuple[float, float] | None = None,
) -> Tensor:
    """Turn an image into a generator target: ``(1, channels, size, size)`` float32 in ``[-1, 1]``.

    * RGBA is composited over white; grayscale is repeated to RGB for a colour generator; colour
      is converted to luminance (ITU-R 601) for a grayscale one, with a warning.
    * Non-square images are centre-cropped to a square (warning when the aspect ratio exceeds
      1.25, since the crop then drops much of the picture), then resized with antialiasing.
    * Float inputs are read as ``[0, 1]``, or ``[-1, 1]`` when they contain negatives; integer
      inputs by their dtype; ``value_range`` overrides.
    """
    if channels not in (1, 3):
        raise ValueError(f"the generator must produce 1 or 3 channels, it produces {channels}")
    arr = _to_hwc01(image, value_range)
    c = arr.shape[-1]
    if c not in (1, 3, 4):
        raise ValueError(f"expected 1, 3 or 4 channels (grayscale, RGB, RGBA), got {c}")
    if c == 4:
        alpha = arr[..., 3:]
        arr = arr[..., :3] * alpha + (1 - alpha)
    if channels == 3 and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 1 and arr.shape[-1] == 3:
        warnings.warn("a colour image is converted to grayscale for a 1-channel generator", stacklevel=2)
        arr = arr @ np.array([[0.299], [0.587], [0.114]])
    h, w = arr.shape[:2]
    if max(h, w) / min(h, w) > 1.25:
        warnings.warn(
            f"image of {w}x{h} pixels is centre-cropped to {min(h, w)}x{min(h, w)} (aspect ratio "
            f"{max(h, w) / min(h, w):.2f}); crop it around the face first for a better fit",
            stacklevel=2,
        )
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    arr = arr[top : top + s, left : left + s]
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().unsqueeze(0)
    if s != size:
        t = F.interpolate(t, size=(size, size), mode="bicubic", antialias=s > size, align_corners=False)
    return (t.clamp(0, 1) * 2 - 1).contiguous()


def latent_penalty(z: Tensor, alpha: float, beta: float) -> Tensor:
    """``alpha ||z||^2 + beta sum_i max(|z_i| - 1, 0)`` per latent, shape ``(N,)``."""
    return alpha * z.pow(2).sum(-1) + beta * (z.abs() - 1).clamp_min(0).sum(-1)


@dataclass
class InversionResult:
    """``z``: ``(1, z_dim)`` best latent; ``image``: the prepared target ``(1, C, S, S)``;
    ``history``: per-step dicts (``loss``, ``mse`` of the best start); ``mse``: final per-pixel
    MSE on the ``[-1, 1]`` scale."""

    z: Tensor
    image: Tensor
    mse: float
    history: list[dict[str, float]] = field(default_factory=list)


def invert(
    G: nn.Module,
    image: ImageLike,
    *,
    steps: int = 300,
    lr: float = 0.05,
    alpha: float = 1e-4,
    beta: float = 1.0,
    n_starts: int = 8,
    seed: int = 0,
    z_init: Tensor | None = None,
    progress: bool = False,
) -> InversionResult:
    """Phase I: ``argmin_z`` of the objective in the module docstring, with Adam.

    ``G`` is not modified (its parameters are frozen for the duration and it runs in eval mode;
    both are restored). ``n_starts`` latents drawn from ``U[-1, 1]`` (the first replaced by
    ``z_init`` when given) are optimised as one batch; the one with the lowest final objective
    is returned. Reproducible for a given ``seed``.
    """
    if steps < 0 or n_starts < 1:
        raise ValueError(f"need steps >= 0 and n_starts >= 1, got {steps}, {n_starts}")
    p0 = next(G.parameters())
    target = prepare_image(image, G.img_size, G.channels).to(p0.device, p0.dtype)
    gen = torch.Generator().manual_seed(seed)
    z0 = (torch.rand(n_starts, G.z_dim, generator=gen) * 2 - 1).to(p0.device, p0.dtype)
    if z_init is not None:
        z0[0] = z_init.reshape(-1).to(z0)
    z = nn.Parameter(z0)
    opt = torch.optim.Adam([z], lr=lr)
    was_training = G.training
    flags = [p.requires_grad for p in G.parameters()]
    G.eval().requires_grad_(False)
    history: list[dict[str, float]] = []
    try:
        for _ in tqdm(range(steps), desc="invert", disable=not progress, leave=False):
            rec = (G(z) - target).pow(2).flatten(1).mean(1)
            obj = rec + latent_penalty(z, alpha, beta)
            opt.zero_grad(set_to_none=True)
            obj.sum().backward()
            opt.step()
            obj, rec = obj.detach(), rec.detach()
            best = int(obj.argmin())
            history.append({"loss": float(obj[best]), "mse": float(rec[best])})
        with torch.no_grad():
            rec = (G(z) - target).pow(2).flatten(1).mean(1)
            obj = rec + latent_penalty(z, alpha, beta)
            best = int(obj.argmin())
    finally:
        for p, f in zip(G.parameters(), flags, strict=True):
            p.requires_grad_(f)
        G.train(was_training)
    if not math.isfinite(float(rec[best])):
        raise FloatingPointError("inversion diverged (non-finite reconstruction error); lower lr")
    return InversionResult(z=z.detach()[best : best + 1].clone(), image=target, mse=float(rec[best]), history=history)
