import pytest
import torch

from symgan.data import SynthFaces
from symgan.studies.yaw import (
    YawRegressor,
    evaluate_yaw_regressor,
    load_yaw_regressor,
    predict_yaw,
    train_yaw_regressor,
)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGAN_DATA", str(tmp_path / "data"))


def test_smoke_training_reads_yaw(tmp_path):
    kw = dict(img_size=16, channels=3, n_train=1500, seed=0, epochs=8)
    threads = torch.get_num_threads()
    model = train_yaw_regressor(**kw)
    assert torch.get_num_threads() == threads  # the thread setting is restored
    res = evaluate_yaw_regressor(model, n=300)
    assert res["yaw_max"] > 40 and res["yaw_min"] < -40
    assert res["mae"] <= 10.0, res
    # cached with safetensors, and reloaded identically
    files = list((tmp_path / "data" / "models").glob("yaw-*.safetensors"))
    assert len(files) == 1
    again = load_yaw_regressor(**kw)
    x = torch.stack([SynthFaces(16, 8, seed=99, cache=False)[i] for i in range(8)])
    assert torch.equal(predict_yaw(model, x), predict_yaw(again, x))


@pytest.mark.parametrize("size", [16, 17, 33])
def test_prediction_is_exactly_odd_under_mirror(size):
    torch.manual_seed(0)
    m = YawRegressor(size, 3).eval()
    x = torch.rand(5, 3, size, size) * 2 - 1
    assert torch.allclose(predict_yaw(m, x.flip(-1)), -predict_yaw(m, x), atol=1e-5)
    sym = x + x.flip(-1)
    assert predict_yaw(m, sym / 2).abs().max() < 1e-5
    # other sizes and channel counts are converted
    assert predict_yaw(m, torch.zeros(2, 1, 32, 32)).shape == (2,)


def test_bad_size():
    for bad in (4, 7, 16.0, "33"):
        with pytest.raises(ValueError, match="img_size must be an int >= 8"):
            YawRegressor(bad)
