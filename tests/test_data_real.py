import io
import warnings
import zipfile

import lmdb
import numpy as np
import pytest
import torch
from PIL import Image

from symgan.data import (
    CelebA,
    DatasetNotFoundError,
    EmptyDatasetError,
    ImageFolder,
    LFWSubset,
    LSUNBedrooms,
    astronaut_face,
    get_dataset,
)
from symgan.images import load_image


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGAN_DATA", str(tmp_path / "data"))


def _rgb(seed, w=20, h=14):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


@pytest.fixture
def folder(tmp_path):
    """PNGs of every awkward mode, one in a sub-folder, plus a corrupt PNG and a text file."""
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    _rgb(0).save(root / "a_rgb.png")
    _rgb(1).convert("L").save(root / "b_gray.png")
    rgba = _rgb(2).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(root / "c_rgba.png")
    _rgb(3).convert("P").save(root / "d_palette.png")
    Image.fromarray((np.arange(14 * 20).reshape(14, 20) * 200).astype(np.uint16)).save(
        root / "e_16bit.png")
    _rgb(4).save(root / "sub" / "f.jpg")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(b"ignored")
    return root


def test_folder_skips_bad_files_with_one_counting_warning(folder):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = ImageFolder(folder, size=8, channels=3)
    msgs = [str(x.message) for x in w]
    assert len(msgs) == 1 and "skipped 2 file(s)" in msgs[0]
    assert "broken.png" in msgs[0] and "notes.txt" in msgs[0]
    assert len(ds) == 6
    modes = [Image.open(p).mode for p in ds.files]
    assert {"L", "RGBA", "P", "I;16"} <= set(modes) or "I" in modes
    for i in range(len(ds)):  # a whole epoch reads without error
        x = ds[i]
        assert x.shape == (3, 8, 8) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "LA", "RGB"])
@pytest.mark.parametrize("channels", [1, 3])
def test_conversions(mode, channels):
    img = _rgb(5)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)
    else:
        img = img.convert(mode)
    x = load_image(img, 10, channels)
    assert x.shape == (channels, 10, 10) and x.dtype == torch.float32
    assert -1 <= x.min() and x.max() <= 1 and x.std() > 0.05


def test_16bit_uses_full_range():
    a = np.full((4, 4), 65535, np.uint16)
    assert load_image(Image.fromarray(a), 4, 1).min() == 1.0


def test_resize_and_centre_crop():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (10, 0, 30, 20))  # white centre square
    x = load_image(img, 10, 1)
    assert x.shape == (1, 10, 10) and x.min() > 0.5  # the black sides were cropped away
    assert x[:, :, 1:-1].min() > 0.99


def test_folder_errors(tmp_path, folder):
    with pytest.raises(DatasetNotFoundError, match="not found"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyDatasetError, match="found 0"):
        ImageFolder(tmp_path / "empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(EmptyDatasetError, match="batch of 64"):
            ImageFolder(folder, batch_size=64)
        with pytest.raises(EmptyDatasetError, match="min_images=10"):
            ImageFolder(folder, min_images=10)
        assert len(get_dataset("folder", 8, 1, root=folder, batch_size=4)) == 6
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


def test_folder_preload(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ImageFolder(folder, size=8, channels=1, preload=True)
        b = ImageFolder(folder, size=8, channels=1)
    assert a.images.shape == (6, 8, 8, 1)
    assert torch.allclose(a[2], b[2], atol=1e-6)


def _celeba_zip(path, n=5, bad=False):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("img_align_celeba/", b"")
        for i in range(1, n + 1):
            buf = io.BytesIO()
            _rgb(i, 178, 218).save(buf, format="JPEG")
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", buf.getvalue())
        if bad:
            zf.writestr(f"img_align_celeba/{n + 1:06d}.jpg", b"not a jpeg")


@pytest.mark.parametrize("size", [16, 17, 32, 33, 65])
@pytest.mark.parametrize("wh", [(40, 20), (41, 20), (20, 37), (100, 77)])
def test_resize_crop_commutes_with_the_mirror(size, wh):
    """A centred crop at any size, odd ones of the paper's geometry included: the mirror of the
    loaded photo is the loaded mirror photo (to one 8-bit level)."""
    rng = np.random.default_rng(size * 1000 + wh[0])
    img = Image.fromarray(rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    x = load_image(img, size, 3)
    xm = load_image(img.transpose(Image.FLIP_LEFT_RIGHT), size, 3)
    assert x.shape == (3, size, size)
    assert (xm - x.flip(-1)).abs().max() <= 2 / 255 + 1e-6


def test_celeba_zip_and_folder(tmp_path):
    z = tmp_path / "celeba" / "img_align_celeba.zip"
    z.parent.mkdir()
    _celeba_zip(z)
    for root in (z, z.parent):
        ds = CelebA(root, size=16)
        assert len(ds) == 5 and ds[0].shape == (3, 16, 16)
        assert ds.names[0].endswith("000001.jpg")
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "ex")
    ds = CelebA(tmp_path / "ex", size=16, channels=1)
    assert len(ds) == 5 and ds[4].shape == (1, 16, 16)
    ds2 = CelebA(tmp_path / "ex" / "img_align_celeba", size=16, channels=1)
    assert torch.equal(ds[1], ds2[1])
    assert torch.allclose(CelebA(z, size=16, channels=1)[1], ds[1])


def test_celeba_bad_member_and_default_root(tmp_path):
    z = tmp_path / "c.zip"
    _celeba_zip(z, n=3, bad=True)
    with pytest.warns(UserWarning, match="skipped 1"):
        ds = CelebA(z, size=8, verify=True)
    assert len(ds) == 3
    lazy = CelebA(z, size=8)  # not verified: the bad one is replaced, with a warning
    with pytest.warns(UserWarning, match="replaced"):
        assert lazy[3].shape == (3, 8, 8)
    with pytest.raises(DatasetNotFoundError, match="python -m symgan.data fetch celeba"):
        CelebA(size=8)
    with pytest.raises(DatasetNotFoundError, match="python -m symgan.data fetch celeba"):
        get_dataset("celeba", 8)


def _lmdb(path, n=4, bad=False):
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i in range(n):
            buf = io.BytesIO()
            _rgb(10 + i, 40, 30).save(buf, format="WEBP" if i % 2 else "JPEG")
            txn.put(f"{i:08x}".encode(), buf.getvalue())
        if bad:
            txn.put(b"zzzz", b"junk")
    env.close()


def test_lsun_lmdb(tmp_path):
    _lmdb(tmp_path / "bedroom_train_lmdb", bad=True)
    ds = LSUNBedrooms(tmp_path / "bedroom_train_lmdb", size=16)
    assert len(ds) == 5 and ds[0].shape == (3, 16, 16)
    with pytest.warns(UserWarning, match="replaced"):
        assert ds[4].shape == (3, 16, 16)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(LSUNBedrooms(tmp_path / "bedroom_train_lmdb", 16, verify=True)) == 4
    assert len(LSUNBedrooms(tmp_path / "bedroom_train_lmdb", 16, 1, max_images=2)) == 2
    with pytest.raises(EmptyDatasetError):
        LSUNBedrooms(tmp_path / "bedroom_train_lmdb", 16, batch_size=64)
    with pytest.raises(DatasetNotFoundError, match="python -m symgan.data fetch lsun_bedroom"):
        get_dataset("lsun_bedroom", 16, lmdb_path=tmp_path / "nope")
    import pickle

    clone = pickle.loads(pickle.dumps(ds))  # DataLoader workers reopen the environment
    assert torch.equal(clone[1], ds[1])


def test_lfw_subset_and_astronaut():
    ds = LFWSubset(size=32, channels=1, include_mirrors=True)
    assert len(ds) == 200 and ds[0].shape == (1, 32, 32)
    assert torch.equal(ds[100], ds[0].flip(-1))
    assert len(LFWSubset(16, 3)) == 100 and LFWSubset(16, 3)[5].shape == (3, 16, 16)
    a = astronaut_face(48)
    assert a.shape == (3, 48, 48) and -1 <= a.min() and a.max() <= 1


def test_lfw_people_missing_is_clear():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"symgan\[lfw\]"):
            get_dataset("lfw", 32)
    else:
        with pytest.raises(DatasetNotFoundError, match="python -m symgan.data fetch lfw"):
            get_dataset("lfw", 32)
