"""The geometry module, the scales at each geometry, and TrainConfig's geometry resolution."""

from __future__ import annotations

import pytest

from symgan.config import TrainConfig
from symgan.geometry import GEOMETRIES, get_geometry, image_sizes, infer_geometry, n_layers
from symgan.scales import SCALES, get_scale


def test_sizes_and_layer_counts() -> None:
    assert image_sizes("paper") == [9, 17, 33, 65, 129]
    assert image_sizes("dcgan") == [8, 16, 32, 64, 128]
    assert n_layers(65, "paper") == 4 and n_layers(64, "dcgan") == 4 and n_layers(17, "paper") == 2
    for name in GEOMETRIES:
        g = get_geometry(name)
        for n, size in enumerate(image_sizes(name), start=1):
            assert infer_geometry(size) == name and n_layers(size, name) == n
            s = size  # the discriminator walks the generator's widths back down to the stem
            for _ in range(n):
                s = g.down(s)
            assert s == g.stem_size


@pytest.mark.parametrize("bad", [0, 1, 5, 48, 66, -33, 33.0, True, "33", None])
def test_sizes_that_fit_no_geometry_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="fits no geometry"):
        infer_geometry(bad)


def test_every_scale_uses_the_paper_geometry_and_converts() -> None:
    assert {s.name: (s.img_size, s.geometry) for s in SCALES.values()} == {
        "smoke": (17, "paper"), "cpu": (33, "paper"), "gpu": (65, "paper")}
    for s in SCALES.values():
        d = s.with_geometry("dcgan")
        assert (d.img_size, d.geometry) == (s.img_size - 1, "dcgan")
        assert d.with_geometry("paper") == s and s.with_geometry(None) is s
    with pytest.raises(ValueError, match="geometry must be one of"):
        get_scale("cpu").with_geometry("same")


def test_train_config_resolves_the_geometry() -> None:
    c = TrainConfig.from_scale("cpu")
    assert (c.img_size, c.geometry) == (33, "paper")
    assert TrainConfig.from_scale("cpu", img_size=32).geometry == "dcgan"
    assert TrainConfig.from_scale("cpu", geometry="dcgan").img_size == 32
    c = TrainConfig.from_scale(get_scale("gpu").with_geometry("dcgan"), method="flip")
    assert (c.img_size, c.geometry, c.scale) == (64, "dcgan", "gpu")
    assert TrainConfig.from_dict({**TrainConfig(img_size=32).to_dict(), "geometry": None}).geometry == "dcgan"
    # a config saved before the geometry existed (kernel_size, 4x4 at 32 px) still loads
    old = {k: v for k, v in TrainConfig(img_size=32).to_dict().items() if k != "geometry"}
    assert TrainConfig.from_dict({**old, "kernel_size": 4}).geometry == "dcgan"
    G, D = TrainConfig.from_scale("smoke").build_models()
    assert (G.geometry, D.geometry, G.kernel_size) == ("paper", "paper", 5)
    with pytest.raises(ValueError, match="does not fit the 'paper' geometry"):
        TrainConfig.from_scale("cpu", img_size=32, geometry="paper")
    assert TrainConfig.from_scale("cpu").key() != TrainConfig.from_scale("cpu", geometry="dcgan").key()
