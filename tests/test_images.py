import numpy as np
import pytest
import torch
from PIL import Image

from symgan.images import (
    load_image,
    load_uint8,
    make_grid,
    read_image,
    save_image,
    square_image,
    to_uint8,
    to_uint8_hwc,
    to_unit_range,
)


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


# ----------------------------------------------------------------------------- pixel scales


def test_unit_range_and_uint8_are_inverse_on_every_level():
    u = torch.arange(256, dtype=torch.uint8)
    x = to_unit_range(u)
    assert x.dtype == torch.float32 and x[0] == -1 and x[255] == 1
    assert torch.equal(x, u.float() / 127.5 - 1)  # the formula every stored dataset uses
    assert torch.equal(to_uint8(x), u)
    assert torch.equal(to_unit_range(u.numpy().reshape(16, 16)), x.view(16, 16))
    assert to_uint8(torch.tensor([-3.0, 0.0, 3.0])).tolist() == [0, 128, 255]
    with pytest.raises(TypeError, match="uint8"):
        to_unit_range(x)


# ----------------------------------------------------------------------------- loading photos


def _levels(seed: int, h: int = 12, w: int = 12, c: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_16bit_file_is_read_on_its_full_scale(tmp_path):
    """16-bit levels are divided by 65535 (mode I;16), also when they are all small (a dark
    photo is not an 8-bit one)."""
    gray = _levels(0, c=1)[..., 0]
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "full.png")
    dark = np.full((12, 12), 200, np.uint16)
    Image.fromarray(dark).save(tmp_path / "dark.png")
    assert Image.open(tmp_path / "full.png").mode.startswith("I")
    a = read_image(tmp_path / "full.png")
    assert a.dtype == np.float64 and np.array_equal(a[..., 0], gray / 255.0)
    assert np.allclose(read_image(tmp_path / "dark.png"), 200 / 65535)
    # datasets store 8-bit levels: k * 257 / 65535 is exactly level k
    assert np.array_equal(load_uint8(tmp_path / "full.png", 12, 1)[..., 0], gray)
    assert np.array_equal(load_uint8(tmp_path / "full.png", 12, 3), np.repeat(gray[..., None], 3, -1))
    assert load_uint8(tmp_path / "dark.png", 12, 1).max() == 1  # round(200 / 257)


def test_i_mode_is_16_bit():
    """Older Pillow versions open 16-bit PNGs as mode ``I`` (32-bit integers)."""
    img = Image.fromarray(np.array([[0, 32768, 65535, 70000]], np.int32), mode="I")
    assert read_image(img)[0, :, 0].tolist() == [0.0, 32768 / 65535, 1.0, 1.0]


def test_palette_and_palette_transparency(tmp_path):
    rgb = _levels(1)
    Image.fromarray(rgb).quantize(256).save(tmp_path / "p.png")
    pal = Image.open(tmp_path / "p.png")
    assert pal.mode == "P"
    expect = np.asarray(pal.convert("RGB"))
    assert np.array_equal(read_image(tmp_path / "p.png"), expect)
    assert np.array_equal(load_uint8(pal, 12, 3), expect)
    # a palette with a transparent entry: that entry is composited on white
    p = Image.new("P", (2, 2))
    p.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    p.putdata([0, 1, 0, 1])
    p.info["transparency"] = 0
    assert load_uint8(p, 2, 3)[0].tolist() == [[255, 255, 255], [200, 100, 0]]


def test_rgba_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (0, 100, 200)
    rgba[0, :, 3] = 0      # transparent: white
    rgba[1, :, 3] = 255    # opaque: the colour
    rgba[2:, :, 3] = 51    # 20 % cover: 0.2 c + 0.8 * 255
    out = square_image(read_image(Image.fromarray(rgba, "RGBA")), 4, 3)
    assert np.allclose(out[0], 1.0) and np.allclose(out[1], np.array([0, 100, 200]) / 255)
    assert np.allclose(out[2], 0.2 * np.array([0, 100, 200]) / 255 + 0.8)
    u = load_uint8(Image.fromarray(rgba, "RGBA"), 4, 3)
    assert u[2, 0].tolist() == [204, 224, 244]
    # LA likewise, and it stays gray: no colour warning, one channel
    la = Image.fromarray(rgba[..., [1, 3]], "LA")
    assert load_uint8(la, 4, 1)[:, 0, 0].tolist() == [255, 100, 224, 224]


def test_grayscale_and_colour_conversions():
    gray = _levels(2, c=1)[..., 0]
    for src in (Image.fromarray(gray), gray, torch.from_numpy(gray)):
        u = load_uint8(src, 12, 3)
        assert u.shape == (12, 12, 3) and all(np.array_equal(u[..., k], gray) for k in range(3))
    rgb = _levels(3)
    luma = np.rint(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert np.array_equal(load_uint8(rgb, 12, 1)[..., 0], luma)
    # PIL's fixed-point BT.601 agrees to one level
    assert np.abs(np.asarray(Image.fromarray(rgb).convert("L"), int) - luma).max() <= 1


def test_8bit_square_images_keep_their_levels_and_float_sources_round():
    rgb = _levels(4)
    assert np.array_equal(load_uint8(rgb, 12, 3), rgb)
    assert torch.equal(load_image(rgb, 12, 3), to_unit_range(torch.from_numpy(rgb).permute(2, 0, 1)))
    assert np.array_equal(load_uint8(rgb / 255.0, 12, 3), rgb)
    assert np.array_equal(load_uint8(torch.from_numpy(rgb).permute(2, 0, 1) / 127.5 - 1, 12, 3), rgb)


def test_centre_crop_then_resize():
    """The centred square of side min(H, W) is cut first, then resized: a picture of a square
    in the middle of a wide frame becomes that square, and an odd margin is split evenly."""
    img = np.zeros((20, 41), np.uint8)
    img[:, 10:31] = 255  # 21 columns: the centred 20-px square (from 10.5) is all white
    out = load_uint8(img, 10, 1)
    assert out.shape == (10, 10, 1) and out.min() >= 254
    assert np.array_equal(load_uint8(img[:, ::-1], 10, 1), out[:, ::-1])
    tall = np.repeat(np.arange(30, dtype=np.uint8)[:, None] * 8, 10, axis=1)  # rows 0..29
    cut = load_uint8(tall, 10, 1)[..., 0]
    assert np.array_equal(cut, tall[10:20])  # no resize needed: an exact crop


def test_read_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        read_image(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match="value_range"):
        read_image(np.full((4, 4), 7.0))
    assert np.allclose(read_image(np.full((4, 4), 7.0), value_range=(0, 14)), 0.5)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        square_image(np.zeros((4, 4, 3), np.uint8), 4, 2)
