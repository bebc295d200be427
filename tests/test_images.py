import numpy as np
import pytest
import torch
from PIL import Image

from symgan.images import make_grid, save_image, to_uint8_hwc


def test_make_grid_shape_and_placement():
    x = torch.linspace(-1, 1, 5).view(5, 1, 1, 1).expand(5, 3, 4, 6).clone()
    g = make_grid(x, nrow=2, padding=1, pad_value=0.5)
    assert g.shape == (3, 3 * 5 + 1, 2 * 7 + 1)
    assert torch.equal(g[:, 1:5, 1:7], x[0])
    assert torch.equal(g[:, 11:15, 1:7], x[4])
    assert (g[:, 0] == 0.5).all() and (g[:, 11:15, 8:14] == 0.5).all()  # padding and empty cell


def test_make_grid_single_image_and_bad_input():
    assert make_grid(torch.zeros(1, 4, 4), nrow=8, padding=2).shape == (1, 8, 8)
    with pytest.raises(ValueError):
        make_grid(torch.zeros(4, 4))


def test_to_uint8_hwc_maps_range():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 4)
    assert to_uint8_hwc(x)[0, :, 0].tolist() == [0, 128, 255, 255]
    assert to_uint8_hwc(torch.zeros(3, 2, 5)).shape == (2, 5, 3)


@pytest.mark.parametrize("c", [1, 3])
def test_save_image_roundtrip(tmp_path, c):
    x = torch.rand(4, c, 8, 8) * 2 - 1
    path = tmp_path / "sub" / "grid.png"
    save_image(x, path, nrow=2, padding=0)
    a = np.asarray(Image.open(path))
    assert a.shape[:2] == (16, 16)
    expect = to_uint8_hwc(make_grid(x, nrow=2, padding=0))
    assert np.array_equal(a.reshape(16, 16, -1), expect)
    save_image(x[0], tmp_path / "one.png")
    assert Image.open(tmp_path / "one.png").size == (8, 8)
