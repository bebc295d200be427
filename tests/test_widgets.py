"""The latent explorer (book chapter 9) without a browser: rendering, the widget, the fallback."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from symgan import mirror
from symgan.widgets import (
    LatentExplorer,
    asymmetry_rgb,
    default_generators,
    explorer_widget,
    static_explorer_figure,
)

SIZE = 17  # the smoke scale's size (the paper's geometry)


@pytest.fixture(scope="module")
def explorer() -> LatentExplorer:
    return LatentExplorer(default_generators(img_size=SIZE, width=8, n_calibrate=64))


ZP = [0.5, -0.3, 0.8, 0.1, -0.6]


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_symmetric_archs_are_exact_for_every_setting(explorer, arch):
    for t in (1.0, 0.3, -0.7):
        out = explorer.render(arch, ZP, t, seed=3)
        assert out["image"].shape == (3, SIZE, SIZE)
        assert float(out["error"]) < 1e-5
    x0 = explorer.render(arch, ZP, 0.0, seed=3)["image"]
    assert (x0 - mirror(x0)).abs().max() < 1e-5  # t = 0: symmetric image


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_asymmetry_map_of_symmetric_archs(explorer, arch):
    at0 = explorer.render(arch, ZP, 0.0, seed=3)
    assert at0["asymmetry"].shape == (SIZE, SIZE)
    assert float(at0["asymmetry"].max()) < 1e-5 and float(at0["mirror_mse"]) < 1e-10
    plus, minus = (explorer.render(arch, ZP, t, seed=3) for t in (0.6, -0.6))
    # the map at -t is the mirror of the map at t, and it is not all black away from t = 0
    assert torch.allclose(minus["asymmetry"], plus["asymmetry"].flip(-1), atol=1e-5)
    assert float(plus["mirror_mse"]) > 1e-8
    assert torch.isclose(plus["mirror_mse"], minus["mirror_mse"], rtol=1e-4)


def test_dcgan_control_is_not_exact(explorer):
    assert float(explorer.render("dcgan", ZP, 0.5, seed=3)["error"]) > 1e-3
    # no symmetric image at t = 0, and no mirror relation between the maps at t and -t
    assert float(explorer.render("dcgan", ZP, 0.0, seed=3)["asymmetry"].max()) > 1e-3
    plus, minus = (explorer.render("dcgan", ZP, t, seed=3)["asymmetry"] for t in (0.6, -0.6))
    assert (minus - plus.flip(-1)).abs().max() > 1e-3


def test_latents_follow_the_encodings(explorer):
    z1 = explorer.latent("zprime", ZP, 0.5, seed=1)
    assert torch.allclose(z1[0, :5], 0.5 * torch.tensor(ZP))
    zf = explorer.latent("flip", ZP, 0.0, seed=1)
    assert torch.allclose(zf, zf.flip(-1))
    with pytest.raises(ValueError):
        explorer.latent("zprime", ZP[:3], 1.0, seed=1)
    # a seed's own z' at t = 1 gives back the seed's latent, for every encoding
    for arch in ("zprime", "flip", "dcgan"):
        z = explorer.latent(arch, explorer.seed_zprime(7), 1.0, seed=7)
        assert torch.equal(z, explorer.seed_latent(7))
    assert not torch.equal(explorer.seed_latent(7), explorer.seed_latent(8))


def test_render_png_is_fast_and_valid(explorer):
    png, err = explorer.render_png("zprime", ZP, 0.5, seed=0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and err < 1e-5
    from io import BytesIO

    from PIL import Image

    w, h = Image.open(BytesIO(png)).size
    assert (w, h) == (4 * (2 * SIZE + 2), 4 * SIZE)  # image | 2-px gap | map, 4x
    t0 = time.perf_counter()
    for _ in range(5):
        explorer.render_png("zprime", ZP, 0.5, seed=0)
    assert (time.perf_counter() - t0) / 5 < 1.0  # generous: a shared, loaded CPU


def test_colour_scale_is_fixed_and_covers_the_maps(explorer):
    v = explorer.vmax
    assert v > 0 and explorer.vmax == v  # computed once
    for arch in explorer.archs:
        q = float(explorer.render(arch, ZP, 1.0, seed=0)["asymmetry"].quantile(0.5))
        assert q <= v


def test_asymmetry_colours():
    rgb = asymmetry_rgb(torch.tensor([[0.0, 0.25, 0.5, 2.0]]), vmax=0.5)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    brightness = rgb.astype(int).sum(-1)[0]
    assert brightness[0] < 10 and brightness[0] < brightness[1] < brightness[2]
    assert (rgb[0, 2] == rgb[0, 3]).all()  # clipped at vmax
    with pytest.raises(ValueError, match="vmax"):
        asymmetry_rgb(torch.zeros(2, 2), vmax=0)


def test_widget_updates_the_image_when_a_slider_moves(explorer):
    errors = []
    w = explorer_widget(explorer, seed=2, t=1.0, on_render=errors.append)
    controls, view = w.children[0].children
    image, info = view.children
    before = image.value
    assert "asymmetry" in info.value and "mirror-MSE" in info.value
    t_slider = [c for c in controls.children if getattr(c, "description", "") == "t"][0]
    t_slider.value = 0.0
    assert image.value != before and len(errors) == 2 and errors[-1] < 1e-5


def test_static_fallback_figure(explorer):
    import matplotlib

    matplotlib.use("Agg")
    fig = static_explorer_figure(explorer, seed=0, n_seeds=2)
    # an image row and a map row per arch, 5 columns each, then the two curves
    assert len(fig.axes) == 2 * len(explorer.archs) * 5 + 2
    assert fig._suptitle is not None
    curves = fig.axes[-2].get_lines()
    assert len(curves) == len(explorer.archs)
    with pytest.raises(ValueError, match="n_seeds"):
        static_explorer_figure(explorer, n_seeds=0)
