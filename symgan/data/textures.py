r"""Texture patches: three photographs that scikit-image ships, and a procedural plaid.

A texture GAN learns from many random patches of one large image (the approach of spatial GANs,
Jetchev et al. 2016). The sources, all offline:

* ``brick``, ``grass``, ``gravel``: ``skimage.data.brick()``, ``grass()``, ``gravel()``,
  512x512 grayscale photographs (CC0 licensed, see their docstrings);
* ``plaid``: a colour tartan of our own, rendered at 512x512 with a **known period** of
  :data:`PLAID_PERIOD` source pixels in both directions (plus a little pixel noise), so that a
  chapter can ask whether a generator reproduces it.

A patch is a square of ``crop`` source pixels (default 128, a quarter of the photograph's side)
at a uniformly random position, area-averaged down to ``size x size``: the same piece of the
world at every ``size``. Patch ``i`` is a function of ``(texture, seed, i)`` only.
``channels=3`` repeats a grayscale photo's channel; ``channels=1`` turns the plaid to luma
(ITU-R 601 weights).

To train on textures of your own, put the images in a folder and use the ``folder`` dataset
(``get_dataset("folder", size, root=...)``): one patch per image, resized to ``size``; cut your
large texture into patches first (``symgan.data.textures.random_patches`` does it for an array).

Chapter: ``book/10_tileable_textures``.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..checks import check_choice, check_int
from ..images import to_unit_range
from .cache import cached_array

__all__ = ["TEXTURES", "PHOTOS", "PLAID_PERIOD", "TexturePatches", "texture_image", "plaid",
           "random_patches"]

#: Photographs from scikit-image.
PHOTOS = ("brick", "grass", "gravel")
#: Every texture source: the photographs and the procedural plaid.
TEXTURES = (*PHOTOS, "plaid")
#: Period of the plaid, in source pixels (512 per side): ``PLAID_PERIOD * size / crop`` px in a
#: patch (12 px at 32 px with the default crop of 128).
PLAID_PERIOD = 48
#: Bump when the patches produced for a given (texture, seed, index) change (part of the cache key).
TEXTURES_VERSION = 1

# tartan bands: (start of the band as a fraction of the period, RGB)
_BANDS = ((0.00, (0.10, 0.16, 0.42)), (0.30, (0.85, 0.75, 0.20)), (0.36, (0.10, 0.16, 0.42)),
          (0.50, (0.12, 0.42, 0.22)), (0.78, (0.72, 0.12, 0.12)))


def _stripes(u: np.ndarray, period: float) -> np.ndarray:
    """RGB ``(..., 3)`` of the tartan bands at positions ``u`` (source pixels)."""
    t = np.mod(u, period) / period
    out = np.zeros((*u.shape, 3), np.float64)
    for start, rgb in _BANDS:
        out[t >= start] = rgb
    return out


def plaid(size: int = 512, period: float = PLAID_PERIOD, seed: int = 0, noise: float = 0.08,
          supersample: int = 4) -> np.ndarray:
    """The procedural plaid: ``uint8`` ``(size, size, 3)``, exactly periodic with ``period``
    pixels along both axes before the noise (colour = mean of a vertical and a horizontal band
    pattern, anti-aliased by ``supersample``), plus i.i.d. Gaussian noise of std ``noise`` (in
    ``[0, 1]`` units) drawn from ``seed``."""
    size = check_int("size", size, 1, 8192)
    ss = check_int("supersample", supersample, 1, 16)
    u = (np.arange(size * ss) + 0.5) / ss
    col = _stripes(u, period)  # (size * ss, 3), a function of x (and of y for the rows)
    col = col.reshape(size, ss, 3).mean(1)
    img = 0.5 * (col[None, :, :] + col[:, None, :])
    img = img + np.random.default_rng(seed).normal(0.0, noise, img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def texture_image(name: str) -> np.ndarray:
    """The source image of texture ``name``: ``uint8`` ``(512, 512, C)``, ``C`` = 1 for the
    photographs, 3 for the plaid."""
    check_choice("texture", name, TEXTURES)
    if name == "plaid":
        return plaid()
    try:
        import skimage.data as skd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("scikit-image is needed for the texture photographs: "
                          "pip install 'symgan[data]'") from e
    return np.asarray(getattr(skd, name)(), dtype=np.uint8)[..., None]


def random_patches(image: np.ndarray, n: int, size: int, crop: int,
                   seed: int | list[int] = 0) -> np.ndarray:
    """``n`` patches of ``crop x crop`` pixels at uniformly random positions of ``image``
    (``(H, W)`` or ``(H, W, C)`` ``uint8``), area-averaged to ``size x size``:
    ``uint8`` ``(n, size, size, C)``. Positions come from ``numpy.random.default_rng(seed)``,
    patch ``i`` from the ``i``-th pair, so the first ``m`` of ``n`` patches are the ``m`` patches."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (H, W) or (H, W, C), got {a.dtype} {a.shape}")
    n = check_int("n", n, 1, 10**7)
    size = check_int("size", size, 1, 4096)
    crop = check_int("crop", crop, 1, min(a.shape[:2]))
    # (y, x) pairs drawn in order: patch i depends on (seed, i) only, not on n
    pos = np.random.default_rng(seed).integers(0, [a.shape[0] - crop + 1, a.shape[1] - crop + 1], (n, 2))
    ys, xs = pos[:, 0], pos[:, 1]
    out = np.empty((n, size, size, a.shape[2]), np.uint8)
    f = crop // size if crop % size == 0 else 0
    for i, (y, x) in enumerate(zip(ys, xs, strict=True)):
        p = a[y : y + crop, x : x + crop].astype(np.float64)
        if f:  # an exact block mean
            p = p.reshape(size, f, size, f, -1).mean((1, 3))
        else:
            p = np.stack([np.asarray(Image.fromarray(p[..., c].astype(np.float32), mode="F")
                                     .resize((size, size), Image.BOX)) for c in range(p.shape[2])], -1)
        out[i] = np.clip(np.rint(p), 0, 255)
    return out


class TexturePatches(Dataset):
    """``n`` random patches of texture ``texture`` (one of :data:`TEXTURES`) at ``size x size``:
    float tensors ``(channels, size, size)`` in ``[-1, 1]``.

    Attributes: ``images`` (``uint8`` ``(n, size, size, channels)``), ``texture``, ``crop``,
    ``period`` (the plaid's period in patch pixels, ``None`` for the photographs). Patch ``i``
    is a function of ``(texture, seed, i)`` and the sizes only; cached under the data directory
    with ``cache=True``. Chapter: ``book/10_tileable_textures``.
    """

    def __init__(self, texture: str = "gravel", size: int = 32, n: int = 10000, channels: int = 1,
                 seed: int = 0, crop: int = 128, cache: bool = True) -> None:
        self.texture = check_choice("texture", texture, TEXTURES)
        self.size = check_int("size", size, 1, 4096)
        self.n = check_int("n", n, 1, 10**7)
        self.channels = check_choice("channels", check_int("channels", channels), (1, 3))
        self.seed = check_int("seed", seed, 0, 2**32 - 1)
        self.crop = check_int("crop", crop, 1, 512)
        self.period = PLAID_PERIOD * self.size / self.crop if self.texture == "plaid" else None
        key = {"texture": self.texture, "size": self.size, "n": self.n, "channels": self.channels,
               "seed": self.seed, "crop": self.crop, "version": TEXTURES_VERSION}
        self.images = cached_array("textures", key, self._build, cache)

    def _build(self) -> np.ndarray:
        src = texture_image(self.texture)
        if self.channels == 3 and src.shape[2] == 1:
            src = np.repeat(src, 3, axis=2)
        elif self.channels == 1 and src.shape[2] == 3:
            luma = src.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
            src = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
        # a seed of its own per texture, so that two textures never share patch positions
        seed = [self.seed, TEXTURES.index(self.texture)]
        return random_patches(src, self.n, self.size, self.crop, seed=seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return to_unit_range(torch.from_numpy(self.images[i]).permute(2, 0, 1))
