"""``python -m symgan results`` end to end at the smoke scale: the page, its checks and figures."""

from __future__ import annotations

from pathlib import Path

from symgan.__main__ import main


def test_results_page_at_smoke_scale(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "results.md"
    assert main(["results", "--scale", "smoke", "--out", str(out), "--n-z", "4", "--n-data", "64",
                 "--methods", "zprime", "dcgan", "--no-progress"]) == 0
    page = out.read_text()
    assert page.startswith("# Results at the `smoke` scale")
    assert "on the runs in `runs/`" not in page and "symgan/pretrained" in page  # the source is named
    for target in ("middle-image mirror-MSE <= 1e-10", "yaw swing along the series >= 18",
                   "mean |Spearman(yaw, t)| >= 0.95", "trained the full step budget (40)"):
        assert target in page, target
    assert "PASS: zprime: middle-image mirror-MSE" in page  # exact at any training stage
    assert "## Rooms (chapter 7)" in page
    for fig in ("results_samples_zprime.png", "results_rooms.png", "results_series.png", "results_yaw.png",
                "results_averaged.png", "results_mirror_mse.png", "results_overfitting.png",
                "results_losses.png"):
        assert (out.parent / "figures" / fig).is_file(), fig
        assert f"](figures/{fig})" in page
