"""Discriminator overfitting (paper Fig. 6): the plain discriminator memorises its training
images, the symmetric one cannot tell an image from its mirror.

* :func:`train_discriminator`: the experiment. A discriminator learns to tell a small fixed set
  of real images from a pool of fakes that stand in for a generator already on the data
  distribution, so it can only score the training images as real by memorising them. A plain
  ``D`` then scores a training image ``x`` higher than its mirror ``M x``, which it never saw;
  for the symmetric ``D`` of :mod:`symgan.discriminators`, ``D(M x) = D(x)`` exactly.
* :func:`discriminator_overfitting`: the measurement on any trained discriminator,
  ``sigmoid(D(x))`` against ``sigmoid(D(M x))`` over training images ``x``; also one of the
  numbers of :func:`symgan.metrics.evaluate_models`.

The scatter plot of the two probabilities is :func:`symgan.plots.plot_overfitting`.

Chapter: ``book/05_symmetric_discriminator``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..device import eval_mode
from ..images import to_unit_range
from ..symmetry import mirror

__all__ = ["OverfitResult", "train_discriminator", "discriminator_overfitting"]


@dataclass
class OverfitResult:
    """Outcome of :func:`train_discriminator`: probabilities of "real", shape ``(n,)`` each."""

    p_train: np.ndarray
    p_train_mirror: np.ndarray
    p_heldout: np.ndarray
    p_fake: np.ndarray
    steps: int
    seconds: float
    losses: np.ndarray


def train_discriminator(
    D: nn.Module,
    train_real: Tensor,
    fake_pool: Tensor,
    heldout: Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 2e-4,
    time_budget_s: float | None = None,
    seed: int = 0,
) -> OverfitResult:
    """Train ``D`` to tell a small fixed set ``train_real`` from ``fake_pool``; then score.

    The experiment of paper Fig. 6. Loss: ``BCE(D(x_real), 1) + BCE(D(x_fake), 0)`` with Adam
    (``lr``, betas ``(0.5, 0.999)``, DC-GAN's), ``steps`` steps or ``time_budget_s`` seconds,
    whichever ends first. ``fake_pool`` stands in for a generator that already produces images
    from the data distribution, so the only way to score the training images as real is to
    memorise them. Returned probabilities ``sigmoid(D(.))`` in eval mode, for the training
    images, their mirrors, held-out real images and the fakes.

    Chapter: ``book/05_symmetric_discriminator``.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    D.train()
    losses: list[float] = []
    t0 = time.perf_counter()
    half = max(1, batch_size // 2)
    for _ in range(steps):
        ir = torch.randint(0, train_real.shape[0], (half,), generator=gen)
        jf = torch.randint(0, fake_pool.shape[0], (half,), generator=gen)
        x = torch.cat([train_real[ir], fake_pool[jf]])
        y = torch.cat([torch.ones(half), torch.zeros(half)])
        loss = bce(D(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
            break
    seconds = time.perf_counter() - t0
    D.eval()
    with torch.no_grad():
        def prob(x: Tensor) -> np.ndarray:
            return torch.sigmoid(D(x)).numpy()

        return OverfitResult(prob(train_real), prob(mirror(train_real)), prob(heldout),
                             prob(fake_pool[: heldout.shape[0]]), len(losses), seconds,
                             np.array(losses))


def discriminator_overfitting(discriminators: Mapping[str, nn.Module], images: Tensor,
                              batch_size: int = 256) -> dict[str, dict[str, float | list[float]]]:
    """Paper Fig. 6. For each discriminator, ``p = sigmoid(D(x))`` on ``images`` ``(N, C, H, W)``
    (training images; ``uint8`` or floats in ``[-1, 1]``) and ``p_mirror = sigmoid(D(M x))``.

    Returns per name: ``p_real``/``p_mirror`` (lists, ``N``), their means, and
    ``mean_abs_gap = mean |p - p_mirror|`` (exactly 0 for the symmetric discriminator). Each
    ``D`` runs in eval mode (BatchNorm running statistics) without gradients; its mode is
    restored."""
    x = to_unit_range(images) if images.dtype == torch.uint8 else images.float()
    out: dict[str, dict[str, float | list[float]]] = {}
    for name, D in discriminators.items():
        ps, pm = [], []
        device = next(D.parameters()).device
        with eval_mode(D), torch.no_grad():
            for i in range(0, len(x), batch_size):
                xb = x[i : i + batch_size].to(device)
                ps.append(torch.sigmoid(D(xb)).float().cpu())
                pm.append(torch.sigmoid(D(mirror(xb))).float().cpu())
        p, q = torch.cat(ps), torch.cat(pm)
        out[name] = {"p_real": p.tolist(), "p_mirror": q.tolist(), "mean_p_real": float(p.mean()),
                     "mean_p_mirror": float(q.mean()), "mean_abs_gap": float((p - q).abs().mean()),
                     "max_abs_gap": float((p - q).abs().max())}
    return out
