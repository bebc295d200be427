"""Symmetric kernels and layers: exactness, parameter counts, refusal of bad geometry, export."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from symgan import (
    SymConv2d,
    SymConvTranspose2d,
    antisymmetric_kernel,
    check_equivariance,
    conv_is_exact,
    exact_widths,
    export,
    mirror,
    symmetric_kernel,
)


def test_symmetric_and_antisymmetric_kernels() -> None:
    for k in range(1, 8):
        half = torch.randn(3, 2, k, (k + 1) // 2)
        w = symmetric_kernel(half, k)
        assert w.shape[-1] == k
        assert torch.equal(w, w.flip(-1))
        assert torch.equal(w[..., : (k + 1) // 2], half)
        if k >= 2:
            ha = torch.randn(3, 2, k, k // 2)
            a = antisymmetric_kernel(ha, k)
            assert torch.equal(a, -a.flip(-1))
            if k % 2:
                assert torch.count_nonzero(a[..., k // 2]) == 0
    with pytest.raises(ValueError, match="3 free columns"):
        symmetric_kernel(torch.randn(2, 2), 5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_gather_paths_equal_cat_and_flip_bitwise(dtype: torch.dtype) -> None:
    """Kernels and fold are built with index_select (and a sign for antisymmetric kernels); they
    must give exactly what cat/flip give, gradients included."""
    from symgan.symmetry import fold, mirror

    g = torch.Generator().manual_seed(0)
    for k in range(1, 9):
        half = (torch.randn(3, 2, k, (k + 1) // 2, generator=g) * 1e3).to(dtype).requires_grad_()
        w = symmetric_kernel(half, k)
        ref = torch.cat([half, half[..., : k // 2].flip(-1)], -1)
        assert torch.equal(w, ref)
        gw = torch.randn(w.shape, generator=g).to(dtype)
        (grad,) = torch.autograd.grad(w, half, gw)
        (grad_ref,) = torch.autograd.grad(ref, half, gw)
        assert torch.allclose(grad.double(), grad_ref.double(), rtol=0, atol=0)
        ah = half.detach()[..., : k // 2].clone().requires_grad_()
        anti = antisymmetric_kernel(ah, k)
        parts = [ah] + ([torch.zeros(3, 2, k, 1, dtype=dtype)] if k % 2 else [])
        ref = torch.cat(parts + [-ah.flip(-1)], -1)
        assert torch.equal(anti, ref)
        if k > 1:
            (grad,) = torch.autograd.grad(anti, ah, gw)
            (grad_ref,) = torch.autograd.grad(ref, ah, gw)
            assert torch.equal(grad, grad_ref)
    for w in range(1, 21):
        x = (torch.randn(2, 3, 4, w, generator=g) * 1e3).to(dtype)
        assert torch.equal(mirror(x), x.flip(-1))
        assert torch.equal(fold(x), (x + x.flip(-1))[..., : (w + 1) // 2])
        assert torch.equal(fold(mirror(x)), fold(x))


@pytest.mark.parametrize(("k", "free"), [(5, 15), (4, 8), (3, 6), (1, 1)])
def test_parameter_counts(k: int, free: int) -> None:
    conv = SymConv2d(3, 7, k, padding=k // 2)
    assert conv.weight_half.numel() == 3 * 7 * free
    assert conv.weight.shape == (7, 3, k, k)
    convt = SymConvTranspose2d(3, 7, k)
    assert convt.weight_half.numel() == 3 * 7 * free
    assert sum(p.numel() for p in conv.parameters()) == 3 * 7 * free + 7


def test_weight_is_rebuilt_from_half_and_gradients_tie_mirrored_entries() -> None:
    conv = SymConv2d(2, 3, 5, padding=2)
    x = torch.randn(4, 2, 10, 10)
    conv(x).square().sum().backward()
    assert conv.weight_half.grad is not None
    assert conv.weight_half.grad.shape == (3, 2, 5, 3)
    assert "weight_half" in conv.state_dict() and "weight" not in conv.state_dict()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("width", [8, 16, 32, 64])
def test_dcgan_layer_geometry_is_exact(seed: int, width: int) -> None:
    torch.manual_seed(seed)
    down = SymConv2d(3, 8, 4, 2, 1)
    up = SymConvTranspose2d(3, 8, 4, 2, 1)
    x = torch.randn(2, 3, width, width)
    for layer in (down, up):
        r = check_equivariance(layer, x)
        assert r.passed, r
        r64 = check_equivariance(layer.double(), x.double(), atol=1e-12, rtol=1e-12)
        assert r64.passed, r64


@settings(max_examples=60, deadline=None, derandomize=True)
@given(w=st.integers(2, 130), seed=st.integers(0, 10_000))
def test_paper_geometry_is_exact_at_odd_widths_and_refused_at_even_ones(w: int, seed: int) -> None:
    """5x5, stride 2, padding 2: the conv is exact iff W is odd (W -> (W + 1) / 2); the transposed
    conv with output_padding 0 is exact at every W (W -> 2W - 1, odd)."""
    torch.manual_seed(seed)
    down = SymConv2d(2, 3, 5, 2, 2, dtype=torch.float64)
    up = SymConvTranspose2d(2, 3, 5, 2, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 5, w, dtype=torch.float64)
    r = check_equivariance(up, x, atol=1e-12, rtol=1e-12)
    assert r.passed and up(x).shape[-1] == 2 * w - 1, r
    if w % 2:
        r = check_equivariance(down, x, atol=1e-12, rtol=1e-12)
        assert r.passed and down(x).shape[-1] == (w + 1) // 2, r
    else:
        with pytest.raises(ValueError, match=r"widths that work: \[1, 3, 5"):
            down(x)
        y = F.conv2d(x, down.weight, None, 2, 2)
        assert (F.conv2d(mirror(x), down.weight, None, 2, 2) - mirror(y)).abs().max() > 1e-6


def test_refuses_odd_width_for_stride_two() -> None:
    conv = SymConv2d(3, 4, 4, 2, 1)
    with pytest.raises(ValueError, match=r"widths that work: \[2, 4, 6"):
        conv(torch.randn(1, 3, 8, 9))


def test_refuses_output_padding_and_even_same_padding() -> None:
    with pytest.raises(ValueError, match="output_padding"):
        SymConvTranspose2d(3, 4, 5, 2, 2, output_padding=1)
    with pytest.raises(ValueError, match="odd kernel width"):
        SymConv2d(3, 4, 4, padding="same")
    conv = SymConvTranspose2d(3, 4, 4, 2, 1)
    with pytest.raises(ValueError, match="exact output width is 16"):
        conv(torch.randn(1, 3, 8, 8), output_size=[17, 17])
    # height is free: output_padding in height does not touch the mirror.
    SymConvTranspose2d(3, 4, 5, 2, 2, output_padding=(1, 0))


def test_five_by_five_stride_two_is_far_from_exact_which_is_why_it_is_refused() -> None:
    """The TF 'SAME' up-sampling of the public implementation: error of the order of the signal."""
    w = symmetric_kernel(torch.randn(3, 4, 5, 3), 5)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    w = w.double()
    y = F.conv_transpose2d(x, w, stride=2, padding=2, output_padding=1)
    y_m = F.conv_transpose2d(mirror(x), w, stride=2, padding=2, output_padding=1)
    assert (y_m - mirror(y)).abs().max() > 0.1 * y.abs().max()


def test_channel_and_rank_errors_name_the_expected_shape() -> None:
    conv = SymConv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match="expected 3 input channels"):
        conv(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv(torch.randn(8, 8))


@pytest.mark.parametrize("k", [3, 4, 5])
def test_export_gives_identical_outputs(k: int) -> None:
    conv = SymConv2d(3, 5, k, stride=1, padding=k // 2, padding_mode="reflect")
    convt = SymConvTranspose2d(3, 5, k, stride=2, padding=1)
    x = torch.randn(2, 3, 12, 12)
    for layer in (conv, convt):
        plain = layer.export()
        assert type(plain) in (nn.Conv2d, nn.ConvTranspose2d)
        assert torch.equal(plain(x), layer(x))
    model = nn.Sequential(
        SymConv2d(3, 5, 3, padding=1), nn.ReLU(), nn.Sequential(SymConv2d(5, 2, 4, 2, 1))
    )
    plain_model = export(model)
    assert not any(isinstance(m, SymConv2d | SymConvTranspose2d) for m in plain_model.modules())
    assert torch.equal(plain_model(x), model(x))
    assert any(isinstance(m, SymConv2d) for m in model.modules())  # the original is untouched


def test_eval_kernel_cache_follows_parameter_updates() -> None:
    conv = SymConv2d(2, 2, 3, padding=1).eval()
    x = torch.randn(1, 2, 6, 6)
    with torch.no_grad():
        k1 = conv.kernel()
        assert conv.kernel() is k1  # reused while nothing changes
        y1 = conv(x)
        conv.weight_half.add_(1.0)  # an in-place update (as an optimiser does)
        y2 = conv(x)
    assert conv.kernel() is not k1
    assert torch.equal(y2, F.conv2d(x, conv.weight.detach(), conv.bias.detach(), padding=1))
    assert not torch.equal(y1, y2)
    # with autograd on, the kernel is always rebuilt (gradients must flow)
    assert conv.kernel().requires_grad


def test_exact_widths_helper() -> None:
    assert exact_widths(4, 2, 1, count=4) == [2, 4, 6, 8]
    assert conv_is_exact(7, 5, 1, 2)
    assert not conv_is_exact(7, 4, 2, 1)


# --- property-based: every accepted geometry is exact, every refused one would not have been ----

_geom = dict(
    cin=st.integers(1, 3),
    cout=st.integers(1, 3),
    k=st.integers(1, 6),
    s=st.integers(1, 3),
    p=st.integers(0, 3),
    d=st.integers(1, 2),
    w=st.integers(1, 16),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(**_geom)
def test_conv_accepts_exactly_the_exact_geometries(cin, cout, k, s, p, d, w, mode) -> None:
    h = d * (k - 1) + 2
    if mode in ("reflect", "circular"):
        assume(p < min(h, w))
    torch.manual_seed(k * 1000 + s * 100 + p * 10 + w)
    layer = SymConv2d(cin, cout, k, s, p, d, padding_mode=mode, dtype=torch.float64)
    x = torch.randn(2, cin, h, w, dtype=torch.float64)
    if conv_is_exact(w, k, s, p, d):
        r = check_equivariance(layer, x, atol=1e-12, rtol=1e-12)
        assert r.passed, r
    else:
        with pytest.raises(ValueError, match="widths that work"):
            layer(x)
        if mode in ("replicate", "reflect"):
            # These paddings copy input columns, so a window shifted into the padding can see the
            # same values (replicate k=1, s=2, p=1, w=2; reflect k=2, s=2, p=1, w=3): the rule is
            # conservative there. For zero and circular padding the refusal is always justified.
            return
        # ... and the refusal is justified: the same kernel in a plain conv is not exact.
        xp = F.pad(x, (p, p, p, p), mode="constant" if mode == "zeros" else mode)
        try:
            y = F.conv2d(xp, layer.weight, layer.bias, s, 0, d)
            y_m = F.conv2d(F.pad(mirror(x), (p, p, p, p), mode="constant" if mode == "zeros" else mode),
                           layer.weight, layer.bias, s, 0, d)
        except RuntimeError:
            return  # the plain layer cannot even run this geometry
        # Degenerate geometries can be exact by accident: a 1-column input is its own mirror, a
        # 1-column output too (k=2, s=2, p=1, w=1), or every window sees only zero padding.
        y0 = F.conv2d(F.pad(torch.zeros_like(x), (p, p, p, p)), layer.weight, layer.bias, s, 0, d)
        degenerate = w == 1 or y.shape[-1] == 1 or (mode == "zeros" and torch.equal(y, y0))
        assert degenerate or (y_m - mirror(y)).abs().max() > 1e-6


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 6), s=st.integers(1, 3),
    p=st.integers(0, 2), d=st.integers(1, 2), w=st.integers(1, 10), op=st.integers(0, 2),
)
def test_transposed_conv_accepts_exactly_the_exact_geometries(cin, cout, k, s, p, d, w, op) -> None:
    assume(op < max(s, d))
    out_w = (w - 1) * s - 2 * p + d * (k - 1) + 1 + op
    assume(out_w >= 1 and (w - 1) * s - 2 * p + d * (k - 1) + 1 >= 1)
    torch.manual_seed(k * 1000 + s * 100 + p * 10 + w)
    x = torch.randn(2, cin, 2 * p + 2, w, dtype=torch.float64)
    if op == 0:
        layer = SymConvTranspose2d(cin, cout, k, s, p, 0, dilation=d, dtype=torch.float64)
        r = check_equivariance(layer, x, atol=1e-12, rtol=1e-12)
        assert r.passed, r
    else:
        with pytest.raises(ValueError, match="output_padding"):
            SymConvTranspose2d(cin, cout, k, s, p, (0, op), dilation=d)
        wgt = symmetric_kernel(torch.randn(cin, cout, k, (k + 1) // 2, dtype=torch.float64), k)
        try:
            y = F.conv_transpose2d(x, wgt, None, s, p, (0, op), 1, d)
            y_m = F.conv_transpose2d(mirror(x), wgt, None, s, p, (0, op), 1, d)
        except RuntimeError:
            return  # the plain layer cannot run this geometry either
        assert w == 1 or y.shape[-1] == 1 or (y_m - mirror(y)).abs().max() > 1e-6  # 1 column: degenerate
