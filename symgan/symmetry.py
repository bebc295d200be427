"""The mirror operation, symmetric folding, and public equivariance checks.

Write ``M(x) = x.flip(-1)`` for the left-right mirror of an image or feature map of shape
``(..., H, W)``. Everything in symgan is built so that, *by construction*,

* a symmetric generator satisfies ``G(zN) == M(G(z))`` (zN: the mirror latent), and
* a symmetric discriminator satisfies ``D(M(x)) == D(x)``.

"By construction" is a claim, so this module also provides the functions that check it on any
module, in the spirit of escnn's ``check_equivariance``. Chapter: ``book/02_symmetric_kernels``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "mirror",
    "fold",
    "is_symmetric",
    "mirror_mse",
    "EquivarianceReport",
    "check_equivariance",
    "check_invariance",
]


def mirror(x: Tensor) -> Tensor:
    """Left-right mirror ``M(x)[..., j] = x[..., W-1-j]`` of a tensor of shape ``(..., W)``.

    Chapter: ``book/02_symmetric_kernels``.
    """
    return x.flip(-1)


def fold(h: Tensor) -> Tensor:
    """Symmetric folding of paper Fig. 4(d): ``fold(h) = (h + M(h))[..., :ceil(W/2)]``.

    Column ``j`` becomes ``h[..., j] + h[..., W-1-j]``; for odd ``W`` the centre column is
    doubled. ``fold(M(h)) == fold(h)`` exactly (the sum is commutative), so any function of the
    folded map is mirror invariant. Shape ``(..., W) -> (..., ceil(W/2))``.

    Chapter: ``book/05_symmetric_discriminator``.
    """
    half = (h.shape[-1] + 1) // 2
    # Only the kept columns are summed: one gather instead of a full flip, half the additions.
    return h[..., :half] + h.index_select(-1, _column_index("fold", h.shape[-1], h.device))


_COLUMN_INDICES: dict[tuple, Tensor] = {}


def _column_index(kind: str, width: int, device: torch.device) -> Tensor:
    """Cached ``index_select`` indices along the last axis (a gather copies values exactly).

    ``"fold"``: ``W-1-j`` for the ``ceil(W/2)`` kept columns; ``"symmetric"`` /
    ``"antisymmetric"`` (``width = K``): for each kernel column ``j`` the free column it copies,
    ``min(j, K-1-j)`` (the centre column of an odd antisymmetric kernel points at column 0 and is
    zeroed by the sign; used by :func:`symgan.layers.symmetric_kernel` and
    :func:`~symgan.layers.antisymmetric_kernel`).
    """
    key = (kind, width, device)
    idx = _COLUMN_INDICES.get(key)
    if idx is None:
        if kind == "fold":
            cols = [width - 1 - j for j in range((width + 1) // 2)]
        elif kind in ("symmetric", "antisymmetric"):
            cols = [min(j, width - 1 - j) for j in range(width)]
            if kind == "antisymmetric" and width % 2:
                cols[width // 2] = 0
        else:
            raise ValueError(f"unknown column index {kind!r}")
        idx = torch.tensor(cols, dtype=torch.long, device=device)
        _COLUMN_INDICES[key] = idx
    return idx


def _column_sign(width: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``+1`` on the left half, ``-1`` on the right half, ``0`` in the centre of odd widths."""
    key = ("sign", width, dtype, device)
    sign = _COLUMN_INDICES.get(key)
    if sign is None:
        sign = torch.tensor([(j < width - 1 - j) - (j > width - 1 - j) for j in range(width)],
                            dtype=dtype, device=device)
        _COLUMN_INDICES[key] = sign
    return sign


def mirror_mse(x: Tensor) -> Tensor:
    """Per-image mean squared difference between an image and its mirror.

    ``mse(x) = mean_{c,h,w} (x - M(x))^2`` for ``x`` of shape ``(N, C, H, W)``; returns ``(N,)``.
    Zero exactly when the image is left-right symmetric (paper Supplementary Fig. 7).
    """
    if x.dim() < 2:
        raise ValueError(f"mirror_mse expects images of shape (N, C, H, W), got {tuple(x.shape)}")
    return (x - mirror(x)).pow(2).flatten(1).mean(1)


def is_symmetric(x: Tensor, atol: float = 1e-6) -> bool:
    """True when ``max |x - M(x)| <= atol``."""
    return bool((x - mirror(x)).abs().max() <= atol)


@dataclass(frozen=True)
class EquivarianceReport:
    """Result of an equivariance (or invariance) check.

    ``max_abs_error = max |f(g x) - g' f(x)|`` over all trials and entries;
    ``max_rel_error`` divides by ``1 + max |f(x)|`` of that trial;
    ``passed`` is ``max_abs_error <= atol + rtol * scale``.
    """

    max_abs_error: float
    max_rel_error: float
    output_scale: float
    atol: float
    rtol: float
    trials: int

    @property
    def passed(self) -> bool:
        return self.max_abs_error <= self.atol + self.rtol * self.output_scale

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}: max |f(g x) - g f(x)| = {self.max_abs_error:.3e} "
            f"(relative {self.max_rel_error:.3e}, output scale {self.output_scale:.3e}, "
            f"{self.trials} trials, atol={self.atol:g}, rtol={self.rtol:g})"
        )


def _identity(x: Tensor) -> Tensor:
    return x


def check_equivariance(
    module: nn.Module | Callable[[Tensor], Tensor],
    inputs: Tensor | Callable[[], Tensor],
    *,
    input_action: Callable[[Tensor], Tensor] = mirror,
    output_action: Callable[[Tensor], Tensor] = mirror,
    trials: int = 1,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    raise_on_fail: bool = False,
) -> EquivarianceReport:
    """Measure ``max |f(a(x)) - b(f(x))|`` for a module ``f`` and actions ``a``, ``b``.

    By default both actions are :func:`mirror`, i.e. it checks ``f(M x) == M f(x)``. For a
    generator pass ``input_action=G.mirror_latent``; for an invariant map (a discriminator) use
    :func:`check_invariance`. ``inputs`` is a tensor, or a callable returning a fresh tensor per
    trial. Both evaluations run in the module's current mode (train-mode BatchNorm uses batch
    statistics, which are the same for a batch and its mirror, so train mode is exact too).

    Returns an :class:`EquivarianceReport`; raises ``AssertionError`` on failure when
    ``raise_on_fail``. Chapter: ``book/02_symmetric_kernels``.
    """
    max_abs, max_rel, scale = 0.0, 0.0, 0.0
    for _ in range(trials):
        x = inputs() if callable(inputs) and not isinstance(inputs, Tensor) else inputs
        with torch.no_grad():
            y = module(x)
            y_g = module(input_action(x))
        err = (y_g - output_action(y)).abs().max().item()
        s = y.abs().max().item()
        max_abs = max(max_abs, err)
        max_rel = max(max_rel, err / (1.0 + s))
        scale = max(scale, s)
    report = EquivarianceReport(max_abs, max_rel, scale, atol, rtol, trials)
    if raise_on_fail and not report.passed:
        raise AssertionError(str(report))
    return report


def check_invariance(
    module: nn.Module | Callable[[Tensor], Tensor],
    inputs: Tensor | Callable[[], Tensor],
    **options: Any,
) -> EquivarianceReport:
    """Measure ``max |f(M x) - f(x)|``: :func:`check_equivariance` with an identity output action.

    ``options``: the keyword options of :func:`check_equivariance` (``input_action``, ``trials``,
    ``atol``, ``rtol``, ``raise_on_fail``), with its defaults, which thus live in one place.

    Chapter: ``book/05_symmetric_discriminator``.
    """
    if "output_action" in options:
        raise TypeError("check_invariance compares f(M x) with f(x) itself; pass another "
                        "output_action to check_equivariance instead")
    return check_equivariance(module, inputs, output_action=_identity, **options)
