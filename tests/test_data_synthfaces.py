import itertools

import numpy as np
import pytest
import torch

from symgan.data import FaceIdentity, SynthFaces, render, render_batch, sample_identities
from symgan.data.cache import cache_path
from symgan.data.fetch import file_digest
from symgan.data.synthfaces import IDENTITY_FIELDS, identity_at, sample_yaws


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGAN_DATA", str(tmp_path / "data"))


def test_deterministic_by_seed_and_index():
    a = SynthFaces(size=16, n=20, seed=3, cache=False)
    b = SynthFaces(size=16, n=8, seed=3, cache=False)  # face i does not depend on n
    c = SynthFaces(size=16, n=8, seed=4, cache=False)
    assert np.array_equal(a.images[:8], b.images)
    assert np.array_equal(a.yaw[:8], b.yaw)
    assert not np.array_equal(b.images, c.images)
    for i in range(8):
        assert not np.array_equal(b.images[i], c.images[i])


@pytest.mark.parametrize("size", [16, 17, 32, 33, 64, 65])
def test_mirror_render_equals_render_of_negated_yaw(size):
    ids = sample_identities(11, range(12))
    for yaw in (0.0, 5.0, 22.5, 40.0, 45.0):
        y = np.full(12, yaw)
        pos = render_batch(ids, y, size).astype(int)
        neg = render_batch(ids, -y, size).astype(int)
        assert np.abs(pos[:, :, ::-1] - neg).max() <= 1, (size, yaw)  # within 1/255
        if yaw >= 22.5:  # and a turned face is really not symmetric
            assert np.abs(pos[:, :, ::-1] - pos).mean() > 5


def test_single_render_matches_batch_and_dataset_rerender():
    ds = SynthFaces(size=32, n=4, seed=0, cache=False)
    for i in range(4):
        assert np.array_equal(render(ds.identity(i), ds.yaw[i], 32), ds.images[i])
    x = ds.render(2, -ds.yaw[2])
    assert torch.allclose(x, ds[2].flip(-1), atol=1.01 / 127.5)
    lab = ds.labels(1)
    x1, y1 = SynthFaces(size=32, n=4, seed=0, cache=False, with_labels=True)[1]
    assert torch.equal(x1, ds[1]) and float(y1) == pytest.approx(ds.yaw[1])
    assert isinstance(lab["identity"], FaceIdentity) and lab["yaw"] == ds.yaw[1]


def test_yaw_changes_the_picture_and_moves_features():
    ident = identity_at(sample_identities(0, [5]), 0)
    imgs = [render(ident, y, 32).astype(float) for y in (-40, 0, 40)]
    assert np.abs(imgs[0] - imgs[1]).mean() > 5 and np.abs(imgs[2] - imgs[1]).mean() > 5


def test_variety_64_identities_pairwise_distinct():
    ids = sample_identities(0, range(64))
    imgs = render_batch(ids, np.zeros(64), 32).astype(float).reshape(64, -1)
    d = [np.abs(imgs[i] - imgs[j]).mean() for i, j in itertools.combinations(range(64), 2)]
    assert min(d) > 8  # mean absolute difference, in 0..255 levels
    # at least 8 parameters vary, each one on its own visibly changes the face
    base = identity_at(ids, 0).as_dict()
    ref = render(base, 0.0, 32).astype(float)
    changed = 0
    for name in IDENTITY_FIELDS:
        lo, hi = ids[name].min(), ids[name].max()
        if hi - lo < 1e-9:
            continue
        other = dict(base, **{name: hi if abs(base[name] - lo) < abs(base[name] - hi) else lo})
        if np.abs(render(other, 0.0, 32).astype(float) - ref).max() > 30:
            changed += 1
    assert changed >= 8


def test_yaw_distribution_symmetric_and_in_range():
    y = sample_yaws(0, range(4000), 45.0)
    assert y.min() >= -45 and y.max() <= 45
    assert abs(np.mean(y > 0) - 0.5) < 0.03
    assert abs(y.mean()) < 1.5
    assert np.abs(np.quantile(y, [0.1, 0.25, 0.5]) + np.quantile(y, [0.9, 0.75, 0.5])).max() < 2.5
    assert np.quantile(np.abs(y), 0.95) > 40


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(channels):
    ds = SynthFaces(size=16, n=6, channels=channels, cache=False)
    x = ds[0]
    assert x.shape == (channels, 16, 16) and x.dtype == torch.float32
    assert ds.images.shape == (6, 16, 16, channels) and ds.images.dtype == np.uint8
    allx = torch.stack([ds[i] for i in range(6)])
    assert allx.min() >= -1 and allx.max() <= 1 and allx.std() > 0.1
    assert len(ds) == 6


def test_cache_roundtrip(tmp_path):
    a = SynthFaces(size=16, n=10, seed=1, cache=True)
    files = list((tmp_path / "data" / "cache").glob("synthfaces-*.npy"))
    assert len(files) == 1 and not list((tmp_path / "data" / "cache").glob("*.tmp"))
    np.save(files[0], np.zeros_like(a.images))  # the second build must read the cache
    sidecar = files[0].with_name(files[0].name + ".sha256")
    sidecar.write_text(file_digest(files[0]))  # ... when its checksum matches
    b = SynthFaces(size=16, n=10, seed=1, cache=True)
    assert not b.images.any()
    np.save(files[0], np.ones_like(a.images))  # readable but not what was written: rebuilt
    with pytest.warns(UserWarning, match="does not match its SHA-256"):
        c = SynthFaces(size=16, n=10, seed=1, cache=True)
    assert np.array_equal(c.images, a.images)
    files[0].write_bytes(b"garbage")  # a damaged cache is rebuilt
    with pytest.warns(UserWarning, match="does not match its SHA-256"):
        c = SynthFaces(size=16, n=10, seed=1, cache=True)
    assert np.array_equal(c.images, a.images)
    key = {"size": 16, "n": 10, "channels": 3, "seed": 2, "yaw_range": 45.0, "version": 2}
    assert cache_path("synthfaces", key) != files[0]


def test_bad_arguments():
    with pytest.raises(ValueError):
        SynthFaces(size=16, n=0, cache=False)
    with pytest.raises(ValueError):
        render_batch(sample_identities(0, [0]), np.zeros(1), 16, channels=2)
