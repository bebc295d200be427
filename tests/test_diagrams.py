"""The architecture diagrams draw shapes measured on the package's own models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from symgan import Discriminator, Generator  # noqa: E402
from symgan.diagrams import (  # noqa: E402
    architecture_figure,
    draw_discriminator,
    draw_generator,
    layer_shapes,
)


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_layer_shapes_are_the_papers_at_65_px_width_64():
    g = layer_shapes(Generator("zprime", img_size=65, width=64))
    assert [s for _, s in g] == [(512, 5, 5), (256, 9, 9), (128, 17, 17), (64, 33, 33), (3, 65, 65)]
    d = layer_shapes(Discriminator(True, img_size=65, width=64))
    assert d[0] == ("image", (3, 65, 65)) and d[-1][1] == (512, 5, 5)


def test_diagrams_show_the_papers_numbers():
    fig = architecture_figure()
    text = _texts(fig)
    for number in ("5,120", "7,680", "12,800", "3\u00d765\u00d765", "512\u00d75\u00d73",
                   "a b 0 \u2212b \u2212a", "a b c b a"):
        assert number in text, number
    plt.close(fig)


def test_diagrams_follow_the_geometry_and_keep_the_mode():
    G = Generator("flip", img_size=16, width=8).train()
    fig = draw_generator(G)
    assert "3\u00d716\u00d716" in _texts(fig) and "s \u2192 2s)" in _texts(fig)
    assert G.training
    plt.close(fig)
    fig = draw_discriminator(Discriminator(True, img_size=17, width=8))
    assert "16\u00d75\u00d73\n= 240" in _texts(fig)  # 17 -> 9 -> 5, widths 8, 16
    plt.close(fig)


def test_diagrams_refuse_models_without_the_structure():
    with pytest.raises(ValueError, match="zprime"):
        draw_generator(Generator("dcgan", img_size=17, width=8))
    with pytest.raises(ValueError, match="symmetric=True"):
        draw_discriminator(Discriminator(False, img_size=17, width=8))
    with pytest.raises(TypeError, match="Generator or Discriminator"):
        layer_shapes(plt)  # type: ignore[arg-type]
