"""Generators and discriminators: exactness by construction, and the plain controls failing it."""

from __future__ import annotations

import itertools

import pytest
import torch

from symgan import Discriminator, Generator, check_invariance, mirror, mirror_errors
from symgan.generators import ZPrimeStem

F32 = 1e-4  # forty times below one 8-bit grey level (2/255 in [-1, 1])
F64 = 1e-10
# (geometry, image size): the paper's 5x5 geometry at 2^k + 1 px, DC-GAN's 4x4 one at 2^k px.
GEOMETRY_SIZES = [("paper", 17), ("paper", 33), ("paper", 65), ("dcgan", 16), ("dcgan", 32),
                  ("dcgan", 64)]
SEEDS = (0, 1, 2)


def _errors(G: Generator, z: torch.Tensor, train: bool) -> dict[str, float]:
    G.train(train)
    return mirror_errors(G, z)


@pytest.mark.parametrize("arch", ["zprime", "flip"])
@pytest.mark.parametrize(("geometry", "img_size"), GEOMETRY_SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_symmetric_generators_are_exact(arch: str, geometry: str, img_size: int, channels: int) -> None:
    for seed, train in itertools.product(SEEDS, (True, False)):
        torch.manual_seed(seed)  # re-initialise: a property of the architecture, not of one draw
        G = Generator(arch, img_size=img_size, channels=channels, width=8, geometry=geometry)
        assert G.geometry == geometry and G.kernel_size == {"paper": 5, "dcgan": 4}[geometry]
        z = G.sample_latent(4)
        e = _errors(G, z, train)
        assert e["mirror"] <= F32 and e["symmetric"] <= F32, (seed, train, e)
        e64 = _errors(G.double(), z.double(), train)
        assert e64["mirror"] <= F64 and e64["symmetric"] <= F64, (seed, train, e64)


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_exact_at_paper_width_and_129(arch: str) -> None:
    torch.manual_seed(3)
    G = Generator(arch)  # the defaults: the paper's generator, 65 px, width 64
    assert (G.img_size, G.geometry, G.width) == (65, "paper", 64)
    z = G.sample_latent(2)
    for train in (True, False):
        e = _errors(G, z, train)
        assert max(e.values()) <= F32, e
    for size, geometry in ((129, "paper"), (128, "dcgan")):
        for seed in SEEDS:
            torch.manual_seed(seed)
            Gl = Generator(arch, img_size=size, width=4)
            assert Gl.geometry == geometry
            zl = Gl.sample_latent(2)
            for train in (True, False):
                e = _errors(Gl, zl, train)
                assert max(e.values()) <= F32, (size, seed, train, e)
            e64 = _errors(Gl.double(), zl.double(), True)
            assert max(e64.values()) <= F64, (size, seed, e64)


def test_paper_layer_sizes() -> None:
    """At 65 px and width 64 the paper's numbers: 5120 / 7680 / 12,800 and a fold to 7680."""
    Gz, Gf = Generator("zprime"), Generator("flip")
    assert Gz.stem[0].anti.out_features == 5120 == 512 * 5 * 2
    assert Gz.stem[0].sym.out_features == 7680 == 512 * 5 * 3
    assert Gf.stem[0].fc.out_features == 12800 == 512 * 5 * 5
    widths = [Gz.stem[0].size]
    h = Gz.stem(Gz.sample_latent(2))
    for block in Gz.body:
        h = block(h)
        widths.append(h.shape[-1])
    assert widths == [5, 9, 17, 33, 65]
    D = Discriminator(True)
    assert D.features(torch.randn(2, 3, 65, 65)).shape == (2, 512, 5, 5)
    assert D.head.in_features == 7680
    assert Discriminator(False).features(torch.randn(2, 3, 65, 65)).shape == (2, 512, 5, 5)
    # 5x5 symmetric kernels have 15 free weights, stride 2, padding 2, no output padding
    up = Gz.body[0][0]
    assert up.weight_half.shape[-2:] == (5, 3) and up.stride == (2, 2) and up.padding == (2, 2)
    assert up.output_padding == (0, 0)
    # the plain control of the paper geometry has the same shapes with ordinary kernels
    Gd = Generator("dcgan")
    assert [type(b[0]) for b in Gd.body] == [torch.nn.ConvTranspose2d] * 4
    assert Gd.body[0][0].weight.shape[-2:] == (5, 5) and Gd(Gd.sample_latent(2)).shape[-1] == 65


@pytest.mark.parametrize("cls", [Generator, Discriminator])
def test_geometry_refuses_sizes_it_cannot_build(cls) -> None:
    kw = {"symmetric": True} if cls is Discriminator else {"arch": "zprime"}
    with pytest.raises(ValueError, match=r"does not fit the 'paper' geometry.*17, 33, 65.*'dcgan'"):
        cls(img_size=32, geometry="paper", **kw)
    with pytest.raises(ValueError, match=r"does not fit the 'dcgan' geometry.*16, 32, 64"):
        cls(img_size=33, geometry="dcgan", **kw)
    with pytest.raises(ValueError, match=r"fits no geometry.*17, 33, 65.*16, 32, 64"):
        cls(img_size=48, **kw)
    with pytest.raises(ValueError, match="geometry must be one of"):
        cls(img_size=33, geometry="tf-same", **kw)


@pytest.mark.parametrize("encoding", ["zprime", "flip"])
@pytest.mark.parametrize("img_size", [33, 32])
def test_plain_dcgan_generator_fails_the_same_checks(encoding: str, img_size: int) -> None:
    for seed in SEEDS:
        torch.manual_seed(seed)
        G = Generator("dcgan", img_size=img_size, width=8, encoding=encoding)
        z = G.sample_latent(4)
        e = _errors(G, z, True)
        assert e["mirror"] > 1e3 * F32 and e["symmetric"] > 1e3 * F32, e
        # Fresh running statistics make eval-mode outputs tiny: compare with the output scale.
        e = _errors(G, z, False)
        scale = G(z).abs().max().item()
        assert e["mirror"] > 0.1 * scale and e["symmetric"] > 0.1 * scale, (e, scale)


def test_zprime_stem_without_bias_matters() -> None:
    """With a bias on the antisymmetric map (the public implementation's bug) exactness breaks."""
    torch.manual_seed(0)
    stem = ZPrimeStem(100, 5, 8)
    assert stem.anti.bias is None
    z = torch.rand(4, 100) * 2 - 1
    zn = torch.cat([-z[:, :5], z[:, 5:]], 1)
    assert torch.allclose(stem(zn), mirror(stem(z)), atol=1e-6)
    buggy = torch.nn.Linear(5, stem.anti.out_features, bias=True)
    buggy.weight.data.copy_(stem.anti.weight.data)
    torch.nn.init.uniform_(buggy.bias, -0.5, 0.5)
    stem.anti = buggy
    assert (stem(zn) - mirror(stem(z))).abs().max() > 0.1


@pytest.mark.parametrize(("geometry", "img_size"), [*GEOMETRY_SIZES, ("paper", 129)])
@pytest.mark.parametrize("channels", [1, 3])
def test_symmetric_discriminator_is_invariant(geometry: str, img_size: int, channels: int) -> None:
    for seed, train in itertools.product(SEEDS, (True, False)):
        torch.manual_seed(seed)
        D = Discriminator(True, img_size=img_size, channels=channels, width=8, geometry=geometry)
        D.train(train)
        x = torch.randn(4, channels, img_size, img_size)
        r = check_invariance(D, x, atol=F32, rtol=F32)
        assert r.passed, r
        r64 = check_invariance(D.double(), x.double(), atol=F64, rtol=F64)
        assert r64.passed, r64
        assert D(x.double()).shape == (4,)


@pytest.mark.parametrize("img_size", [33, 32])
def test_plain_discriminator_fails_invariance(img_size: int) -> None:
    for seed in SEEDS:
        torch.manual_seed(seed)
        D = Discriminator(False, img_size=img_size, width=8).train()
        x = torch.randn(8, 3, img_size, img_size)
        r = check_invariance(D, x, atol=F32, rtol=F32)
        assert not r.passed and r.max_abs_error > 1e2 * F32, r
        # eval mode with fresh running statistics: logits are small, compare with their spread
        D.eval()
        r = check_invariance(D, x)
        assert r.max_abs_error > 0.1 * D(x).std().item(), r


def test_check_invariance_takes_the_options_of_check_equivariance() -> None:
    D = Discriminator(True, img_size=17, width=8).eval()
    x = torch.randn(2, 3, 17, 17)
    r = check_invariance(D, x, trials=2, atol=1e-3, rtol=0.0)
    assert (r.trials, r.atol, r.rtol) == (2, 1e-3, 0.0) and r.passed, r
    # a shifted input is no symmetry of D: raise_on_fail reaches check_equivariance
    with pytest.raises(AssertionError):
        check_invariance(D, x, input_action=lambda t: t.roll(1, -1), atol=0.0, rtol=0.0,
                         raise_on_fail=True)
    with pytest.raises(TypeError, match="output_action"):
        check_invariance(D, x, output_action=mirror)
    with pytest.raises(TypeError):
        check_invariance(D, x, atols=1e-3)


def test_latent_encodings() -> None:
    Gz = Generator("zprime", img_size=16, width=4)
    Gf = Generator("flip", img_size=16, width=4)
    z = Gz.sample_latent(3)
    assert z.min() >= -1 and z.max() <= 1 and z.shape == (3, 100)
    assert torch.equal(Gz.mirror_latent(Gz.mirror_latent(z)), z)
    assert torch.equal(Gz.symmetric_latent(z)[:, :5], torch.zeros(3, 5))
    assert torch.equal(Gf.mirror_latent(z), z.flip(-1))
    zs = Gf.symmetric_latent(z)
    assert torch.allclose(zs, zs.flip(-1))
    for G in (Gz, Gf):
        s = G.latent_series(z, 9)
        assert s.shape == (3, 9, 100)
        assert torch.allclose(s[:, 0], z) and torch.allclose(s[:, -1], G.mirror_latent(z))
        assert torch.allclose(s[:, 4], G.symmetric_latent(z))
        for i in range(9):
            assert torch.allclose(s[:, 8 - i], G.mirror_latent(s[:, i]))
        assert G.latent_series(z[0], 5).shape == (5, 100)
        imgs = G.eval().series(z, 9)
        assert imgs.shape == (3, 9, 3, 16, 16)
        assert (imgs[:, 8] - mirror(imgs[:, 0])).abs().max() <= F32
    assert Generator("dcgan", img_size=16, width=4, encoding="flip").encoding == "flip"


def test_sample_latent_is_reproducible_with_a_generator() -> None:
    G = Generator("flip", img_size=16, width=4)
    a = G.sample_latent(5, generator=torch.Generator().manual_seed(7))
    b = G.sample_latent(5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_bad_input_names_the_expected_shape() -> None:
    G = Generator("zprime", img_size=32, width=8)
    with pytest.raises(ValueError, match=r"\(N, 100\)"):
        G(torch.randn(2, 99))
    assert G(torch.randn(2, 100, 1, 1)).shape == (2, 3, 32, 32)
    D = Discriminator(True, img_size=32, channels=3, width=8)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="arch must be one of"):
        Generator("zprimee")
    with pytest.raises(ValueError, match="n_anti"):
        Generator("zprime", n_anti=0)
    with pytest.raises(ValueError, match="encoding"):
        Generator("flip", encoding="zprime")


def test_dcgan_init_on_half_kernels() -> None:
    torch.manual_seed(0)
    G = Generator("zprime", img_size=64, width=32)
    halves = torch.cat([m.weight_half.flatten() for m in G.modules() if hasattr(m, "weight_half")])
    assert abs(halves.std().item() - 0.02) < 0.002 and abs(halves.mean().item()) < 0.002
    bn = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    gammas = torch.cat([m.weight.detach() for m in bn])
    assert abs(gammas.mean().item() - 1.0) < 0.01


@pytest.mark.parametrize("img_size", [17, 16])
def test_training_step_keeps_exactness(img_size: int) -> None:
    """Exact at every step, not just at initialisation: one Adam step on a GAN loss."""
    torch.manual_seed(0)
    G = Generator("zprime", img_size=img_size, width=8)
    D = Discriminator(True, img_size=img_size, width=8)
    opt = torch.optim.Adam(list(G.parameters()) + list(D.parameters()), lr=1e-2)
    for _ in range(3):
        loss = torch.nn.functional.softplus(-D(G(G.sample_latent(8)))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert max(mirror_errors(G.eval(), G.sample_latent(4)).values()) <= F32
    assert check_invariance(D.eval(), torch.randn(4, 3, img_size, img_size)).passed
