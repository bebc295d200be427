"""Generators and discriminators: exactness by construction, and the plain controls failing it."""

from __future__ import annotations

import itertools

import pytest
import torch

from symgan import Discriminator, Generator, check_invariance, mirror, mirror_errors
from symgan.generators import ZPrimeStem

F32 = 1e-4  # forty times below one 8-bit grey level (2/255 in [-1, 1])
F64 = 1e-10
SIZES = (16, 32, 64)
SEEDS = (0, 1, 2)


def _errors(G: Generator, z: torch.Tensor, train: bool) -> dict[str, float]:
    G.train(train)
    return mirror_errors(G, z)


@pytest.mark.parametrize("arch", ["zprime", "flip"])
@pytest.mark.parametrize("kernel_size", [4, 5])
@pytest.mark.parametrize("img_size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_symmetric_generators_are_exact(arch: str, kernel_size: int, img_size: int, channels: int) -> None:
    for seed, train in itertools.product(SEEDS, (True, False)):
        torch.manual_seed(seed)  # re-initialise: a property of the architecture, not of one draw
        G = Generator(arch, img_size=img_size, channels=channels, width=8, kernel_size=kernel_size)
        z = G.sample_latent(4)
        e = _errors(G, z, train)
        assert e["mirror"] <= F32 and e["symmetric"] <= F32, (seed, train, e)
        e64 = _errors(G.double(), z.double(), train)
        assert e64["mirror"] <= F64 and e64["symmetric"] <= F64, (seed, train, e64)


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_exact_at_paper_width_and_128(arch: str) -> None:
    torch.manual_seed(3)
    G = Generator(arch, img_size=64, width=64, kernel_size=5)
    z = G.sample_latent(2)
    for train in (True, False):
        e = _errors(G, z, train)
        assert max(e.values()) <= F32, e
    G128 = Generator(arch, img_size=128, width=8)
    e = _errors(G128, G128.sample_latent(2), False)
    assert max(e.values()) <= F32, e


@pytest.mark.parametrize("encoding", ["zprime", "flip"])
def test_plain_dcgan_generator_fails_the_same_checks(encoding: str) -> None:
    for seed in SEEDS:
        torch.manual_seed(seed)
        G = Generator("dcgan", img_size=32, width=8, encoding=encoding)
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


@pytest.mark.parametrize("kernel_size", [4, 5])
@pytest.mark.parametrize("img_size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_symmetric_discriminator_is_invariant(kernel_size: int, img_size: int, channels: int) -> None:
    for seed, train in itertools.product(SEEDS, (True, False)):
        torch.manual_seed(seed)
        D = Discriminator(True, img_size=img_size, channels=channels, width=8, kernel_size=kernel_size)
        D.train(train)
        x = torch.randn(4, channels, img_size, img_size)
        r = check_invariance(D, x, atol=F32, rtol=F32)
        assert r.passed, r
        r64 = check_invariance(D.double(), x.double(), atol=F64, rtol=F64)
        assert r64.passed, r64
        assert D(x.double()).shape == (4,)


def test_plain_discriminator_fails_invariance() -> None:
    for seed in SEEDS:
        torch.manual_seed(seed)
        D = Discriminator(False, img_size=32, width=8).train()
        x = torch.randn(8, 3, 32, 32)
        r = check_invariance(D, x, atol=F32, rtol=F32)
        assert not r.passed and r.max_abs_error > 1e2 * F32, r
        # eval mode with fresh running statistics: logits are small, compare with their spread
        D.eval()
        r = check_invariance(D, x)
        assert r.max_abs_error > 0.1 * D(x).std().item(), r


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
    with pytest.raises(ValueError, match="4 \\* 2\\*\\*k"):
        Generator("zprime", img_size=48)
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


def test_training_step_keeps_exactness() -> None:
    """Exact at every step, not just at initialisation: one Adam step on a GAN loss."""
    torch.manual_seed(0)
    G = Generator("zprime", img_size=16, width=8)
    D = Discriminator(True, img_size=16, width=8)
    opt = torch.optim.Adam(list(G.parameters()) + list(D.parameters()), lr=1e-2)
    for _ in range(3):
        loss = torch.nn.functional.softplus(-D(G(G.sample_latent(8)))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert max(mirror_errors(G.eval(), G.sample_latent(4)).values()) <= F32
    assert check_invariance(D.eval(), torch.randn(4, 3, 16, 16)).passed
