"""The command line: every command has --help, and train -> sample -> evaluate works at smoke scale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from symgan.__main__ import main

pytestmark = pytest.mark.usefixtures("scratch_dirs")


@pytest.mark.parametrize("cmd", ["train", "sample", "evaluate", "results"])
def test_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_train_sample_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               inception_net) -> None:
    run = tmp_path / "run"
    assert main(["train", "--method", "zprime", "--scale", "smoke", "--steps", "10",
                 "--no-progress", "--out", str(run)]) == 0
    assert (run / "checkpoint.safetensors").is_file() and (run / "log.csv").is_file()
    assert main(["sample", str(run), "--n", "16", "--rows", "2"]) == 0
    for name in ("grid.png", "series.png", "series_averaged.png"):
        assert (run / "samples" / name).is_file()
    capsys.readouterr()
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run), "--n-z", "4", "--n-data", "32", "--no-yaw", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["method"] == "zprime" and res["step"] == 10
    assert res["middle_mirror_mse"] <= 1e-10 and res["d_mirror_gap"] < 1e-6
    assert main(["evaluate", str(run), "--n-z", "2", "--n-data", "6", "--no-yaw", "--fid",
                 "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["fid"] > 0 and res["n_real"] == res["n_fake"] == 6
    # 6 images a set: every KID subset (min(50, 6, 6) images, drawn without replacement) is the
    # whole set, so the 100 subsets agree up to summation order
    assert res["kid_std"] <= 1e-6 * max(1.0, abs(res["kid"])), res


def test_module_entry_point_and_errors(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "symgan", "evaluate", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert r.returncode == 4 and "no checkpoint" in r.stderr
