"""Measuring face rotation by FitAndTune: the paper's "identity is preserved" as numbers.

The paper shows (Figs. 12-13) that rotating an inverted face with the original ``G`` loses the
identity while the tuned ``G_I`` keeps it. SynthFaces gives ground truth for that claim: every
held-out test face has a known identity, so each rotation frame can be compared with the
**ground-truth render of the same identity at the yaw the frame shows** (read by the yaw
regressor of :mod:`symgan.studies.yaw`). The identity error of a rotation is the mean over its
frames of

    ``mse(frame_k, render(identity, yaw_regressor(frame_k)))``  (per pixel, on ``[-1, 1]``).

Lower is better; inversion-only and FitAndTune are scored the same way on the same images.
Real photos (the LFW subset and the astronaut) have no ground truth:
:func:`real_photo_study` records their reconstruction PSNR and rotations only.

Chapter: ``book/08_face_rotation``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..fit_and_tune import fit_and_tune
from ..images import to_unit_range
from ..symmetry import mirror

if TYPE_CHECKING:
    from ..data.synthfaces import SynthFaces

__all__ = [
    "HELD_OUT_SEED",
    "held_out_faces",
    "ground_truth_renders",
    "identity_error",
    "RotationStudy",
    "rotation_study",
    "RealPhotoStudy",
    "real_photo_study",
]

#: Seed of the held-out SynthFaces test faces (training sets use small seeds, 0 by default).
HELD_OUT_SEED = 90210


def held_out_faces(size: int, channels: int = 3, n: int = 16, seed: int = HELD_OUT_SEED) -> SynthFaces:
    """``n`` SynthFaces that no training set contains (a separate seed), with their labels."""
    from ..data.synthfaces import SynthFaces

    return SynthFaces(size=size, n=n, channels=channels, seed=seed, cache=False)


@torch.no_grad()
def ground_truth_renders(frames: Tensor, identity: Any, yaw_model: nn.Module) -> tuple[Tensor, Tensor]:
    """What each frame should show: ``identity`` rendered at the yaw read from the frame.

    ``frames``: ``(n, C, S, S)`` in ``[-1, 1]``; ``identity``: a SynthFaces identity. Returns
    ``(renders (n, C, S, S) in [-1, 1] on the frames' device, yaw_degrees (n,))``.
    """
    from ..data.synthfaces import render
    from .yaw import predict_yaw

    yaws = predict_yaw(yaw_model, frames)
    n, c, s, _ = frames.shape
    gts = [to_unit_range(torch.from_numpy(render(identity, float(y), s, c)).permute(2, 0, 1)) for y in yaws]
    return torch.stack(gts).to(frames), yaws


@torch.no_grad()
def identity_error(frames: Tensor, identity: Any, yaw_model: nn.Module) -> tuple[Tensor, Tensor]:
    """Per-frame identity error and the yaw read from each frame.

    ``frames``: ``(n, C, S, S)`` in ``[-1, 1]``; ``identity``: a SynthFaces identity. Returns
    ``(mse (n,), yaw_degrees (n,))`` where ``mse[k]`` compares frame ``k`` with the render of
    ``identity`` at the yaw the regressor reads from it (:func:`ground_truth_renders`).
    """
    gt, yaws = ground_truth_renders(frames, identity, yaw_model)
    return (frames - gt).pow(2).flatten(1).mean(1), yaws


@dataclass
class RotationStudy:
    """Per-image rows (dicts) and their means; ``examples`` holds a few frame strips
    ``(target, inversion frames (n, C, S, S), tuned frames)`` for figures."""

    rows: list[dict[str, float]] = field(default_factory=list)
    examples: list[tuple[Tensor, Tensor, Tensor]] = field(default_factory=list)

    def mean(self, key: str) -> float:
        return statistics.fmean(r[key] for r in self.rows)

    def summary(self) -> dict[str, float]:
        keys = [k for k in self.rows[0] if k != "index"] if self.rows else []
        return {k: self.mean(k) for k in keys}

    def markdown(self) -> str:
        """A results table: mean over images of each measurement, inversion-only vs FitAndTune."""
        s = self.summary()
        lines = [
            f"| measurement (mean over {len(self.rows)} held-out faces) | inversion only | FitAndTune |",
            "|---|---|---|",
            f"| reconstruction PSNR (dB) | {s['psnr_inversion']:.2f} | {s['psnr_tuned']:.2f} |",
            f"| reconstruction SSIM | {s['ssim_inversion']:.3f} | {s['ssim_tuned']:.3f} |",
            f"| identity error along the rotation (MSE to ground truth) | {s['identity_inversion']:.4f} | {s['identity_tuned']:.4f} |",
            f"| max \\|last frame - mirror(first)\\| | {s['mirror_err_inversion']:.1e} | {s['mirror_err_tuned']:.1e} |",
            f"| max \\|middle frame - mirror(middle)\\| | {s['middle_err_inversion']:.1e} | {s['middle_err_tuned']:.1e} |",
        ]
        return "\n".join(lines)


def rotation_study(
    G: nn.Module,
    D: nn.Module | None,
    data: Any,
    *,
    n_images: int = 16,
    n_frames: int = 9,
    yaw_model: nn.Module | None = None,
    n_examples: int = 4,
    seed: int = 0,
    progress: bool = False,
    **fit_kwargs: Any,
) -> RotationStudy:
    """FitAndTune ``n_images`` held-out SynthFaces and score both rotations of each.

    For image ``i``: phase I gives ``z_inv`` for ``G``; phases I+II give ``(G_I, z)``. Each row
    records PSNR/SSIM of both reconstructions, the identity error of both rotations (see
    :func:`identity_error`), the exactness of both rotations (last frame vs mirror of the first,
    middle frame vs its mirror), the time taken and the tuning steps run. ``progress``: a bar
    over the images.
    """
    if yaw_model is None:
        from .yaw import load_yaw_regressor

        yaw_model = load_yaw_regressor(G.img_size, G.channels)
    faces = held_out_faces(G.img_size, G.channels, n_images)
    study = RotationStudy()
    mid = n_frames // 2
    for i in tqdm(range(n_images), desc="FitAndTune held-out faces", disable=not progress):
        t0 = time.perf_counter()
        res = fit_and_tune(G, D, faces[i], data, seed=seed + i, **fit_kwargs)
        dt = time.perf_counter() - t0
        f_inv, f_tun = res.rotations(G, n_frames)
        ident = faces.identity(i)
        e_inv, _ = identity_error(f_inv, ident, yaw_model)
        e_tun, _ = identity_error(f_tun, ident, yaw_model)
        row = {"index": i, **{k: float(v) for k, v in res.metrics.items()}}
        row.update(
            identity_inversion=float(e_inv.mean()),
            identity_tuned=float(e_tun.mean()),
            mirror_err_inversion=float((f_inv[-1] - mirror(f_inv[0])).abs().max()),
            mirror_err_tuned=float((f_tun[-1] - mirror(f_tun[0])).abs().max()),
            middle_err_inversion=float((f_inv[mid] - mirror(f_inv[mid])).abs().max()),
            middle_err_tuned=float((f_tun[mid] - mirror(f_tun[mid])).abs().max()),
            seconds=dt,
            true_yaw=float(faces.yaw[i]),
        )
        study.rows.append(row)
        if i < n_examples:
            study.examples.append((res.image[0].cpu(), f_inv.cpu(), f_tun.cpu()))
    return study


@dataclass
class RealPhotoStudy:
    """FitAndTune on real photos, which have no ground truth to score identity against.

    ``lfw_psnr``: ``(psnr_inversion, psnr_tuned)`` in dB per LFW-subset face; ``lfw_seconds``:
    the time those took; ``examples``: ``(target (C, S, S), inversion frames (n, C, S, S), tuned
    frames)`` for the first few LFW faces and, last, the astronaut; ``astronaut_psnr``: its
    ``(psnr_inversion, psnr_tuned)``.
    """

    lfw_psnr: list[tuple[float, float]] = field(default_factory=list)
    lfw_seconds: float = 0.0
    examples: list[tuple[Tensor, Tensor, Tensor]] = field(default_factory=list)
    astronaut_psnr: tuple[float, float] = (float("nan"), float("nan"))


def real_photo_study(
    G: nn.Module,
    D: nn.Module | None,
    data: Any,
    *,
    n_lfw: int = 100,
    n_examples: int = 4,
    seed: int = 0,
    progress: bool = False,
    **fit_kwargs: Any,
) -> RealPhotoStudy:
    """FitAndTune ``n_lfw`` faces of the LFW subset (face ``i`` with seed ``seed + i``), then the
    astronaut photo (seed ``seed``), at ``G``'s size; rotate both latents of each with ``G`` and
    ``G_I`` (:meth:`~symgan.fit_and_tune.FitAndTuneResult.rotations`, 9 frames) for the first
    ``n_examples`` faces. ``progress``: a bar over the LFW faces."""
    from ..data.real import LFWSubset, astronaut_face

    study = RealPhotoStudy()
    lfw = LFWSubset(G.img_size, G.channels) if n_lfw else None
    t0 = time.perf_counter()
    for i in tqdm(range(n_lfw), desc="FitAndTune LFW faces", disable=not progress):
        ft = fit_and_tune(G, D, lfw[i], data, seed=seed + i, **fit_kwargs)
        study.lfw_psnr.append((ft.metrics["psnr_inversion"], ft.metrics["psnr_tuned"]))
        if i < n_examples:
            study.examples.append((ft.image[0], *ft.rotations(G)))
    study.lfw_seconds = time.perf_counter() - t0
    astro = fit_and_tune(G, D, astronaut_face(G.img_size, G.channels), data, seed=seed, **fit_kwargs)
    study.examples.append((astro.image[0], *astro.rotations(G)))
    study.astronaut_psnr = (astro.metrics["psnr_inversion"], astro.metrics["psnr_tuned"])
    return study
