"""The measurements: shapes, exact zeros where the architecture guarantees them, and the controls."""

from __future__ import annotations

import math

import pytest
import torch

from symgan.discriminators import Discriminator
from symgan.generators import Generator
from symgan.metrics import (
    averaged_series,
    data_mirror_mse,
    evaluate_models,
    fixed_latents,
    mirror_mse_curves,
    series_images,
    series_mirror_mse,
    spearman,
    yaw_along_series,
)
from symgan.plots import plot_mirror_mse_curves, plot_overfitting
from symgan.studies.discriminator import discriminator_overfitting
from symgan.studies.yaw import YawRegressor
from symgan.symmetry import mirror


def _G(arch: str) -> Generator:
    G = Generator(arch, img_size=16, width=8)
    G.train()
    with torch.no_grad():  # settle BatchNorm running statistics so eval mode is meaningful
        for _ in range(3):
            G(G.sample_latent(32))
    return G.eval()


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_middle_image_exactly_symmetric(arch: str) -> None:
    G = _G(arch)
    z = fixed_latents(16)
    c64 = series_mirror_mse(G, z, 9, dtype=torch.float64)
    c32 = series_mirror_mse(G, z, 9)
    assert c64.shape == (9,) and c64[4] <= 1e-20 and c32[4] <= 1e-12
    assert c64[0] > 1e-9 and torch.allclose(c64, c64.flip(0), rtol=1e-6)  # t and -t mirror
    s = series_images(G, z[:3])
    assert s.shape == (3, 9, 3, 16, 16)
    avg = averaged_series(s)
    assert avg.shape == s.shape and (avg - mirror(avg.flip(1))).abs().max() < 1e-5


def test_dcgan_control_has_no_drop() -> None:
    c = series_mirror_mse(_G("dcgan"), fixed_latents(16), 9)
    assert c[4] > 0.1 * c[0]


def test_curves_plot_and_data_reference() -> None:
    curves = mirror_mse_curves({"zprime": _G("zprime"), "dcgan": _G("dcgan")}, n_z=4)
    assert set(curves) == {"zprime", "dcgan"} and len(curves["dcgan"]) == 9
    x = torch.rand(10, 3, 16, 16) * 2 - 1
    ref = data_mirror_mse(x)
    assert ref == pytest.approx(float(((x.double() - x.double().flip(-1)) ** 2).mean()), rel=1e-6)
    assert data_mirror_mse((x + mirror(x)) / 2) < 1e-12
    u8 = ((x + 1) * 127.5).round().to(torch.uint8)  # uint8 input is read as x / 127.5 - 1
    assert data_mirror_mse(u8) == data_mirror_mse(u8.float() / 127.5 - 1)
    ax = plot_mirror_mse_curves(curves, real=ref)
    assert len(ax.get_lines()) == 3


def test_discriminator_overfitting() -> None:
    x = (torch.rand(12, 16, 16, 3) * 255).to(torch.uint8).permute(0, 3, 1, 2)
    Ds = {"plain": Discriminator(False, 16, 3, 8).eval(), "symmetric": Discriminator(True, 16, 3, 8).eval()}
    r = discriminator_overfitting(Ds, x)
    assert len(r["plain"]["p_real"]) == 12
    assert r["symmetric"]["max_abs_gap"] < 1e-6 < r["plain"]["max_abs_gap"]
    assert len(plot_overfitting(r)) == 2


def test_spearman() -> None:
    t = torch.linspace(1, -1, 9)
    assert spearman(t * 3, t) == pytest.approx(1.0)
    assert spearman(-t.pow(3), t) == pytest.approx(-1.0)
    assert spearman(torch.ones(9), t) == 0
    assert spearman(torch.stack([t, -t]), t).tolist() == pytest.approx([1.0, -1.0])


@pytest.mark.parametrize("levels", [3, 6, 1000])  # many ties, some, almost none
def test_spearman_matches_scipy_with_ties(levels: int) -> None:
    """Average ranks for ties, as scipy.stats.spearmanr; rows are independent series against
    one shared ``y``. Where scipy returns NaN (a constant row) the package returns 0."""
    from scipy.stats import spearmanr

    g = torch.Generator().manual_seed(levels)
    x = torch.randint(0, levels, (40, 9), generator=g).double()
    y = torch.randint(0, levels, (9,), generator=g).double()
    x[0] = 2.0  # a constant row
    ours = spearman(x, y)
    assert ours.shape == (40,) and ours[0] == 0
    ref = [spearmanr(row.numpy(), y.numpy()).statistic for row in x[1:]]
    assert ours[1:].tolist() == pytest.approx(ref, abs=1e-12)
    assert float(spearman(x[1], y)) == pytest.approx(ref[0], abs=1e-12)  # 1-d input too


def test_yaw_and_summary() -> None:
    reg = YawRegressor(16, 3).eval()  # untrained: shapes and the exact zero at t = 0 only
    G = _G("flip")
    y = yaw_along_series(G, fixed_latents(4), regressor=reg)
    assert torch.tensor(y["yaw"]).shape == (4, 9) and y["abs_yaw_t0"] < 1e-4
    ends = torch.tensor(y["yaw"])[:, [0, -1]]
    swings = (ends[:, 0] - ends[:, 1]).abs() / 2
    assert y["swings"] == pytest.approx(swings.tolist())
    assert y["swing"] == pytest.approx(float(swings.mean()))
    assert y["swing_se"] == pytest.approx(float(swings.std() / 2))  # sqrt(4 latents)
    one = yaw_along_series(G, fixed_latents(1), regressor=reg)
    assert math.isnan(one["swing_se"]) and one["yaw"][0] == y["yaw"][0]  # the same first latent
    data = (torch.rand(20, 3, 16, 16) * 255).to(torch.uint8)
    s = evaluate_models(G, Discriminator(True, 16, 3, 8), data=data, n_z=4, yaw=False)
    assert s["middle_mirror_mse"] < 1e-20 and s["d_mirror_gap"] < 1e-6
    assert s["data_mirror_mse"] == data_mirror_mse(data)
    assert s["ends_over_data"] == pytest.approx(s["ends_mirror_mse"] / s["data_mirror_mse"])
    assert s["ends_mirror_mse"] == pytest.approx((s["series_mirror_mse"][0] + s["series_mirror_mse"][-1]) / 2)
