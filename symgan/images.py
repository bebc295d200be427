"""Images: the conversions between pixel scales, grids and files, and the one loader of user images.

Inside the package an image is a float tensor in ``[-1, 1]`` with PyTorch's shapes,
``(N, C, H, W)`` or ``(C, H, W)``. Stored images (dataset caches, PNG files) are 8-bit levels
``u`` in ``0..255``; the two scales meet in :func:`to_unit_range` (``x = u / 127.5 - 1``) and
:func:`to_uint8` (``u = round((x + 1) * 127.5)``), which every module uses, so a dataset, a
trainer and a saved figure agree to the bit.

Photos come in every form users have: a path, a PIL image, a numpy array or a tensor; HWC or CHW;
8-bit, 16-bit or float; grayscale, RGB, palette or with transparency; any size. :func:`read_image`
decodes them and :func:`square_image` makes them ``size x size`` with the wanted channels; the
real-photo datasets (:func:`load_image`, ``book/07_lsun_bedrooms``) and FitAndTune's targets
(:func:`symgan.fit_and_tune.prepare_image`, ``book/08_face_rotation``) both go through them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

__all__ = [
    "ImageLike",
    "to_unit_range",
    "to_uint8",
    "to_uint8_hwc",
    "to_pil",
    "make_grid",
    "save_image",
    "save_pil",
    "read_image",
    "square_image",
    "load_uint8",
    "load_image",
]

ImageLike = str | os.PathLike | Image.Image | np.ndarray | Tensor

#: ITU-R BT.601 luma weights (the ones PIL's ``convert("L")`` approximates in fixed point).
LUMA = (0.299, 0.587, 0.114)

# ----------------------------------------------------------------------------- pixel scales


def to_unit_range(images: Tensor | np.ndarray) -> Tensor:
    """8-bit levels ``u`` (uint8, any shape) -> float32 ``x = u / 127.5 - 1`` in ``[-1, 1]``.

    A numpy array is wrapped without a copy first. Same shape and strides as the input (a
    permuted view stays a permuted view); :func:`to_uint8` inverts it exactly.
    """
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if images.dtype != torch.uint8:
        raise TypeError(f"to_unit_range expects uint8 levels, got {images.dtype}")
    # .float() makes a new tensor, so the in-place steps never touch the caller's data
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: Tensor) -> Tensor:
    """Float images in ``[-1, 1]`` (any shape) -> uint8 ``u = round((clamp(x, -1, 1) + 1) * 127.5)``.

    Rounds half to even (``torch.round``), so ``0`` maps to ``128``; computed in the input's dtype.
    """
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def to_uint8_hwc(img: Tensor | np.ndarray) -> np.ndarray:
    """Convert one image ``(C, H, W)`` in ``[-1, 1]`` to a ``uint8`` array ``(H, W, C)``.

    :func:`to_uint8` in float32 on the CPU. ``(H, W)`` is one channel; one channel gives
    ``(H, W, 1)``.
    """
    if isinstance(img, Tensor):
        img = img.detach().to("cpu", torch.float32)
    else:
        img = torch.from_numpy(np.array(img, dtype=np.float32))
    if img.dim() == 2:
        img = img[None]
    if img.dim() != 3:
        raise ValueError(f"to_uint8_hwc expects (C, H, W), got shape {tuple(img.shape)}")
    return np.ascontiguousarray(to_uint8(img).numpy().transpose(1, 2, 0))


def to_pil(img: Tensor | np.ndarray, scale: int = 1) -> Image.Image:
    """One image ``(C, H, W)`` in ``[-1, 1]`` with 1 or 3 channels -> a PIL ``L`` or ``RGB`` image,
    each pixel enlarged to ``scale x scale`` (nearest) so that small images stay visible."""
    arr = to_uint8_hwc(img)
    if arr.shape[2] not in (1, 3):
        raise ValueError(f"an image needs 1 or 3 channels, got {arr.shape[2]}")
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    return pil


# ----------------------------------------------------------------------------- grids and files


def make_grid(
    images: Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0
) -> Tensor:
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


def save_pil(image: Image.Image, path: str | os.PathLike, **save_kwargs: Any) -> Path:
    """``image.save(path, **save_kwargs)`` after creating the parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_kwargs)
    return path


def save_image(
    images: Tensor, path: str | os.PathLike, nrow: int = 8, padding: int = 2
) -> None:
    """Save a batch ``(N, C, H, W)`` (tiled with :func:`make_grid`) or one image ``(C, H, W)``.

    Values in ``[-1, 1]``; one or three channels. The format follows the file extension (PIL).
    Parent folders are created.
    """
    if images.dim() == 4:
        images = make_grid(images, nrow=nrow, padding=padding)
    save_pil(to_pil(images), path)


# ----------------------------------------------------------------------------- loading photos


def _scale_levels(raw: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Array levels -> ``[0, 1]``: uint8 is kept as it is (exact 8-bit levels), everything else
    becomes float64. Integers are read by their dtype, floats as ``[0, 1]`` (or ``[-1, 1]`` when
    they contain negatives); ``value_range`` overrides both."""
    kind = raw.dtype
    if kind == np.uint8 and value_range is None:
        return raw
    arr = raw.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("the image contains NaN or Inf values")
    if value_range is not None:
        lo, hi = value_range
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


def _from_pil(img: Image.Image, value_range: tuple[float, float] | None) -> np.ndarray:
    """A PIL image -> ``(H, W, C)`` levels, C in {1, 2, 3, 4} (2 and 4 end with alpha).

    16-bit modes are read on their full scale (``/ 65535``); so is ``I``, the 32-bit mode older
    Pillow versions give 16-bit PNGs. ``F`` follows the float rules of :func:`_scale_levels`.
    """
    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.clip(np.asarray(img, dtype=np.float64) / 65535.0, 0.0, 1.0)
    elif img.mode == "F":
        arr = _scale_levels(np.asarray(img, dtype=np.float32), value_range)
    else:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode in ("PA", "RGBa"):
            img = img.convert("RGBA")
        elif img.mode in ("1", "La"):
            img = img.convert("L" if img.mode == "1" else "LA")
        elif img.mode not in ("L", "LA", "RGB", "RGBA"):
            img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV
        arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _from_array(image: np.ndarray | Tensor) -> np.ndarray:
    """A numpy array or tensor -> ``(H, W, C)`` with C in {1, 3, 4}, dtype unchanged. A leading
    batch of one is dropped; the channel axis is the last one unless only the first one has 1, 3
    or 4 entries, or both do and the input is a tensor (PyTorch's CHW)."""
    chw_default = isinstance(image, Tensor)
    if isinstance(image, Tensor):
        image = image.detach().cpu()
        if image.dim() == 4 and image.shape[0] == 1:
            image = image[0]
        raw = image.numpy()
    else:
        raw = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
    if raw.size == 0:
        raise ValueError(f"the image is empty (shape {raw.shape})")
    if raw.ndim == 2:
        return raw[..., None]
    if raw.ndim != 3:
        raise ValueError(f"expected an image of shape (H, W), (H, W, C) or (C, H, W), got {raw.shape}")
    first, last = raw.shape[0] in (1, 3, 4), raw.shape[-1] in (1, 3, 4)
    if first and (not last or chw_default):
        return np.moveaxis(raw, 0, -1)
    if not last:
        raise ValueError(
            f"cannot find the channel axis of an image of shape {raw.shape}: expected 1, 3 or 4 "
            "channels (grayscale, RGB, RGBA) first (CHW) or last (HWC)"
        )
    return raw


def read_image(image: ImageLike, *, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Decode any accepted image to levels ``(H, W, C)`` in ``[0, 1]``, not yet resized.

    8-bit sources (8-bit files and PIL modes, uint8 arrays and tensors) stay ``uint8`` (levels
    ``0..255``, read as ``u / 255``); everything else is float64 in ``[0, 1]``: 16-bit files
    (``I;16``, ``I``) and uint16 arrays divided by 65535, floats as ``[0, 1]``, or ``[-1, 1]``
    when they contain negatives (``value_range=(lo, hi)`` overrides for arrays and float images).
    Palettes are expanded. ``C`` is 1 (gray), 3 (RGB), or 2 / 4 when the last channel is alpha.

    A missing file is a ``FileNotFoundError``; anything else that cannot be read a ``ValueError``
    that says what was expected.
    """
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"image file not found: {path}")
        try:
            with Image.open(path) as im:
                im.load()
                return _from_pil(im, value_range)
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"cannot read {path} as an image ({e}); expected a PNG, JPEG or other PIL-readable file") from e
    if isinstance(image, Image.Image):
        return _from_pil(image, value_range)
    if not isinstance(image, np.ndarray | Tensor):
        raise ValueError(f"expected a path, PIL image, numpy array or tensor, got {type(image).__name__}")
    return _scale_levels(_from_array(image), value_range)


def _as_float(arr: np.ndarray) -> np.ndarray:
    return arr / 255.0 if arr.dtype == np.uint8 else arr


def _set_channels(arr: np.ndarray, channels: int) -> np.ndarray:
    """Composite alpha on white, then gray -> RGB by repetition or RGB -> gray by BT.601 luma."""
    if arr.shape[-1] in (2, 4):
        # On white rather than dropping alpha: a transparent background's stored colour is
        # arbitrary (often black), white is what a viewer shows.
        arr = _as_float(arr)
        alpha = arr[..., -1:]
        arr = arr[..., :-1] * alpha + (1 - alpha)
    if channels == 3 and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 1 and arr.shape[-1] == 3:
        arr = _as_float(arr) @ np.array([[LUMA[0]], [LUMA[1]], [LUMA[2]]])
    return arr


def _crop_resize(arr: np.ndarray, size: int) -> np.ndarray:
    """The centred square of side ``min(H, W)``, resized to ``size x size`` in one resampling."""
    h, w = arr.shape[:2]
    s = min(h, w)
    if s == size and (h - s) % 2 == 0 and (w - s) % 2 == 0:
        top, left = (h - s) // 2, (w - s) // 2
        return arr[top : top + s, left : left + s]
    # A fractional box keeps the crop centred to the sub-pixel when H - s or W - s is odd, so
    # the mirror of a loaded photo is the loaded mirror photo at every size.
    box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
    kw = dict(resample=Image.BICUBIC, box=box, reducing_gap=None)
    if arr.dtype == np.uint8:
        out = np.asarray(Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).resize((size, size), **kw))
        return out[..., None] if out.ndim == 2 else out
    planes = [Image.fromarray(arr[..., k].astype(np.float32), mode="F").resize((size, size), **kw)
              for k in range(arr.shape[-1])]
    return np.clip(np.stack([np.asarray(p, dtype=np.float64) for p in planes], -1), 0.0, 1.0)


def square_image(arr: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Levels from :func:`read_image` -> ``(size, size, channels)``, uint8 or float64 in ``[0, 1]``.

    1. Transparency is composited on white (in float, so the result is float).
    2. Gray is repeated to RGB for ``channels=3``; RGB becomes BT.601 luma
       ``0.299 R + 0.587 G + 0.114 B`` for ``channels=1`` (in float).
    3. The centred square of side ``min(H, W)`` is cropped and resized to ``size`` with PIL's
       antialiased bicubic filter (``uint8`` in 8 bits, float per channel in 32 bits), values
       clipped to ``[0, 1]``. Crop first, then resize: one scale factor for both axes, so faces
       keep their proportions exactly (resizing the shorter side first rounds the longer one to
       whole pixels). An odd margin is cropped at half a pixel. A square image of side ``size``
       is returned as it is.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return _crop_resize(_set_channels(arr, channels), size)


def load_uint8(image: ImageLike, size: int, channels: int = 3) -> np.ndarray:
    """Any accepted image (:func:`read_image`) -> uint8 ``(size, size, channels)``: the 8-bit
    levels a dataset stores, rounded to nearest from float sources."""
    arr = square_image(read_image(image), size, channels)
    if arr.dtype != np.uint8:
        return np.ascontiguousarray(np.rint(arr * 255.0).astype(np.uint8))
    return np.array(arr, order="C")  # a copy: PIL's arrays are read-only views


def load_image(image: ImageLike, size: int, channels: int = 3) -> Tensor:
    """Any accepted image -> float32 ``(channels, size, size)`` in ``[-1, 1]`` on 8-bit levels
    (:func:`load_uint8` then :func:`to_unit_range`), as the real-photo datasets return them."""
    return to_unit_range(torch.from_numpy(load_uint8(image, size, channels)).permute(2, 0, 1))
