"""Measurements of the z' generator on scenes (paper 4.2, Figs. 11 and 14).

* :func:`coordinate_latents` / :func:`coordinate_series`: paper Fig. 14, ``z' = 0`` except one
  coordinate ``z'_k = v``, for each ``k`` and each value ``v``: what each of the symmetry-breaking
  coordinates does to the image.
* :func:`coordinate_effects`: how much each coordinate changes the image (mean squared change from
  the symmetric image at ``z' = 0``) and how asymmetric it makes it (mirror-MSE).
* :func:`coordinate_similarity`: whether the coordinates change the image in different ways
  (paper: "each dimension controls a different mode of variability", yet "the dimensions are not
  independent").
* :func:`left_right_balance`: a per-image asymmetry statistic whose distribution is symmetric
  around 0 for a mirror-invariant data set (a room and its mirror image are equally likely).

Fig. 11 (``z_t = [t z', z'']``, more symmetric as ``t -> 0``) needs nothing new: it is the series
of :func:`symgan.metrics.series_images` / :func:`symgan.metrics.series_mirror_mse`.

Chapter: ``book/07_lsun_bedrooms``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..device import eval_mode
from ..images import to_unit_range
from ..symmetry import mirror_mse

__all__ = ["coordinate_latents", "coordinate_series", "coordinate_effects", "coordinate_similarity",
           "left_right_balance"]


def coordinate_latents(z: Tensor, values: Sequence[float] | Tensor, n_anti: int = 5,
                       coords: Sequence[int] | None = None) -> Tensor:
    """Latents with ``z' = 0`` except ``z'_k = v`` (paper Fig. 14), ``z''`` kept from ``z``.

    ``z``: ``(B, z_dim)`` (its first ``n_anti`` entries are ``z'``); ``values``: ``V`` numbers;
    ``coords``: the ``K`` coordinates to vary (default all ``n_anti``). Returns
    ``(B, K, V, z_dim)``. ``v = 0`` is the symmetric latent; ``-v`` is the mirror latent of ``v``.
    """
    coords = list(range(n_anti)) if coords is None else list(coords)
    if any(not 0 <= k < n_anti for k in coords):
        raise ValueError(f"coords must lie in [0, {n_anti}), got {coords}")
    v = torch.as_tensor(values, dtype=z.dtype, device=z.device)
    B, V, K = z.shape[0], v.numel(), len(coords)
    out = z[:, None, None, :].expand(B, K, V, z.shape[1]).clone()
    out[..., :n_anti] = 0
    for i, k in enumerate(coords):
        out[:, i, :, k] = v
    return out


@torch.no_grad()
def coordinate_series(G: nn.Module, z: Tensor, values: Sequence[float] | Tensor,
                      coords: Sequence[int] | None = None) -> Tensor:
    """``G`` (a z' generator, with ``G.n_anti``) on :func:`coordinate_latents`, in eval mode:
    ``(B, K, V, C, H, W)`` on the CPU. The training mode of ``G`` is restored."""
    n_anti = int(getattr(G, "n_anti", 5))
    lat = coordinate_latents(z, values, n_anti, coords)
    param = next(G.parameters())
    with eval_mode(G):
        x = G(lat.flatten(0, 2).to(param.device, param.dtype))
    return x.float().cpu().view(*lat.shape[:3], *x.shape[1:])


def coordinate_effects(series: Tensor, values: Sequence[float] | Tensor) -> dict[str, Tensor]:
    """Per coordinate ``k`` and value ``v`` of a :func:`coordinate_series` ``(B, K, V, C, H, W)``:

    ``change``: ``mean_{b,c,h,w} (x_{k,v} - x_{0})^2``, the squared change from the symmetric image
    ``x_0`` (``z' = 0``); ``mirror_mse``: ``mean_b`` mirror-MSE of ``x_{k,v}``. Both ``(K, V)``
    float64. ``values`` must contain 0 (the reference image; ``|v| <= 1e-6`` counts as 0).
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    i0 = int(v.abs().argmin())
    if v[i0].abs() > 1e-6:
        raise ValueError("values must contain 0: the symmetric image is the reference")
    ref = series[:, :, i0]  # (B, K, C, H, W)
    change = (series - ref.unsqueeze(2)).double().pow(2).mean(dim=(0, 3, 4, 5))
    B, K, V = series.shape[:3]
    mm = mirror_mse(series.flatten(0, 2)).double().view(B, K, V).mean(0)
    return {"change": change, "mirror_mse": mm}


def coordinate_similarity(series: Tensor, values: Sequence[float] | Tensor) -> Tensor:
    """Cosine similarity of the changes that the coordinates make, ``(K, K)`` float64.

    For each latent ``b`` and coordinate ``k`` of a :func:`coordinate_series`, the change
    ``d_k = x_{k, v_max} - x_0`` (largest ``|v|`` against ``v = 0``); entry ``(k, j)`` is the mean
    over ``b`` of ``cos(d_k, d_j)``. ``1`` on the diagonal; near ``0`` off it when the coordinates
    change unrelated things, near ``+-1`` when two coordinates make (up to sign) the same change.
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    i0, i1 = int(v.abs().argmin()), int(v.abs().argmax())
    if v[i0].abs() > 1e-6 or i0 == i1:
        raise ValueError("values must contain 0 and a non-zero value")
    d = (series[:, :, i1] - series[:, :, i0]).double().flatten(2)  # (B, K, P)
    d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    return torch.einsum("bkp,bjp->bkj", d, d).mean(0)


def left_right_balance(images: Tensor) -> Tensor:
    """Mean of the left half minus mean of the right half of each image ``(N, C, H, W)``
    (``uint8`` images are mapped to ``[-1, 1]``): ``(N,)``. Mirroring negates it exactly, so for a
    mirror-invariant data set its distribution is symmetric around 0."""
    x = to_unit_range(images) if images.dtype == torch.uint8 else images.float()
    w = x.shape[-1] // 2
    return x[..., :w].mean(dim=(1, 2, 3)) - x[..., x.shape[-1] - w:].mean(dim=(1, 2, 3))
