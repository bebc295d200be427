"""The GAN update: one discriminator step, then one generator step (paper 4.1, DC-GAN's).

The one implementation of the update: the trainer (:meth:`symgan.train.Trainer.train_step`),
FitAndTune's phase II (:func:`symgan.fit_and_tune.fit_and_tune`) and the benchmarks all call
:func:`gan_step`. Chapter: ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .losses import d_loss_fake, d_loss_real, g_loss, symmetry_loss

__all__ = ["gan_step"]


def gan_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             real: Tensor, z: Tensor, *, mirror_latent: Callable[[Tensor], Tensor] | None = None,
             alpha: float = 0.0, sym_reduction: str = "mean",
             autocast: contextlib.AbstractContextManager | None = None) -> dict[str, Tensor]:
    r"""One DC-GAN update on ``real`` ``(B, C, H, W)`` in ``[-1, 1]`` and latents ``z`` ``(B, z_dim)``.

    Discriminator: :math:`\mathrm{BCE}(D(x), 1) + \mathrm{BCE}(D(G(z)), 0)`, one forward per
    backward (pytorch/examples; required by DDP). Generator: the non-saturating
    :math:`\mathrm{BCE}(D(G(z)), 1)`, plus ``alpha`` times the symmetry loss
    :math:`\mathrm{mean}\,(G(z) - M\,G(z_N))^2` when ``alpha > 0`` (the loss baselines of paper
    2.2; ``G(z)`` and ``G(z_N)`` in one forward of ``[z; mirror_latent(z)]``, one BatchNorm batch).
    ``G``/``D`` may be DDP-wrapped; ``autocast``: a mixed-precision context (``None``: float32).
    Returns detached scalars ``loss_d``, ``loss_g``, ``d_real``, ``d_fake`` (mean
    probabilities) and ``loss_sym`` when ``alpha > 0``.
    """
    ctx = autocast if autocast is not None else contextlib.nullcontext()
    sym = None
    with ctx:
        if alpha > 0:
            if mirror_latent is None:
                raise ValueError("alpha > 0 needs mirror_latent (the generator's mirror_latent)")
            fake, fake_n = G(torch.cat([z, mirror_latent(z)])).chunk(2)
        else:
            fake, fake_n = G(z), None
    opt_d.zero_grad(set_to_none=True)
    with ctx:
        real_logits = D(real)
        loss_real = d_loss_real(real_logits)
    loss_real.backward()
    with ctx:
        fake_logits = D(fake.detach())
        loss_fake = d_loss_fake(fake_logits)
    loss_fake.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    with ctx:
        gl = g_loss(D(fake))
        if fake_n is not None:
            sym = symmetry_loss(fake.float(), fake_n.float(), sym_reduction)
        total = gl + alpha * sym if sym is not None else gl
    total.backward()
    opt_g.step()
    out = {"loss_d": (loss_real + loss_fake).detach(), "loss_g": gl.detach(),
           "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
           "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}
    if sym is not None:
        out["loss_sym"] = sym.detach()
    return out
