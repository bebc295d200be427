"""The paper's symmetry measurements, as numbers (:mod:`symgan.plots` draws them).

* :func:`series_images` / :func:`averaged_series`: paper Fig. 9 (the series of 9 from ``z`` at
  ``t = 1`` to its mirror latent at ``t = -1``) and Fig. 10 (each image averaged with the mirror of
  its partner, ``(G(z_t) + M(G(z_-t))) / 2``: no ghosting iff the mirroring is exact).
* :func:`series_mirror_mse`: Supplementary Fig. 7, ``mean_z mse(G(z_t), M(G(z_t)))`` for each
  ``t``; :func:`symgan.plots.plot_mirror_mse_curves` draws all methods on one axis.
* :func:`yaw_along_series`: the SynthFaces yaw regressor (:mod:`symgan.studies.yaw`) along the
  series: Spearman correlation of yaw with ``t`` and ``|yaw|`` at ``t = 0``.
* :func:`spearman`: rank correlation with average ranks for ties (as ``scipy.stats.spearmanr``).
* :func:`evaluate_models`: all of the above for one trained method, as one JSON-able dict.
* :func:`mse`, :func:`psnr`, :func:`ssim`: how well FitAndTune reconstructs a photo (section 3,
  ``book/08_face_rotation``), on the ``[0, 1]`` scale of 8-bit images:
  ``PSNR(x, y) = 10 log10(1 / MSE)`` per image in dB; SSIM (Wang et al. 2004) with an 11x11
  Gaussian window (sigma 1.5, smaller for tiny images), ``C1 = 0.01^2``, ``C2 = 0.03^2``, averaged
  over channels and pixels ("valid" windows).

Sample quality (FID/KID, the InceptionV3 network) is :mod:`symgan.fid`.

Every function puts the generator in eval mode (BatchNorm running statistics) and restores it.
Chapters: ``book/06_loss_baselines_and_faces``, ``book/07_lsun_bedrooms``,
``book/08_face_rotation``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .device import eval_mode
from .images import to_unit_range
from .studies.discriminator import discriminator_overfitting
from .symmetry import mirror, mirror_mse

__all__ = [
    "fixed_latents",
    "series_images",
    "averaged_series",
    "series_mirror_mse",
    "data_mirror_mse",
    "mirror_mse_curves",
    "spearman",
    "yaw_along_series",
    "evaluate_models",
    "mse",
    "psnr",
    "ssim",
]


@contextlib.contextmanager
def _eval(module: nn.Module) -> Iterator[nn.Module]:
    with eval_mode(module), torch.no_grad():
        yield module


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def fixed_latents(n: int, z_dim: int = 100, seed: int = 0) -> Tensor:
    """``n`` latents ``U[-1, 1]`` from a private generator: the same for every method, ``(n, z_dim)``."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, z_dim, generator=g) * 2 - 1


def series_images(G: nn.Module, z: Tensor, n: int = 9) -> Tensor:
    """Paper Fig. 9: ``G`` on the latent series of each ``z``: ``(B, z_dim) -> (B, n, C, H, W)``,
    column ``i`` at ``t = 1 - 2i/(n-1)``, on the CPU."""
    with _eval(G):
        return G.series(z.to(_device(G), next(G.parameters()).dtype), n).float().cpu()


def averaged_series(series: Tensor) -> Tensor:
    """Paper Fig. 10: ``(x_t + M(x_-t)) / 2`` for a series ``(..., n, C, H, W)`` (same shape).
    Sharp images iff ``x_-t == M(x_t)``; ghosting shows where mirroring fails."""
    return (series + mirror(series.flip(-4))) / 2


def series_mirror_mse(G: nn.Module, z: Tensor, n: int = 9, dtype: torch.dtype | None = None) -> Tensor:
    """Supplementary Fig. 7: ``mean_z mean_{c,h,w} (x_t - M x_t)^2`` for each of the ``n`` images
    of the series, shape ``(n,)`` (float64). ``dtype=torch.float64`` evaluates a float64 copy of
    ``G``, where the middle image of z'/flip is symmetric to ~1e-30 rather than ~1e-14."""
    if dtype is not None and dtype != next(G.parameters()).dtype:
        G = copy.deepcopy(G).to(dtype)
    with _eval(G):
        zz = z.to(_device(G), next(G.parameters()).dtype)
        s = G.series(zz, n)  # (B, n, C, H, W)
        m = mirror_mse(s.flatten(0, 1)).view(s.shape[0], n)
    return m.double().mean(0).cpu()


def data_mirror_mse(images: Tensor) -> float:
    """Mean mirror-MSE of real images ``(N, C, H, W)`` (floats in ``[-1, 1]`` or ``uint8``
    ``(N, C, H, W)``): the reference level for "clearly asymmetric"."""
    x = to_unit_range(images) if images.dtype == torch.uint8 else images.float()
    return float(mirror_mse(x).double().mean())


def mirror_mse_curves(generators: Mapping[str, nn.Module], n_z: int = 64, n: int = 9, seed: int = 0,
                      dtype: torch.dtype | None = None) -> dict[str, list[float]]:
    """:func:`series_mirror_mse` for each named generator, on the same ``n_z`` latents."""
    out = {}
    for name, G in generators.items():
        z = fixed_latents(n_z, G.z_dim, seed)
        out[name] = series_mirror_mse(G, z, n, dtype).tolist()
    return out


def _ranks(x: Tensor) -> Tensor:
    """Average ranks along the last dimension (ties share their mean rank)."""
    order = x.argsort(-1)
    r = torch.empty_like(x, dtype=torch.float64)
    r.scatter_(-1, order, torch.arange(x.shape[-1], dtype=torch.float64).expand_as(x).contiguous())
    # ties: replace by the mean rank of equal values
    for idx in np.ndindex(*x.shape[:-1]):
        row, rr = x[idx], r[idx]
        for v in row.unique():
            m = row == v
            if m.sum() > 1:
                rr[m] = rr[m].mean()
    return r


def spearman(x: Tensor, y: Tensor) -> Tensor:
    """Spearman rank correlation along the last dimension: ``(..., n), (..., n) -> (...)``.
    A constant row gives 0 (no monotone trend)."""
    rx, ry = _ranks(x.double()), _ranks(y.double().expand_as(x))
    rx, ry = rx - rx.mean(-1, keepdim=True), ry - ry.mean(-1, keepdim=True)
    den = (rx.pow(2).sum(-1) * ry.pow(2).sum(-1)).sqrt()
    return torch.where(den > 0, (rx * ry).sum(-1) / den.clamp_min(1e-300), torch.zeros_like(den))


def yaw_along_series(G: nn.Module, z: Tensor, regressor: nn.Module | None = None, n: int = 9) -> dict:
    """Yaw (degrees) of each image of the series of each ``z`` by the SynthFaces regressor.

    Returns ``yaw`` ``(B, n)`` as lists, ``spearman_abs`` = mean over ``z`` of ``|rho(yaw, t)|``
    (the direction of the turn depends on ``z``, its monotonicity should not), ``spearman``
    (signed, per ``z``), ``abs_yaw_t0`` = mean ``|yaw|`` of the middle image,
    ``abs_yaw_ends`` = mean ``|yaw|`` at ``t = +-1``, ``swings`` = ``|yaw(1) - yaw(-1)| / 2`` per
    ``z`` (how far its series turns the head: Spearman alone rewards a tiny monotone drift too),
    ``swing`` = their mean and ``swing_se``, its standard error over the ``B`` latents
    (``std / sqrt(B)``; NaN for one latent). The swing of one latent is about the ``|yaw|`` of
    its face, which varies a lot from face to face: over 32 latents the standard error is about
    2 degrees, so compare swings over hundreds."""
    from .latent import series_t
    from .studies.yaw import load_yaw_regressor, predict_yaw

    if regressor is None:
        regressor = load_yaw_regressor(img_size=G.img_size, channels=G.channels)
    s = series_images(G, z, n)
    yaw = predict_yaw(regressor, s.flatten(0, 1)).view(s.shape[0], n).double()
    t = series_t(n, dtype=torch.float64)
    rho = spearman(yaw, t)
    swings = (yaw[:, 0] - yaw[:, -1]).abs() / 2
    return {"yaw": yaw.tolist(), "spearman": rho.tolist(), "spearman_abs": float(rho.abs().mean()),
            "abs_yaw_t0": float(yaw[:, n // 2].abs().mean()) if n % 2 else float("nan"),
            "abs_yaw_ends": float(torch.cat([yaw[:, 0], yaw[:, -1]]).abs().mean()),
            "swings": swings.tolist(), "swing": float(swings.mean()),
            "swing_se": float(swings.std() / len(swings) ** 0.5) if len(swings) > 1 else float("nan")}


def evaluate_models(G: nn.Module, D: nn.Module | None = None, *, data: Tensor | None = None,
                    n_z: int = 32, n: int = 9, seed: int = 0, yaw: bool = True,
                    n_yaw: int | None = None) -> dict:
    """All the scalar measurements of one trained method, as a JSON-able dict:

    ``mirror_exactness`` (:func:`symgan.generators.mirror_errors` on ``n_z`` latents),
    ``series_mirror_mse`` (the curve, float64 evaluation), ``middle_mirror_mse``,
    ``ends_mirror_mse`` (mean of ``t = +-1``), and when given ``data`` (training images,
    ``uint8`` or float): ``data_mirror_mse``, ``ends_over_data`` and the discriminator's
    ``d_mirror_gap`` (mean ``|sigmoid D(x) - sigmoid D(Mx)|``); with ``yaw`` (3-channel or
    1-channel faces) the :func:`yaw_along_series` summary (without the per-image lists) over
    ``n_yaw`` latents (default ``n_z``; the first ``n_z`` are the same latents), with
    ``yaw_swing_se`` and ``yaw_n``."""
    from .generators import mirror_errors

    z = fixed_latents(n_z, G.z_dim, seed)
    with _eval(G):
        exact = mirror_errors(G, z.to(_device(G)))
    curve = series_mirror_mse(G, z, n, dtype=torch.float64).tolist()
    out: dict = {"arch": G.arch, "encoding": G.encoding, "mirror_exactness": exact,
                 "series_mirror_mse": curve, "middle_mirror_mse": curve[n // 2],
                 "ends_mirror_mse": (curve[0] + curve[-1]) / 2}
    if data is not None:
        ref = data_mirror_mse(data)
        out["data_mirror_mse"] = ref
        out["ends_over_data"] = out["ends_mirror_mse"] / ref if ref > 0 else float("nan")
        if D is not None:
            r = discriminator_overfitting({"D": D}, data)["D"]
            out["d_mean_p_real"], out["d_mean_p_mirror"] = r["mean_p_real"], r["mean_p_mirror"]
            out["d_mirror_gap"], out["d_mirror_gap_max"] = r["mean_abs_gap"], r["max_abs_gap"]
    if yaw:
        zy = z if n_yaw is None else fixed_latents(n_yaw, G.z_dim, seed)
        y = yaw_along_series(G, zy, n=n)
        out["yaw_n"] = len(zy)
        out["yaw_swing_se"] = y["swing_se"]
        out["yaw_spearman_abs"] = y["spearman_abs"]
        out["yaw_abs_t0"] = y["abs_yaw_t0"]
        out["yaw_abs_ends"] = y["abs_yaw_ends"]
        out["yaw_swing"] = y["swing"]
        out["yaw_mean_series"] = np.asarray(y["yaw"]).mean(0).tolist()
    return out


# Reconstruction quality (FitAndTune, section 3)


def _check_pair(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape != y.shape:
        raise ValueError(f"images must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() == 3:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"expected images (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    return (x.float() + 1) / 2, (y.float() + 1) / 2


def mse(x: Tensor, y: Tensor) -> Tensor:
    """Per-image mean squared error on the ``[0, 1]`` scale, shape ``(N,)``."""
    a, b = _check_pair(x, y)
    return (a - b).pow(2).flatten(1).mean(1)


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Per-image PSNR in dB, shape ``(N,)`` (capped at 100 dB for identical images)."""
    return (10 * torch.log10(1.0 / mse(x, y).clamp_min(1e-10))).clamp_max(100.0)


def _gaussian(size: int, sigma: float, device: torch.device) -> Tensor:
    ax = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(ax**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-image SSIM, shape ``(N,)``; the window shrinks (odd, >= 3) for images under 11 px."""
    a, b = _check_pair(x, y)
    n, c, h, w = a.shape
    win = min(window, h, w)
    win = win if win % 2 else win - 1
    if win < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {h}x{w}")
    s = sigma * win / window
    k = _gaussian(win, s, a.device).expand(c, 1, win, win)
    mu_a, mu_b = F.conv2d(a, k, groups=c), F.conv2d(b, k, groups=c)
    saa = F.conv2d(a * a, k, groups=c) - mu_a**2
    sbb = F.conv2d(b * b, k, groups=c) - mu_b**2
    sab = F.conv2d(a * b, k, groups=c) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return m.flatten(1).mean(1)
