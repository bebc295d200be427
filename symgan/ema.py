"""Sampling weights: an exponential moving average of G, and BatchNorm statistics to match.

A GAN's generator oscillates around a good solution; the average of its recent weights draws
cleaner images than any one iterate (Yazıcı et al., "The unusual effectiveness of averaging in
GAN training", ICLR 2019; used by ProGAN, BigGAN, StyleGAN). After every generator step

    theta_ema <- d * theta_ema + (1 - d) * theta,   d = min(decay, (1 + step) / (10 + step))

(the ramp lets the average forget the random initialisation early on). The average of
symmetric kernels is symmetric: every symmetric or antisymmetric kernel of :mod:`symgan.layers`
is built in ``forward`` from free half-kernel parameters, and averaging those parameters
commutes with building the kernel, so the EMA generator inherits the exact mirror property
(checked in ``tests/test_ema.py``).

BatchNorm running statistics are not parameters and are not averaged: they belong to the
weights they were measured with. :func:`calibrate_batchnorm` measures them for the averaged
weights on a fixed set of latents, so eval-mode images of the EMA generator are a pure function
of its parameters. Chapter: ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ema_decay", "update_ema", "calibrate_batchnorm", "calibrate_generator"]


def ema_decay(step: int, decay: float) -> float:
    """The decay used after ``step`` generator steps: ``min(decay, (1 + step) / (10 + step))``."""
    return min(float(decay), (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``p_ema <- decay * p_ema + (1 - decay) * p`` for every parameter (same names, same
    shapes); buffers are left alone (see :func:`calibrate_batchnorm`)."""
    params = dict(model.named_parameters())
    for name, p_ema in ema.named_parameters():
        p_ema.lerp_(params[name].detach(), 1.0 - decay)


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, inputs: Tensor, batch_size: int = 256) -> nn.Module:
    """Set every BatchNorm's running statistics to the exact mean/variance over ``inputs``.

    An untrained (or freshly averaged) model's running statistics do not belong to its weights
    and its eval-mode images are meaningless; one pass with cumulative averaging
    (``momentum=None``) fixes that. Returns ``model`` in eval mode. Mirror equivariance is
    unaffected: statistics over a set of latents and over their mirror latents are the same.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for i in range(0, inputs.shape[0], batch_size):
        model(inputs[i : i + batch_size])
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    return model.eval()


def calibrate_generator(G: nn.Module, n: int = 1024, seed: int = 0) -> nn.Module:
    """:func:`calibrate_batchnorm` on ``n`` latents drawn with ``G.sample_latent`` from a
    generator seeded with ``seed`` (on ``G``'s device): the same statistics every time."""
    return calibrate_batchnorm(G, G.sample_latent(n, generator=torch.Generator().manual_seed(seed)))
