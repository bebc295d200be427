"""Mirror-symmetric convolution kernels and the layers built from them (paper Fig. 4).

A kernel is *symmetric* when ``W[..., j] == W[..., K-1-j]`` and *antisymmetric* when
``W[..., j] == -W[..., K-1-j]`` (odd ``K``: centre column zero). Only the first ``ceil(K/2)``
columns of a symmetric kernel are free, so a 5x5 kernel has 15 parameters and a 4x4 one has 8.
The layers below store exactly those columns (``weight_half``) and build the full kernel in
``forward``, so symmetry holds at every step of training, not just at initialisation.

Why this gives equivariance: with ``M`` the left-right mirror, ``conv(M x, W) == M conv(x, W)``
for a symmetric ``W`` **iff** the padding is symmetric and the sliding windows tile the padded
input exactly, ``(W_in + 2p - K_eff) % stride == 0`` (``K_eff = dilation * (K - 1) + 1``).
Otherwise the last ``r`` input columns are never visited and the mirrored output is shifted.
A transposed convolution is the adjoint of a convolution and is exact iff ``output_padding``
(in width) is zero. The layers *refuse* geometries that would silently break this.

Chapter: ``book/02_symmetric_kernels``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import check_int
from .symmetry import _column_index, _column_sign

__all__ = [
    "symmetric_kernel",
    "antisymmetric_kernel",
    "conv_is_exact",
    "exact_widths",
    "SymConv2d",
    "SymConvTranspose2d",
    "export",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_free(half: Tensor, kernel_width: int, free: int, what: str) -> None:
    if half.shape[-1] != free:
        raise ValueError(
            f"{what} kernel of width {kernel_width} has {free} free columns, "
            f"got a tensor with {half.shape[-1]}"
        )


def symmetric_kernel(half: Tensor, kernel_width: int) -> Tensor:
    """Build a mirror-symmetric kernel from its first ``ceil(K/2)`` columns.

    ``half``: ``(..., ceil(K/2))`` -> ``(..., K)`` with ``W[..., j] = W[..., K-1-j]``.
    E.g. columns ``[a, b]`` give ``[a, b, b, a]`` (K=4) and ``[a, b, c]`` give ``[a, b, c, b, a]``.
    One ``index_select`` (a gather: every entry is a copy of a free weight, so the symmetry is
    exact; its backward adds the gradients of the two copies).
    """
    free = (kernel_width + 1) // 2
    _check_free(half, kernel_width, free, "a symmetric")
    # A gather is cheaper than cat + flip, or than a product with a 0/1 matrix (whose inner
    # dimension of 2 or 3 wastes the matmul kernel): with it the z' generator at 33 px went from
    # 1.08 to 1.04 times the plain one's time (benchmarks/bench_geometry.py, one thread).
    return half.index_select(-1, _column_index("symmetric", kernel_width, half.device))


def antisymmetric_kernel(half: Tensor, kernel_width: int) -> Tensor:
    """Build a mirror-antisymmetric kernel from its first ``floor(K/2)`` columns.

    ``half``: ``(..., floor(K/2))`` -> ``(..., K)`` with ``W[..., j] = -W[..., K-1-j]``; for odd
    ``K`` the centre column is zero (it must equal its own negative). Paper Fig. 4(c).
    A gather then a product with the signs ``+1 ... 0 ... -1`` (exact: a sign change, or zero).
    """
    free = kernel_width // 2
    _check_free(half, kernel_width, free, "an antisymmetric")
    if free == 0:  # K = 1: the only column is the centre, which must be zero
        return half.new_zeros(*half.shape[:-1], kernel_width)
    idx = _column_index("antisymmetric", kernel_width, half.device)
    return half.index_select(-1, idx) * _column_sign(kernel_width, half.dtype, half.device)


def _pair(v: int | tuple[int, int], name: str, lo: int | None = None) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v)
    if isinstance(v, tuple | list) and len(v) == 2 and all(isinstance(i, int) for i in v):
        if lo is not None and min(v) < lo:
            raise ValueError(f"{name} must be >= {lo} (an int or a pair of ints), got {v!r}")
        return (int(v[0]), int(v[1]))
    raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")


def _check_channels(in_channels: int, out_channels: int, groups: int) -> None:
    """Positive integer channel counts and groups, the channels divisible by the groups."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        check_int(name, value, 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
            f"by groups ({groups})"
        )


def conv_is_exact(width: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> bool:
    """True when a convolution with a symmetric kernel commutes with the mirror at this width.

    Condition: ``width + 2*padding >= K_eff`` and ``(width + 2*padding - K_eff) % stride == 0``
    with ``K_eff = dilation * (kernel - 1) + 1``.
    """
    k_eff = dilation * (kernel - 1) + 1
    span = width + 2 * padding - k_eff
    return span >= 0 and span % stride == 0


def exact_widths(kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1, count: int = 6) -> list[int]:
    """The first ``count`` input widths for which :func:`conv_is_exact` holds."""
    out, w = [], 1
    while len(out) < count:
        if conv_is_exact(w, kernel, stride, padding, dilation):
            out.append(w)
        w += 1
    return out


class _SymKernelMixin:
    """Shared storage of the free columns and the cached full kernel."""

    weight_half: nn.Parameter
    kernel_size: tuple[int, int]

    def _store_arguments(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                         stride: int | tuple[int, int], dilation: int | tuple[int, int], groups: int,
                         padding_mode: str) -> None:
        """Check and store the arguments both layers share with their torch counterparts."""
        _check_channels(in_channels, out_channels, groups)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.dilation = _pair(dilation, "dilation", 1)
        self.padding_mode = padding_mode

    def _make_parameters(self, dim0: int, dim1: int, bias: bool, device: torch.device | str | None,
                         dtype: torch.dtype | None) -> None:
        """``weight_half`` of shape ``(dim0, dim1, kH, ceil(kW / 2))``, the optional bias of
        ``out_channels``, an empty kernel cache; then the initialisation of ``reset_parameters``."""
        kh, kw = self.kernel_size
        factory = {"device": device, "dtype": dtype}
        self.weight_half = nn.Parameter(torch.empty(dim0, dim1, kh, (kw + 1) // 2, **factory))
        self.bias = nn.Parameter(torch.empty(self.out_channels, **factory)) if bias else None
        self._kernel_cache: Tensor | None = None
        self._kernel_key: tuple | None = None
        self.reset_parameters()

    def _check_input(self, x: Tensor) -> None:
        """A clear error for an input that is not ``(N, C, H, W)`` / ``(C, H, W)`` with ``C``
        the layer's input channels."""
        if x.dim() not in (3, 4):
            raise ValueError(f"expected input of shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
        if x.shape[-3] != self.in_channels:
            raise ValueError(
                f"expected {self.in_channels} input channels, got input of shape {tuple(x.shape)}"
            )

    def _export_as(self, cls: type[nn.Module], **kwargs: Any) -> nn.Module:
        """A plain ``cls`` layer of the same shapes (``kwargs``: the arguments only ``cls`` takes)
        with the full kernel and the bias copied in."""
        conv = cls(
            self.in_channels, self.out_channels, self.kernel_size, stride=self.stride,
            padding=self.padding, dilation=self.dilation, groups=self.groups,
            bias=self.bias is not None, device=self.weight_half.device, dtype=self.weight_half.dtype,
            **kwargs,
        )
        with torch.no_grad():
            conv.weight.copy_(self.weight)
            if self.bias is not None:
                conv.bias.copy_(self.bias)
        return conv

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, padding={self.padding}")
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if getattr(self, "padding_mode", "zeros") != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s + ", symmetric"

    @property
    def weight(self) -> Tensor:
        """The full symmetric kernel, built from ``weight_half`` (differentiable)."""
        return symmetric_kernel(self.weight_half, self.kernel_size[1])

    def kernel(self) -> Tensor:
        """The full kernel; cached while no gradient is being recorded.

        Building the kernel is one gather: free in training next to the convolution,
        but pure waste at inference, so without autograd the kernel is reused until the parameter
        changes (tracked by its version counter, storage, dtype and device).
        """
        p = self.weight_half
        if torch.is_grad_enabled() and p.requires_grad:
            return self.weight
        key = (p._version, p.data_ptr(), p.dtype, p.device)
        if self._kernel_key != key or self._kernel_cache is None:
            with torch.no_grad():
                self._kernel_cache = self.weight.detach()
            self._kernel_key = key
        return self._kernel_cache

    def _reset_half(self, fan_in: int, bias: nn.Parameter | None) -> None:
        # Same distribution as nn.Conv2d's default (kaiming-uniform, a=sqrt(5)) per full-kernel entry.
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(self.weight_half, -bound, bound)
        if bias is not None:
            nn.init.uniform_(bias, -bound, bound)


class SymConv2d(_SymKernelMixin, nn.Module):
    r"""A 2D convolution whose kernels are left-right symmetric: ``conv(M x) == M conv(x)``.

    Same constructor as :class:`torch.nn.Conv2d`. Parameters: ``weight_half`` of shape
    ``(out_channels, in_channels // groups, kH, ceil(kW / 2))`` and optional ``bias``;
    ``weight`` is the full ``(out, in // groups, kH, kW)`` kernel built from it.

    Shapes: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)`` as for ``nn.Conv2d``.

    Raises ``ValueError`` for a geometry that would break exact mirror equivariance:
    ``padding='same'`` with an even kernel (PyTorch then pads asymmetrically), or, at call time,
    an input width with ``(W + 2p - K_eff) % stride != 0``; the message lists widths that work.
    (With ``padding_mode='replicate'`` or ``'reflect'`` a few refused geometries happen to be
    exact, because a window shifted into the padding sees copies of the same input columns; the
    rule stays conservative there. With zero or circular padding a refused geometry is never
    exact, except degenerate ones: 1-column inputs or outputs, windows that see only padding.)

    Chapter: ``book/02_symmetric_kernels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self._store_arguments(in_channels, out_channels, kernel_size, stride, dilation, groups, padding_mode)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.padding = self._resolve_padding(padding)
        self._make_parameters(out_channels, in_channels // groups, bias, device, dtype)

    def _resolve_padding(self, padding: int | tuple[int, int] | str) -> tuple[int, int]:
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if self.stride != (1, 1):
                raise ValueError("padding='same' needs stride 1 (as in nn.Conv2d)")
            keff = [d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size, strict=True)]
            if keff[1] % 2 == 0:
                raise ValueError(
                    f"padding='same' with an even effective kernel width ({keff[1]}) pads one side "
                    "more than the other, which breaks mirror equivariance; use an odd kernel width "
                    "or an explicit integer padding"
                )
            return ((keff[0] - 1) // 2, (keff[1] - 1) // 2)
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        p = _pair(padding, "padding")
        if min(p) < 0:
            raise ValueError(f"padding must be non-negative, got {padding!r}")
        return p

    def reset_parameters(self) -> None:
        kh, kw = self.kernel_size
        self._reset_half((self.in_channels // self.groups) * kh * kw, self.bias)

    def check_width(self, width: int) -> None:
        """Raise ``ValueError`` unless an input of this width keeps the layer exactly equivariant."""
        k, s, p, d = self.kernel_size[1], self.stride[1], self.padding[1], self.dilation[1]
        if not conv_is_exact(width, k, s, p, d):
            raise ValueError(
                f"{type(self).__name__}(kernel width {k}, stride {s}, padding {p}, dilation {d}) "
                f"cannot take input width {width} exactly: mirror equivariance needs "
                f"(W + 2*padding - dilation*(kernel-1) - 1) % stride == 0 and W + 2*padding >= "
                f"{d * (k - 1) + 1}; widths that work: {exact_widths(k, s, p, d)}..."
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        self.check_width(x.shape[-1])
        w = self.kernel()
        if self.padding_mode != "zeros":
            ph, pw = self.padding
            x = F.pad(x, (pw, pw, ph, ph), mode=self.padding_mode)
            return F.conv2d(x, w, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def export(self) -> nn.Conv2d:
        """A plain :class:`nn.Conv2d` with the full kernel copied in: identical outputs."""
        return self._export_as(nn.Conv2d, padding_mode=self.padding_mode)



class SymConvTranspose2d(_SymKernelMixin, nn.Module):
    r"""A transposed 2D convolution with left-right symmetric kernels.

    Same constructor as :class:`torch.nn.ConvTranspose2d`. Parameters: ``weight_half`` of shape
    ``(in_channels, out_channels // groups, kH, ceil(kW / 2))`` and optional ``bias``.

    Output width ``(W - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``.
    Input pixel ``i`` paints the window ``[i*s - p, i*s - p + K_eff - 1]``; mirroring ``i`` to
    ``W-1-i`` mirrors that window inside the output iff the width's ``output_padding`` is 0, so
    every input width is exact and a non-zero width ``output_padding`` is refused.

    Chapter: ``book/02_symmetric_kernels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self._store_arguments(in_channels, out_channels, kernel_size, stride, dilation, groups, padding_mode)
        if padding_mode != "zeros":
            raise ValueError("SymConvTranspose2d only supports padding_mode='zeros' (as nn.ConvTranspose2d)")
        self.padding = _pair(padding, "padding")
        self.output_padding = _pair(output_padding, "output_padding")
        if min(self.padding) < 0:
            raise ValueError(f"padding must be non-negative, got {padding!r}")
        if self.output_padding[1] != 0:
            raise ValueError(
                f"SymConvTranspose2d: output_padding {self.output_padding[1]} in width adds a column "
                "on the right only, which breaks mirror equivariance; use output_padding=0 (every "
                "input width is then exact; a 5x5 kernel with stride 2 and padding 2 maps W to "
                "2W - 1, the paper's geometry 5 -> 9 -> 17 -> 33 -> 65, see symgan.geometry)"
            )
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= max(s, d):
                raise ValueError("output_padding must be smaller than either stride or dilation")
        self._make_parameters(in_channels, out_channels // groups, bias, device, dtype)

    def reset_parameters(self) -> None:
        kh, kw = self.kernel_size
        # nn.ConvTranspose2d computes fan_in from weight dim 1 (out_channels // groups).
        self._reset_half((self.out_channels // self.groups) * kh * kw, self.bias)

    def output_width(self, width: int) -> int:
        k, s, p, d = self.kernel_size[1], self.stride[1], self.padding[1], self.dilation[1]
        return (width - 1) * s - 2 * p + d * (k - 1) + 1

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        self._check_input(x)
        out_w = self.output_width(x.shape[-1])
        if out_w < 1:
            raise ValueError(
                f"input width {x.shape[-1]} gives an empty output (padding {self.padding[1]} too large)"
            )
        op = self.output_padding
        if output_size is not None:
            want_w = int(output_size[-1])
            if want_w != out_w:
                raise ValueError(
                    f"output_size width {want_w} would need output_padding {want_w - out_w} in width, "
                    f"which breaks mirror equivariance; the exact output width is {out_w}"
                )
            kh, sh, ph, dh = self.kernel_size[0], self.stride[0], self.padding[0], self.dilation[0]
            base_h = (x.shape[-2] - 1) * sh - 2 * ph + dh * (kh - 1) + 1
            op = (int(output_size[-2]) - base_h, 0)
        return F.conv_transpose2d(
            x, self.kernel(), self.bias, self.stride, self.padding, op, self.groups, self.dilation
        )

    def export(self) -> nn.ConvTranspose2d:
        """A plain :class:`nn.ConvTranspose2d` with the full kernel copied in: identical outputs."""
        return self._export_as(nn.ConvTranspose2d, output_padding=self.output_padding)



def export(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with every symmetric layer replaced by its plain export.

    The copy computes the same function with stock ``nn.Conv2d`` / ``nn.ConvTranspose2d``
    layers (for ONNX, TorchScript or other tools that know nothing of symgan). The symmetry is
    then a property of the weights, no longer enforced by the parametrisation.
    """
    if isinstance(module, SymConv2d | SymConvTranspose2d):
        return module.export()
    out = copy.deepcopy(module)
    _replace_in_place(out)
    return out


def _replace_in_place(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, SymConv2d | SymConvTranspose2d):
            setattr(module, name, child.export())
        else:
            _replace_in_place(child)
