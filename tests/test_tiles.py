"""Tileable textures: the periodic generator's exact identities, its zero-padded control, the
seam measurement, the texture datasets, the trainer integration and the ``texture`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from symgan import TileGenerator
from symgan.config import METHOD_NAMES, TrainConfig
from symgan.data import get_dataset
from symgan.data.textures import PLAID_PERIOD, TexturePatches, plaid, random_patches
from symgan.ema import calibrate_generator
from symgan.runs import load_or_train
from symgan.scales import get_scale
from symgan.tiles import periodic_conv, seam_ratio, seam_ratios, shift_error, tile, tiling_error

pytestmark = pytest.mark.usefixtures("scratch_dirs")
ROOT = Path(__file__).resolve().parents[1]
TILES = [(1, 2), (2, 1), (3, 3), (2, 4)]


def _generator(periodic: bool, size: int = 16, seed: int = 0, dtype=torch.float32) -> TileGenerator:
    torch.manual_seed(seed)
    G = TileGenerator(size, channels=3, z_dim=64, width=8, periodic=periodic).to(dtype)
    with torch.no_grad():  # non-trivial BatchNorm parameters, so that eval mode is a real test
        for m in G.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return calibrate_generator(G, n=64, seed=seed)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("size", [16, 32])
def test_tiled_latent_gives_the_tiled_patch(dtype, tol, mode, size):
    for seed in range(3):  # several initialisations
        G = _generator(True, size, seed, dtype).train(mode == "train")
        z = G.sample_latent(4, generator=torch.Generator().manual_seed(seed))
        err = tiling_error(G, z, TILES)
        assert err <= tol, (seed, err)
        assert shift_error(G, z, (1, 2)) <= tol
        x = G(z)
        assert x.shape == (4, 3, size, size)
        t = G.texture(z, (2, 3))
        assert t.shape == (4, 3, 2 * size, 3 * size)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_zero_padded_control_breaks_the_identity(mode):
    for seed in range(3):
        G = _generator(False, 16, seed, torch.float64).train(mode == "train")
        z = G.sample_latent(4, generator=torch.Generator().manual_seed(seed))
        x = G(z)
        err = tiling_error(G, z, TILES)
        assert err > 1e-3 * x.abs().max().item(), err
        assert shift_error(G, z) > 1e-3


def test_texture_is_seamless_where_naive_tiling_of_the_control_is_not():
    G, C = _generator(True).eval(), _generator(False).eval()
    z = G.sample_latent(2)
    assert torch.allclose(G.texture(z, 3), tile(G(z), 3), atol=1e-6)
    assert not torch.allclose(C.texture(z, 3), tile(C(z), 3), atol=1e-3)


def test_periodic_conv_is_the_circular_conv2d():
    conv = nn.Conv2d(3, 5, 3, padding=1, padding_mode="circular").double()
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    assert torch.allclose(periodic_conv(x, conv.weight, conv.bias), conv(x), atol=1e-12)
    with pytest.raises(ValueError, match="odd size"):
        periodic_conv(x, torch.randn(5, 3, 4, 4, dtype=torch.float64))


@pytest.mark.parametrize("periodic", [True, False])
def test_export_is_plain_pytorch_and_equal(periodic):
    G = _generator(periodic, 32).eval()
    E = G.export().eval()
    assert all(type(m).__module__.startswith("torch.") for m in E.modules())
    z = G.sample_latent(3, cells=(3, 5))  # any latent map, also larger than the default
    with torch.no_grad():
        assert torch.equal(E(z), G(z))
        flat = G.sample_latent(3)
        assert torch.equal(E(G.latent_map(flat)), G(flat))
    assert E(z).shape == (3, 3, 24, 40)


def test_seam_ratio_is_exactly_one_over_all_cell_shifts():
    """Over the images of every cell shift of one latent map, the seam at the phase of the
    up-sampling grid is exactly as often each cell boundary as the interior pairs are."""
    G = _generator(True, 32).eval()
    z = G.latent_map(G.sample_latent(1))
    shifts = torch.cat([z.roll((a, b), (2, 3)) for a in range(4) for b in range(4)])
    with torch.no_grad():
        x = G(shifts)
    assert abs(seam_ratio(x, stride=G.scale_factor) - 1.0) < 1e-9
    r = seam_ratios(x, stride=G.scale_factor)
    assert r["seam"] > 0 and r["interior"] > 0


def test_seam_ratio_of_random_generators():
    """Many random latents: the periodic generator's phase-matched seam ratio is 1 up to
    sampling noise; the zero-padded control's seam is far more visible than its interior."""
    G, C = _generator(True, 32).eval(), _generator(False, 32).eval()
    z = G.sample_latent(256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        xg, xc = G(z), C(z)
    rg, rc = seam_ratio(xg, stride=8), seam_ratio(xc, stride=8)
    assert 0.9 < rg < 1.1, rg
    assert rc > 2.0, rc
    assert seam_ratio(xc) > 1.5 * seam_ratio(xg)


def test_seam_ratio_of_simple_images():
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    # a ramp: the wrap-around seam is the one big jump
    ramp = torch.arange(8.0).expand(1, 1, 8, 8)
    assert seam_ratio(ramp) > 3
    # all circular shifts of any image: each neighbouring pair is the seam equally often
    shifts = torch.cat([x[:1].roll((a, b), (2, 3)) for a in range(8) for b in range(8)])
    assert abs(seam_ratio(shifts) - 1.0) < 1e-12
    with pytest.raises(ValueError, match="N, C, H, W"):
        seam_ratio(x[0])
    with pytest.raises(ValueError, match="divide"):
        seam_ratio(x, stride=3)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="cells \\* 2\\^L"):
        TileGenerator(img_size=33)
    with pytest.raises(ValueError, match="multiple of cells"):
        TileGenerator(z_dim=100)
    with pytest.raises(TypeError, match="periodic"):
        TileGenerator(periodic="yes")
    G = TileGenerator(16, z_dim=32, width=4)
    with pytest.raises(ValueError, match="flat latent \\(N, 32\\) or a latent map \\(N, 2, h, w\\)"):
        G(torch.zeros(2, 31))
    with pytest.raises(ValueError, match="latent map"):
        G(torch.zeros(2, 3, 4, 4))
    with pytest.raises(TypeError, match="dtype"):
        G(torch.zeros(2, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match="tiles"):
        G.texture(torch.zeros(1, 32), (0, 2))
    with pytest.raises(ValueError, match="tiles"):
        G.texture(torch.zeros(1, 32), "2x2")
    with pytest.raises(ValueError, match="tiles"):
        tile(torch.zeros(2, 2), (1, 2, 3))


def test_texture_data_is_deterministic_and_cached():
    a = TexturePatches("gravel", 16, n=20, seed=3, cache=False)
    b = TexturePatches("gravel", 16, n=20, seed=3)
    c = TexturePatches("gravel", 16, n=20, seed=3)
    d = TexturePatches("gravel", 16, n=20, seed=4, cache=False)
    assert a.images.dtype == np.uint8 and a.images.shape == (20, 16, 16, 1)
    assert np.array_equal(a.images, b.images) and np.array_equal(b.images, c.images)
    assert not np.array_equal(a.images, d.images)
    # a prefix of a larger set is the smaller set
    big = TexturePatches("gravel", 16, n=40, seed=3, cache=False)
    assert np.array_equal(big.images[:20], a.images)
    x = a[0]
    assert x.shape == (1, 16, 16) and -1 <= x.min() and x.max() <= 1


@pytest.mark.parametrize("name,channels", [("brick", 3), ("grass", 1), ("gravel", 3), ("plaid", 3),
                                           ("plaid", 1)])
def test_every_texture_through_the_registry(name, channels):
    ds = get_dataset(name, 16, channels=channels, n=8, seed=0)
    assert ds.images.shape == (8, 16, 16, channels) and ds.images.dtype == np.uint8
    assert ds.images.std() > 5  # a texture, not a flat image
    if channels == 3 and name != "plaid":  # a gray photo repeated
        assert np.array_equal(ds.images[..., 0], ds.images[..., 2])


def test_plaid_has_its_period():
    img = plaid(noise=0.0).astype(int)
    p = PLAID_PERIOD
    assert np.array_equal(img[:, p:], img[:, :-p]) and np.array_equal(img[p:], img[:-p])
    assert not np.array_equal(img[:, 7:], img[:, :-7])
    assert TexturePatches("plaid", 32, n=2, cache=False).period == p * 32 / 128


def test_texture_bad_inputs():
    with pytest.raises(ValueError, match="texture must be one of"):
        TexturePatches("wood", 16, n=2)
    with pytest.raises(ValueError, match="channels must be one of"):
        TexturePatches("gravel", 16, n=2, channels=2)
    with pytest.raises(ValueError, match="crop"):
        random_patches(np.zeros((8, 8), np.uint8), 2, 4, 9)
    with pytest.raises(ValueError, match="uint8"):
        random_patches(np.zeros((8, 8)), 2, 4, 4)


# -- configs, the trainer, the command ----------------------------------------------------------
def test_tile_configs():
    c = TrainConfig.from_scale("smoke", method="tile")
    assert (c.img_size, c.geometry, c.data, c.channels, c.z_dim, c.alpha) == (16, "dcgan", "gravel", 1, 128, 0.0)
    # the chapter's geometry knob does not change the texture config
    assert TrainConfig.from_scale(get_scale("smoke").with_geometry("dcgan"), method="tile").key() == c.key()
    assert TrainConfig.from_scale("cpu", method="tile").img_size == 32
    assert TrainConfig.from_scale("cpu", method="tile").max_steps == 2500
    # the textures keep DC-GAN's rate where the paper's methods take the cpu scale's own
    assert TrainConfig.from_scale("cpu", method="tile").lr == 2e-4 < TrainConfig.from_scale("cpu").lr
    p = TrainConfig.from_scale("smoke", method="tile_plain")
    assert p.key() != c.key() and p.arch == "tile_plain"
    G, D = c.build_models()
    assert isinstance(G, TileGenerator) and G.periodic and not p.build_models()[0].periodic
    assert "tile" not in METHOD_NAMES  # the paper's five methods stay the paper's five
    with pytest.raises(ValueError, match="4 \\* 2\\^L"):
        TrainConfig.from_scale("smoke", method="tile", img_size=17)
    with pytest.raises(ValueError, match="alpha must be 0"):
        TrainConfig.from_scale("smoke", method="tile", alpha=40.0)
    with pytest.raises(ValueError, match="multiple of 16"):
        TrainConfig.from_scale("smoke", method="tile", z_dim=100)


def test_existing_run_keys_are_unchanged():
    """Adding the texture methods changed no key of the paper's methods (keys of the code before,
    the cpu ones recorded when that scale's budget was 5000 steps at a rate of 2e-4)."""
    want = {"smoke": {"dcgan": "6b2b6e2adb46", "dcgan_soft": "4f078791335a", "dcgan_strong": "1bdb3a085cce",
                      "zprime": "acd47efb0fff", "flip": "2de57e1a59c9"},
            "cpu": {"dcgan": "92fbf11cb433", "dcgan_soft": "4d2177f4cd53", "dcgan_strong": "618744983d2a",
                    "zprime": "2c0eb4725bee", "flip": "4991e12d8733"}}
    budget = {"smoke": {}, "cpu": {"max_steps": 5000, "lr": 2e-4}}
    for scale, keys in want.items():
        for method, key in keys.items():
            assert TrainConfig.from_scale(scale, method=method, **budget[scale]).key() == key, (scale, method)


@pytest.fixture(scope="module")
def trained():
    out = {}
    for method in ("tile", "tile_plain"):
        cfg = TrainConfig.from_scale("smoke", method=method, progress=False, time_budget_s=None)
        out[method] = load_or_train(cfg)
    return out


def test_training_at_smoke_scale(trained):
    G = trained["tile"].generator
    C = trained["tile_plain"].generator
    assert isinstance(G, TileGenerator) and trained["tile"].info["step"] == 40
    z = G.sample_latent(64, generator=torch.Generator().manual_seed(0))
    assert tiling_error(G.eval(), z, TILES) <= 1e-5
    assert tiling_error(C.eval(), z, TILES) > 1e-3
    with torch.no_grad():
        xg, xc = G(z), C(z)
    # trained or not, the periodic generator's seam is like its other cell boundaries
    assert 0.85 < seam_ratio(xg, stride=G.scale_factor) < 1.15
    assert seam_ratio(xc, stride=C.scale_factor) > 1.5
    # loading the run again gives the same weights
    again = load_or_train(trained["tile"].config)
    assert again.info["step"] == 40 and torch.equal(again.generator.eval()(z), xg)


def test_texture_command_at_smoke_scale(trained, tmp_path):
    out = tmp_path / "tex.png"
    r = subprocess.run([sys.executable, "-m", "symgan", "texture", "--out", str(out), "--tiles", "3", "2",
                        "--scale", "smoke", "--seed", "1"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (2 * 16, 3 * 16)
    r = subprocess.run([sys.executable, "-m", "symgan", "texture", "--out", str(out), "--tiles", "0", "2",
                        "--scale", "smoke"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "tiles" in r.stderr
    # at the cpu scale nothing is trained: a model that is neither shipped nor cached is an error
    r = subprocess.run([sys.executable, "-m", "symgan", "texture", "--out", str(out), "--scale", "cpu",
                        "--data", "plaid"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 4 and "pretrain" in r.stderr and "tile-plaid" in r.stderr, r.stderr
