import pytest
import torch

from symgan.data import DATASETS, get_dataset
from symgan.data.__main__ import main


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGAN_DATA", str(tmp_path / "data"))


def test_names():
    assert {"synthfaces", "synthrooms", "lfw_subset", "celeba", "lfw", "lsun_bedroom",
            "folder"} <= set(DATASETS)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="synthfaces.*lsun_bedroom"):
        get_dataset("cifar10", 32)


@pytest.mark.parametrize("name,kw", [("synthfaces", {"n": 3}), ("synthrooms", {"n": 3}),
                                     ("lfw_subset", {})])
@pytest.mark.parametrize("channels", [1, 3])
def test_offline_datasets_contract(name, kw, channels):
    ds = get_dataset(name, 16, channels, cache=False, **kw) if name != "lfw_subset" else \
        get_dataset(name, 16, channels)
    x = ds[0]
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert x.shape == (channels, 16, 16) and x.min() >= -1 and x.max() <= 1
    loader = torch.utils.data.DataLoader(ds, batch_size=2)
    assert next(iter(loader)).shape == (2, channels, 16, 16)


def test_folder_needs_root():
    with pytest.raises(TypeError, match="root"):
        get_dataset("folder", 16)


def test_cli_list_and_prepare(capsys, tmp_path):
    assert main(["list"]) == 0
    assert "synthrooms" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["fetch", "nonsense"])
