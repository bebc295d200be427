"""symgan.plots: each figure draws what it is given (values, labels, one artist per curve)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from symgan.plots import (  # noqa: E402
    draw_maps,
    plot_logs,
    plot_quality_curve,
    plot_series_rows,
    plot_yaw_along_series,
    show_grid,
    show_series,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_grid_maps_minus_one_one_to_unit_range() -> None:
    x = torch.linspace(-1, 1, 2 * 3 * 4 * 4).view(2, 3, 4, 4)
    fig = show_grid(x, col_labels=["a", "b"], title="grid")
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 2
    assert np.allclose(shown[1], ((x[1] + 1) / 2).permute(1, 2, 0).numpy())
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"] and fig._suptitle.get_text() == "grid"
    grey = show_grid(x[:, :1])
    assert grey.axes[0].images[0].get_array().ndim == 2  # one channel: a grey image, not RGB
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        show_grid(x[0])


def test_show_series_labels_columns_by_t() -> None:
    fig = show_series(torch.zeros(2, 3, 1, 4, 4), [1.0, 0.0, -1.0], row_labels=["z1", "z2"])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["t=+1.00", "t=+0.00", "t=-1.00"]
    assert fig.axes[3].get_ylabel() == "z2"


def test_series_rows_one_axis_per_name() -> None:
    s = torch.zeros(2, 5, 3, 4, 4)
    fig = plot_series_rows({"first": s, "second": s})
    assert [ax.get_title() for ax in fig.axes] == ["first", "second"]
    assert len(plot_series_rows({"only": s}).axes) == 1


def test_yaw_one_line_per_latent_one_colour_per_name() -> None:
    yaw = np.arange(12.0).reshape(3, 4)  # 3 latents, series of 4
    ax = plot_yaw_along_series({"a": yaw, "b": -yaw})
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
    assert len(lines) == 6 and np.allclose(lines[0].get_xdata(), np.linspace(1, -1, 4))
    assert np.allclose(lines[4].get_ydata(), -yaw[1])
    assert lines[0].get_color() != lines[3].get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_logs_and_quality_curve() -> None:
    rows = [{"step": 1.0, "loss_d": 1.4, "loss_g": 0.7}, {"step": 2.0, "loss_d": 1.2, "loss_g": 0.9}]
    fig = plot_logs({"zprime": rows, "dcgan": rows + [{"step": 3.0, "loss_d": 1.0, "loss_g": 1.0,
                                                        "loss_sym": 0.1}]})
    assert [ax.get_title() for ax in fig.axes] == ["zprime", "dcgan"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 3]  # the symmetry loss where logged
    curve = [{"step": 100, "fid": 90.0, "yaw_swing": 10.0}, {"step": 200, "fid": 50.0, "yaw_swing": 20.0}]
    fig = plot_quality_curve(curve, fid_target=60.0, swing_target=18.0)
    fid_line, target = fig.axes[0].get_lines()
    assert list(fid_line.get_ydata()) == [90.0, 50.0] and list(target.get_ydata()) == [60.0, 60.0]
    assert [len(ax.get_lines()) for ax in plot_quality_curve(curve).axes] == [1, 1]  # no targets


def test_draw_maps_values_and_errors() -> None:
    k = torch.tensor([[1.0, -2.0, 1.0], [0.0, -0.01, 0.0]])
    fig = draw_maps([k, k.t()], ["kernel", "transposed"], suptitle="maps")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1.0", "\u22122.0", "1.0", "0.0", "0.0", "0.0"]  # no "-0.0"
    lo, hi = fig.axes[0].images[0].get_clim()
    assert (lo, hi) == (-2.0, 2.0)  # a symmetric colour scale: white is zero
    assert not draw_maps([torch.zeros(9, 9)], ["big"]).axes[0].texts  # too large to annotate
    with pytest.raises(ValueError, match="titles"):
        draw_maps([k], ["a", "b"])
    with pytest.raises(ValueError, match="2D"):
        draw_maps([torch.zeros(2, 2, 2)], ["a"])
