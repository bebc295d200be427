"""Latent encodings of symmetry (paper Fig. 1).

``z ~ U[-1, 1]^{z_dim}`` i.i.d., as in DC-GAN and the paper. Two encodings:

============  ======================  ==========================  =====================================
encoding      mirror latent ``zN``    symmetric latent            series of ``n``, ``t`` from 1 to -1
============  ======================  ==========================  =====================================
``zprime``    negate ``z' = z[:k]``   ``z' = 0``                  ``z'`` scaled by ``t``
``flip``      ``flip(z)``             ``(z + flip z) / 2``        ``(1+t)/2 z + (1-t)/2 flip(z)``
============  ======================  ==========================  =====================================

In both encodings the latent at ``-t`` is the mirror latent of the one at ``t``, and ``t = 0`` is
the symmetric latent, so a symmetric generator maps the series to images whose ``i``-th and
``(n-1-i)``-th entries are mirror images and whose middle entry is symmetric.

Chapter: ``book/03_zprime_generator`` and ``book/04_flip_generator``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import check_int

__all__ = ["ENCODINGS", "sample_latent", "mirror_latent", "symmetric_latent", "latent_series", "series_t"]

ENCODINGS = ("zprime", "flip")


def _check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def sample_latent(
    n: int,
    z_dim: int = 100,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """``n`` latents, i.i.d. ``U[-1, 1]``, shape ``(n, z_dim)``."""
    check_int("n", n, 0)
    check_int("z_dim", z_dim, 1)
    z = torch.rand(n, z_dim, generator=generator, device=device, dtype=dtype)
    return z.mul_(2).sub_(1)


def mirror_latent(z: Tensor, encoding: str = "zprime", n_anti: int = 5) -> Tensor:
    """The latent ``zN`` whose image is the mirror image: negate ``z[..., :n_anti]`` or flip ``z``."""
    _check_encoding(encoding)
    if encoding == "flip":
        return z.flip(-1)
    return torch.cat([-z[..., :n_anti], z[..., n_anti:]], dim=-1)


def symmetric_latent(z: Tensor, encoding: str = "zprime", n_anti: int = 5) -> Tensor:
    """The projection of ``z`` onto the symmetric latents: ``z' = 0`` or ``(z + flip z) / 2``."""
    _check_encoding(encoding)
    if encoding == "flip":
        return (z + z.flip(-1)) / 2
    return torch.cat([torch.zeros_like(z[..., :n_anti]), z[..., n_anti:]], dim=-1)


def series_t(n: int = 9, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> Tensor:
    """The ``n`` values of ``t``, evenly from 1 to -1 (paper Fig. 9 uses ``n = 9``)."""
    if n < 2:
        raise ValueError(f"a series needs n >= 2 images, got {n}")
    return torch.linspace(1.0, -1.0, n, dtype=dtype, device=device)


def latent_series(z: Tensor, n: int = 9, encoding: str = "zprime", n_anti: int = 5) -> Tensor:
    """The series from ``z`` (``t = 1``) to its mirror latent (``t = -1``) of paper Fig. 9.

    ``z``: ``(z_dim,)`` -> ``(n, z_dim)``, or ``(B, z_dim)`` -> ``(B, n, z_dim)``.
    ``zprime``: ``z_t = [t z', z'']``; ``flip``: ``z_t = (1+t)/2 z + (1-t)/2 flip(z)``.
    """
    _check_encoding(encoding)
    t = series_t(n, dtype=z.dtype, device=z.device)
    zz = z.unsqueeze(-2)  # (..., 1, z_dim)
    tt = t.view(*([1] * (z.dim() - 1)), n, 1)
    if encoding == "flip":
        return (1 + tt) / 2 * zz + (1 - tt) / 2 * zz.flip(-1)
    anti = tt * zz[..., :n_anti]
    rest = zz[..., n_anti:].expand(*anti.shape[:-1], z.shape[-1] - n_anti)
    return torch.cat([anti, rest], dim=-1)
