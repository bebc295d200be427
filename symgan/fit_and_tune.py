r"""FitAndTune (paper section 3, Algorithm 1): rotate an existing face by tuning ``G`` to it.

The module follows the algorithm: the image in (:func:`prepare_image`), phase I
(:func:`invert`), phase II (:func:`fit_and_tune`), then the rotation (:func:`rotate`,
:func:`save_rotation`).

**Phase I** recovers the latent ``z`` of the image ``I`` with ``G`` frozen:

.. math::

    z^\star = \arg\min_z \; \|G(z) - I\|^2_{\text{mean}} + \alpha \|z\|_2^2
              + \beta \sum_i \max(|z_i| - 1, 0)

The reconstruction term is the per-pixel mean squared error (the paper writes a norm without
saying which; a mean keeps the weights independent of the image size). ``alpha`` is the weight
decay on ``z`` that the paper found necessary; the hinge applies **per element**, so each
``z_i`` is pushed back into ``[-1, 1]``, the support of the prior ``U[-1, 1]``. Several random
starts are optimised together (one batch) and the best is kept, because the loss is non-convex.

**Phase II.** Inversion alone does not keep the identity: ``G(z)`` is a plausible face, not
*this* face. Phase II tunes a **copy** ``G_I`` of ``G`` (and ``D_I`` of ``D``) by alternating

1. symmetric GAN training steps of ``G_I`` and ``D_I`` on the original training data, which keep
   ``G_I`` a generator of faces rather than a decoder of one image, and
2. joint steps on ``z`` and ``G_I`` for the phase-I objective,

with early stopping once the reconstruction error reaches ``target_mse`` (as PTI does with its
pivotal tuning).

**Rotation.** A symmetric ``G`` stays symmetric while it is tuned (the architecture does not
depend on the weights), so the frames ``G_I(z_t)`` for ``t`` from 1 to -1 (the latent series
from ``z`` to its mirror latent ``zN``, paper Figs. 12-13) turn *this* face: the middle frame is
exactly symmetric (a frontal view) and the last is exactly the mirror of the first.

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .device import eval_mode
from .images import ImageLike, make_grid, read_image, save_pil, square_image, to_pil, to_unit_range
from .metrics import psnr, ssim
from .update import gan_step

__all__ = [
    "prepare_image",
    "latent_penalty",
    "InversionResult",
    "invert",
    "as_image_tensor",
    "FitAndTuneResult",
    "fit_and_tune",
    "rotate",
    "save_rotation",
]

# ----------------------------------------------------------------------------- the image


def prepare_image(
    image: ImageLike,
    size: int,
    channels: int,
    *,
    value_range: tuple[float, float] | None = None,
) -> Tensor:
    """Turn an image into a generator target: ``(1, channels, size, size)`` float32 in ``[-1, 1]``.

    Any form :func:`symgan.images.read_image` reads (path, PIL, numpy, tensor; 8-bit, 16-bit or
    float), made square by :func:`symgan.images.square_image`:

    * transparency is composited over white; grayscale is repeated to RGB for a colour
      generator; colour is converted to luminance (ITU-R 601) for a grayscale one, with a
      warning;
    * non-square images are centre-cropped to a square (warning when the aspect ratio exceeds
      1.25, since the crop then drops much of the picture), then resized (bicubic, antialiased);
    * float inputs are read as ``[0, 1]``, or ``[-1, 1]`` when they contain negatives; integer
      inputs by their dtype; ``value_range`` overrides.

    An image already ``size x size`` keeps its values (float sources are not rounded to 8 bits).
    """
    if channels not in (1, 3):
        raise ValueError(f"the generator must produce 1 or 3 channels, it produces {channels}")
    arr = read_image(image, value_range=value_range)
    if channels == 1 and arr.shape[-1] in (3, 4):
        warnings.warn("a colour image is converted to grayscale for a 1-channel generator", stacklevel=2)
    h, w = arr.shape[:2]
    if max(h, w) / min(h, w) > 1.25:
        warnings.warn(
            f"image of {w}x{h} pixels is centre-cropped to {min(h, w)}x{min(h, w)} (aspect ratio "
            f"{max(h, w) / min(h, w):.2f}); crop it around the face first for a better fit",
            stacklevel=2,
        )
    arr = square_image(arr, size, channels)
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().unsqueeze(0)
    return (t.clamp(0, 1) * 2 - 1).contiguous()


# ----------------------------------------------------------------------------- phase I: invert


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
    flags = [p.requires_grad for p in G.parameters()]
    history: list[dict[str, float]] = []
    with eval_mode(G):
        G.requires_grad_(False)
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
    if not math.isfinite(float(rec[best])):
        raise FloatingPointError("inversion diverged (non-finite reconstruction error); lower lr")
    return InversionResult(z=z.detach()[best : best + 1].clone(), image=target, mse=float(rec[best]), history=history)


# ----------------------------------------------------------------------------- phase II: tune


def as_image_tensor(data: Tensor | Dataset | np.ndarray) -> Tensor:
    """Training images as one float tensor ``(N, C, H, W)`` in ``[-1, 1]``.

    Accepts such a tensor, a uint8 tensor ``(N, C, H, W)`` (as returned by
    :func:`symgan.data.load_training_images`), a uint8 array ``(N, H, W, C)``, or a dataset (its
    ``.images`` uint8 array when it has one, else its items stacked). Float values outside
    ``[-1, 1]`` are an error.
    """
    if isinstance(data, Tensor):
        # uint8 is what symgan.data.load_training_images returns: scale it like the trainer does
        x = to_unit_range(data) if data.dtype == torch.uint8 else data
    else:
        arr = getattr(data, "images", data)
        if isinstance(arr, np.ndarray):
            if arr.dtype != np.uint8 or arr.ndim != 4:
                raise ValueError(f"expected a uint8 array (N, H, W, C), got {arr.dtype} {arr.shape}")
            x = to_unit_range(torch.from_numpy(arr).permute(0, 3, 1, 2))
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

    def rotations(self, G: nn.Module, n: int = 9) -> tuple[Tensor, Tensor]:
        """Both rotations of the target, ``n`` frames each (:func:`rotate`): the original ``G`` on
        the series of the inversion-only latent ``z_inv`` (phase I alone), then the tuned ``G_I``
        on the series of ``z`` (FitAndTune); each of shape ``(n, C, S, S)``."""
        return rotate(G, self.inversion.z, n), rotate(self.generator, self.z, n)


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
    with eval_mode(G):
        rec_inv = G(inv.z)
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


# ----------------------------------------------------------------------------- the rotation


@torch.no_grad()
def rotate(generator: torch.nn.Module, z: Tensor, n: int = 9) -> Tensor:
    """``n`` frames ``G(z_t)``, ``t`` from 1 to -1 (``G.series``), shape ``(n, C, H, W)``.

    Works with either encoding (the generator's own). Runs in eval mode (restored after).
    """
    z = z.reshape(-1)
    if z.numel() != generator.z_dim:
        raise ValueError(f"expected one latent of {generator.z_dim} entries, got shape {tuple(z.shape)}")
    with eval_mode(generator):
        return generator.series(z, n)


def save_rotation(
    frames: Tensor,
    png: str | os.PathLike | None = None,
    gif: str | os.PathLike | None = None,
    *,
    scale: int = 4,
    duration_ms: int = 120,
    boomerang: bool = True,
) -> None:
    """Save frames ``(n, C, H, W)`` in ``[-1, 1]`` as a PNG strip and/or an animated GIF.

    ``scale`` enlarges each pixel (nearest) so small images stay visible; ``boomerang`` plays
    the GIF forth and back (a head turning left and right). Parent folders are created.
    """
    if frames.dim() != 4:
        raise ValueError(f"expected frames (n, C, H, W), got {tuple(frames.shape)}")
    frames = frames.detach().cpu().float()
    if png is not None:
        save_pil(to_pil(make_grid(frames, nrow=len(frames), padding=1), scale), png)
    if gif is not None:
        imgs = [to_pil(f, scale).convert("P", palette=Image.ADAPTIVE) for f in frames]
        if boomerang and len(imgs) > 2:
            imgs = imgs + imgs[-2:0:-1]
        save_pil(imgs[0], gif, save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)
