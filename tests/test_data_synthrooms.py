import numpy as np
import pytest
import torch

from symgan.data import SynthRooms, render_rooms, sample_rooms


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGAN_DATA", str(tmp_path / "data"))


def test_deterministic_and_seed_dependent():
    a = SynthRooms(size=16, n=12, seed=0, cache=False)
    b = SynthRooms(size=16, n=5, seed=0, cache=False)
    c = SynthRooms(size=16, n=5, seed=1, cache=False)
    assert np.array_equal(a.images[:5], b.images)
    assert not np.array_equal(b.images, c.images)


def test_mirror_invariant_distribution_but_asymmetric_rooms():
    n = 400
    p = sample_rooms(0, range(n))
    assert abs(p["mirror"].mean() - 0.5) < 0.1
    imgs = render_rooms(p, 16).astype(float)
    # individual rooms are far from symmetric ...
    per_room = np.abs(imgs - imgs[:, :, ::-1]).mean(axis=(1, 2, 3))
    assert np.median(per_room) > 12
    # ... but the mean room is (nearly) its own mirror: the distribution is mirror-invariant
    mean = imgs.mean(0)
    assert np.abs(mean - mean[:, ::-1]).mean() < 0.25 * np.median(per_room)
    # flipping the mirror flag of a scene gives exactly the flipped picture
    q = {k: v[:4].copy() for k, v in p.items()}
    q["mirror"] = 1.0 - q["mirror"]
    assert np.array_equal(render_rooms(q, 16), imgs[:4, :, ::-1].astype(np.uint8))


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_range_and_cache(channels, tmp_path):
    ds = SynthRooms(size=16, n=6, channels=channels, cache=True)
    x = ds[3]
    assert x.shape == (channels, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert ds.images.dtype == np.uint8 and ds.images.shape == (6, 16, 16, channels)
    assert len(list((tmp_path / "data" / "cache").glob("synthrooms-*.npy"))) == 1
    again = SynthRooms(size=16, n=6, channels=channels, cache=True)
    assert np.array_equal(again.images, ds.images)
    assert isinstance(ds.labels(0)["room"], np.ndarray)
    assert torch.stack([ds[i] for i in range(6)]).std() > 0.1


def test_sizes():
    p = sample_rooms(0, range(2))
    for s in (16, 17, 32, 33, 64, 65, 128):
        assert render_rooms(p, s).shape == (2, s, s, 3)
