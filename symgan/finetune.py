r"""FitAndTune (paper Algorithm 1, section 3): an image-specific generator ``G_I`` with ``G_I(z) = I``.

Phase I (:func:`~symgan.inversion.invert`) recovers ``z`` for the image ``I`` with ``G`` frozen.
Inversion alone does not keep the identity: ``G(z)`` is a plausible face, not *this* face.
Phase II tunes a **copy** of ``G`` (and of ``D``) by alternating

1. symmetric GAN training steps of ``G_I`` and ``D_I`` on the original training data, which keep
   ``G_I`` a generator of faces rather than a decoder of one image, and
2. joint steps on ``z`` and ``G_I`` for the phase-I objective
   ``||G_I(z) - I||^2 + alpha ||z||^2 + beta sum_i (|z_i| - 1)_+``,

with early stopping once the reconstruction error reaches ``target_mse`` (as PTI does with its
pivotal tuning). A symmetric ``G`` stays symmetric while it is tuned (the architecture does not
depend on the weights), so interpolating ``z -> zN`` with ``G_I`` rotates *this* face, and the
last frame is exactly the mirror of the first.

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .inversion import ImageLike, InversionResult, invert, latent_penalty
from .reconstruction import psnr, ssim
from .update import gan_step

__all__ = ["FitAndTuneResult", "fit_and_tune", "as_image_tensor"]


def as_image_tensor(data: Tensor | Dataset | np.ndarray) -> Tensor:
    """Training images as one float tensor ``(N, C, H, W)`` in ``[-1, 1]``.

    Accepts such a tensor, a uint8 tensor ``(N, C, H, W)`` (as returned by
    :func:`symgan.train.load_training_images`), a uint8 array ``(N, H, W, C)``, or a dataset (its
    ``.images`` uint8 array when it has one, else its items stacked). Float values outside
    ``[-1, 1]`` are an error.
    """
    if isinstance(data, Tensor):
        # uint8 is what symgan.train.load_training_images returns: scale it like the trainer does
        x = data.float().div(127.5).sub(1) if data.dtype == torch.uint8 else data
    else:
        arr = getattr(data, "images", data)
        if isinstance(arr, np.ndarray):
            if arr.dtype != np.uint8 or arr.ndim != 4:
                raise ValueError(f"expected a uint8 array (N, H, W, C), got {arr.dtype} {arr.shape}")
            x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        else:
            x = torch.stack([data[i] if isinstance(data[i], Tensor) else data[i][0] for i in range(len(data))])
    if x.dim() != 4:
        raise ValueError(f"expected training images (N, C, H, W), got {tuple(x.shape)}")
    if x.numel() and (x.min() < -1 - 1e-3 or x.max() > 1 + 1e-3):
        raise ValueError(
            f"training images must be in [-1, 1], got values in [{float(x.min()):.3g}, "
            f"{float(x.max()):.3g}]"
        )
    return x


@dataclass
class FitAndTuneResult:
    """What :func:`fit_and_tune` returns.

    ``z``: tuned latent ``(1, z_dim)``; ``generator``/``discriminator``: the tuned copies
    ``G_I``, ``D_I`` (eval mode); ``inversion``: the phase-I result (``z`` for the original
    ``G``); ``history``: per-step dicts of phase II; ``metrics``: PSNR/SSIM/MSE of the
    inversion-only reconstruction ``G(z_inv)`` and of ``G_I(z)``; ``image``: the target.
    """

    z: Tensor
    generator: nn.Module
    discriminator: nn.Module | None
    inversion: InversionResult
    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    def save(self, path: str | os.PathLike, config: Any) -> Path:
        """Save ``G_I`` (and ``D_I``), ``z`` and the metrics as a training checkpoint
        (safetensors, atomic; :func:`symgan.checkpoint.load_models` reads it back).
        ``config``: the :class:`~symgan.config.TrainConfig` of the original ``G``."""
        from .checkpoint import module_tensors, save_checkpoint

        if self.discriminator is None:
            raise ValueError("saving needs the tuned discriminator; run fit_and_tune with D")
        tensors = {**module_tensors(self.generator, "G"), **module_tensors(self.discriminator, "D"), "z": self.z}
        meta = {"config": config.to_dict(), "step": 0, "fit_and_tune": self.metrics}
        return save_checkpoint(path, tensors, meta, keep_prev=False)

    def reconstruction(self) -> Tensor:
        """``G_I(z)``, shape ``(1, C, S, S)``."""
        with torch.no_grad():
            return self.generator.eval()(self.z)


def fit_and_tune(
    G: nn.Module,
    D: nn.Module | None,
    image: ImageLike,
    data: Tensor | Dataset | np.ndarray | None = None,
    *,
    invert_steps: int = 300,
    tune_steps: int = 300,
    alpha: float = 1e-4,
    beta: float = 1.0,
    lr_z: float = 0.01,
    lr_g: float = 3e-4,
    lr_gan: float = 2e-4,
    gan_every: int = 4,
    batch_size: int = 32,
    target_mse: float | None = 1e-3,
    n_starts: int = 8,
    seed: int = 0,
    progress: bool = False,
) -> FitAndTuneResult:
    """Run both phases of FitAndTune; ``G`` and ``D`` are never modified.

    * ``invert_steps``, ``n_starts``, ``alpha``, ``beta``: phase I (see :func:`invert`).
    * ``tune_steps`` reconstruction steps of phase II (Adam on ``G_I`` with ``lr_g`` and on ``z``
      with ``lr_z``), and after every ``gan_every`` of them one GAN step (``D_I`` then ``G_I``,
      Adam ``lr_gan``, betas (0.5, 0.999), non-saturating BCE) on a batch of ``data``.
      ``gan_every=0`` or ``D=None`` or ``data=None`` tunes on the reconstruction alone (plain
      pivotal tuning; the paper's alternation needs ``D`` and the training data).
    * Early stop when the per-pixel MSE on ``[-1, 1]`` reaches ``target_mse`` (None: never).

    Runs on ``G``'s device; reproducible for a given ``seed`` on the CPU.
    """
    if tune_steps < 0 or gan_every < 0 or batch_size < 1:
        raise ValueError(f"need tune_steps >= 0, gan_every >= 0, batch_size >= 1, got {tune_steps}, {gan_every}, {batch_size}")
    torch.manual_seed(seed)
    inv = invert(G, image, steps=invert_steps, alpha=alpha, beta=beta, n_starts=n_starts, seed=seed, progress=progress)
    target = inv.image
    device = target.device
    G_I = copy.deepcopy(G)
    G_I.requires_grad_(True)
    D_I = copy.deepcopy(D) if D is not None else None
    use_gan = gan_every > 0 and D_I is not None and data is not None
    if use_gan:
        D_I.requires_grad_(True)
        real_all = _training_images(data, target)
        opt_d = torch.optim.Adam(D_I.parameters(), lr=lr_gan, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(G_I.parameters(), lr=lr_gan, betas=(0.5, 0.999))
        gen = torch.Generator().manual_seed(seed + 1)
    z = nn.Parameter(inv.z.clone())
    opt = torch.optim.Adam([{"params": G_I.parameters(), "lr": lr_g}, {"params": [z], "lr": lr_z}])
    history: list[dict[str, float]] = []
    rec = float("nan")
    for step in tqdm(range(tune_steps), desc="tune", disable=not progress, leave=False):
        G_I.eval()
        rec_t = (G_I(z) - target).pow(2).mean()
        obj = rec_t + latent_penalty(z, alpha, beta).sum()
        opt.zero_grad(set_to_none=True)
        obj.backward()
        opt.step()
        rec = float(rec_t.detach())
        if not math.isfinite(rec):
            raise FloatingPointError(f"FitAndTune diverged at step {step} (non-finite loss); lower lr_g")
        entry = {"step": step, "mse": rec, "loss": float(obj.detach())}
        if use_gan and (step + 1) % gan_every == 0:
            G_I.train()
            D_I.train()
            idx = torch.randint(len(real_all), (batch_size,), generator=gen)
            zb = (torch.rand(batch_size, G.z_dim, generator=gen) * 2 - 1).to(device, target.dtype)
            out = gan_step(G_I, D_I, opt_g, opt_d, real_all[idx], zb)
            entry.update(d_loss=float(out["loss_d"]), g_loss=float(out["loss_g"]))
        history.append(entry)
        if target_mse is not None and rec <= target_mse:
            break
    G_I.eval()
    if D_I is not None:
        D_I.eval()
    z_final = z.detach().clone()
    metrics = _metrics(G, G_I, inv, z_final, target, len(history))
    return FitAndTuneResult(z_final, G_I, D_I, inv, target, history, metrics)


def _training_images(data: Tensor | Dataset | np.ndarray, target: Tensor) -> Tensor:
    """``data`` as a float tensor in ``[-1, 1]`` on ``target``'s device; ``ValueError`` when its
    images are not the shape of ``target``'s."""
    real_all = as_image_tensor(data).to(target.device, target.dtype)
    if real_all.shape[1:] != target.shape[1:]:
        raise ValueError(
            f"training images {tuple(real_all.shape[1:])} do not match the generator's output "
            f"{tuple(target.shape[1:])}"
        )
    return real_all


@torch.no_grad()
def _metrics(G: nn.Module, G_I: nn.Module, inv: InversionResult, z: Tensor, target: Tensor,
             steps_run: int) -> dict[str, float]:
    """Reconstruction quality of inversion alone (``G`` at ``inv.z``) and after tuning (``G_I``
    at ``z``): PSNR, SSIM and per-pixel MSE against ``target``."""
    was = G.training
    rec_inv = G.eval()(inv.z)
    G.train(was)
    rec_tuned = G_I(z)
    return {
        "psnr_inversion": float(psnr(rec_inv, target)),
        "psnr_tuned": float(psnr(rec_tuned, target)),
        "ssim_inversion": float(ssim(rec_inv, target)),
        "ssim_tuned": float(ssim(rec_tuned, target)),
        "mse_inversion": inv.mse,
        "mse_tuned": float((rec_tuned - target).pow(2).mean()),
        "tune_steps_run": steps_run,
    }

