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


# torch.flip has a high fixed cost on CPU. For the narrow maps at the ends of the networks
# (4x4 in a DC-GAN) a product with a fixed 0/1 matrix is several times faster, and still exact:
# each output entry is one input entry (for fold, the sum of two) plus exact zeros, in any order.
_MATMUL_MAX_WIDTH = 16


def _use_matmul(x: Tensor) -> bool:
    return x.device.type == "cpu" and x.is_floating_point() and x.shape[-1] <= _MATMUL_MAX_WIDTH


def mirror(x: Tensor) -> Tensor:
    """Left-right mirror ``M(x)[..., j] = x[..., W-1-j]`` of a tensor of shape ``(..., W)``.

    (For floating-point CPU tensors of width <= 16 computed as ``x @ J`` with the reversal
    matrix ``J``: identical values, faster there; a non-finite entry then spreads to its row.)

    Chapter: ``book/02_symmetric_kernels``.
    """
    if _use_matmul(x):
        return x @ _column_matrix("mirror", x.shape[-1], x.dtype, x.device)
    return x.flip(-1)


def fold(h: Tensor) -> Tensor:
    """Symmetric folding of paper Fig. 4(d): ``fold(h) = (h + M(h))[..., :ceil(W/2)]``.

    Column ``j`` becomes ``h[..., j] + h[..., W-1-j]``; for odd ``W`` the centre column is
    doubled. ``fold(M(h)) == fold(h)`` exactly (the sum is commutative), so any function of the
    folded map is mirror invariant. Shape ``(..., W) -> (..., ceil(W/2))``.

    (For floating-point CPU tensors of width <= 16 computed as ``h @ F`` with a fixed 0/1
    matrix ``F``, centre entry 2: still exact, since each output is the rounded sum of the same
    two entries plus exact zeros in any order.)

    Chapter: ``book/05_symmetric_discriminator``.
    """
    w = h.shape[-1]
    if _use_matmul(h):
        return h @ _column_matrix("fold", w, h.dtype, h.device)
    return (h + mirror(h))[..., : (w + 1) // 2]


_COLUMN_MATRICES: dict[tuple, Tensor] = {}


def _column_matrix(kind: str, width: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Cached 0/+-1 matrices that act on the last axis by right multiplication.

    ``"mirror"``: ``(W, W)`` reversal; ``"fold"``: ``(W, ceil(W/2))``, column ``j`` picks entries
    ``j`` and ``W-1-j`` (the centre twice); ``"symmetric"`` / ``"antisymmetric"``: ``(free, K)``
    with ``width = K``, row ``j`` puts free column ``j`` at ``j`` and ``+-1`` times it at ``K-1-j``
    (used by :func:`symgan.layers.symmetric_kernel` and :func:`~symgan.layers.antisymmetric_kernel`).
    """
    key = (kind, width, dtype, device)
    m = _COLUMN_MATRICES.get(key)
    if m is None:
        half = (width + 1) // 2
        if kind == "mirror":
            m = torch.eye(width, dtype=torch.float64).flip(0)
        elif kind == "fold":
            m = torch.zeros(width, half, dtype=torch.float64)
            for j in range(half):
                m[j, j] += 1.0
                m[width - 1 - j, j] += 1.0
        elif kind in ("symmetric", "antisymmetric"):
            sign = 1.0 if kind == "symmetric" else -1.0
            free = half if kind == "symmetric" else width // 2
            m = torch.zeros(free, width, dtype=torch.float64)
            for j in range(free):
                m[j, width - 1 - j] = sign
                m[j, j] = 1.0  # the centre column of an odd symmetric kernel keeps its 1
        else:
            raise ValueError(f"unknown column matrix {kind!r}")
        m = m.to(dtype=dtype, device=device)
        _COLUMN_MATRICES[key] = m
    return m


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
    *,
    input_action: Callable[[Tensor], Tensor] = mirror,
    trials: int = 1,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    raise_on_fail: bool = False,
) -> EquivarianceReport:
    """Measure ``max |f(M x) - f(x)|``: :func:`check_equivariance` with an identity output action.

    Chapter: ``book/05_symmetric_discriminator``.
    """
    return check_equivariance(
        module,
        inputs,
        input_action=input_action,
        output_action=_identity,
        trials=trials,
        atol=atol,
        rtol=rtol,
        raise_on_fail=raise_on_fail,
    )
