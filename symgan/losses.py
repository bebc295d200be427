r"""GAN losses: DC-GAN's non-saturating BCE and the symmetry loss of the loss baselines.

* Discriminator: :math:`L_D = \mathrm{BCE}(D(x), 1) + \mathrm{BCE}(D(G(z)), 0)` on logits.
* Generator (non-saturating): :math:`L_G = \mathrm{BCE}(D(G(z)), 1)`.
* Symmetry loss of paper 2.2: :math:`\alpha \, \| G(z) - M(G(z_N)) \|^2`. The paper does not say
  how the norm is reduced; here it is the **mean** over batch, channels and pixels (a per-pixel
  MSE, so alpha does not change with the image size): ``reduction="mean"``. ``"sum"`` sums over
  channels and pixels and averages over the batch (alpha then scales with ``C*H*W``).

Chapter: ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .symmetry import mirror

__all__ = ["d_loss", "d_loss_real", "d_loss_fake", "g_loss", "symmetry_loss"]


def d_loss_real(real_logits: Tensor) -> Tensor:
    """``BCE(D(x), 1)`` on logits ``(N,)`` (computed in float32); a scalar."""
    real_logits = real_logits.float()
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))


def d_loss_fake(fake_logits: Tensor) -> Tensor:
    """``BCE(D(G(z)), 0)`` on logits ``(N,)`` (computed in float32); a scalar."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """``BCE(real, 1) + BCE(fake, 0)`` on logits ``(N,)``; a scalar."""
    return d_loss_real(real_logits) + d_loss_fake(fake_logits)


def g_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``BCE(D(G(z)), 1)`` on logits ``(N,)``; a scalar."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def symmetry_loss(x: Tensor, x_mirror_latent: Tensor, reduction: str = "mean") -> Tensor:
    """``||x - M(x_N)||^2`` for images ``x = G(z)`` and ``x_N = G(zN)``, both ``(N, C, H, W)``.

    ``reduction="mean"``: mean over every entry (per-pixel MSE); ``"sum"``: sum over ``C, H, W``,
    mean over the batch. Multiply by alpha yourself. Zero exactly for a mirror-equivariant G.
    """
    d = (x - mirror(x_mirror_latent)).pow(2)
    if reduction == "mean":
        return d.mean()
    if reduction == "sum":
        return d.flatten(1).sum(1).mean()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
