"""The latent explorer (book chapter 9) without a browser: rendering, the widget, the fallback."""

from __future__ import annotations

import time

import pytest
import torch

from symgan import mirror
from symgan.widgets import (
    LatentExplorer,
    default_generators,
    explorer_widget,
    static_explorer_figure,
)


@pytest.fixture(scope="module")
def explorer() -> LatentExplorer:
    return LatentExplorer(default_generators(img_size=16, width=8, n_calibrate=64))


ZP = [0.5, -0.3, 0.8, 0.1, -0.6]


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_symmetric_archs_are_exact_for_every_setting(explorer, arch):
    for t in (1.0, 0.3, -0.7):
        out = explorer.render(arch, ZP, t, seed=3)
        assert out["image"].shape == (3, 16, 16)
        assert float(out["error"]) < 1e-5
    x0 = explorer.render(arch, ZP, 0.0, seed=3)["image"]
    assert (x0 - mirror(x0)).abs().max() < 1e-5  # t = 0: symmetric image


def test_dcgan_control_is_not_exact(explorer):
    assert float(explorer.render("dcgan", ZP, 0.5, seed=3)["error"]) > 1e-3


def test_latents_follow_the_encodings(explorer):
    z1 = explorer.latent("zprime", ZP, 0.5, seed=1)
    assert torch.allclose(z1[0, :5], 0.5 * torch.tensor(ZP))
    zf = explorer.latent("flip", ZP, 0.0, seed=1)
    assert torch.allclose(zf, zf.flip(-1))
    with pytest.raises(ValueError):
        explorer.latent("zprime", ZP[:3], 1.0, seed=1)


def test_render_png_is_fast_and_valid(explorer):
    png, err = explorer.render_png("zprime", ZP, 0.5, seed=0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and err < 1e-5
    t0 = time.perf_counter()
    for _ in range(5):
        explorer.render_png("zprime", ZP, 0.5, seed=0)
    assert (time.perf_counter() - t0) / 5 < 1.0  # generous: a shared, loaded CPU


def test_widget_updates_the_image_when_a_slider_moves(explorer):
    errors = []
    w = explorer_widget(explorer, seed=2, t=1.0, on_render=errors.append)
    controls, view = w.children[0].children
    image = view.children[0]
    before = image.value
    t_slider = [c for c in controls.children if getattr(c, "description", "") == "t"][0]
    t_slider.value = 0.0
    assert image.value != before and len(errors) == 2 and errors[-1] < 1e-5


def test_static_fallback_figure(explorer):
    import matplotlib

    matplotlib.use("Agg")
    fig = static_explorer_figure(explorer, seed=0)
    assert len(fig.axes) == (len(explorer.archs) + explorer.n_anti) * 5
    assert fig._suptitle is not None
