"""Every figure of the package that is not an architecture diagram: image grids, the paper's
curves and the training losses, drawn with matplotlib.

Images are float tensors in ``[-1, 1]`` of shape ``(N, C, H, W)``; figures map them to
``[0, 1]`` with ``(x + 1) / 2``. The numbers come from :mod:`symgan.metrics`,
:mod:`symgan.studies` and :mod:`symgan.runs` (the training log); nothing here measures.

* :func:`show_grid`, :func:`show_series`: labelled image grids, the series of paper Fig. 9;
* :func:`plot_series`, :func:`plot_series_rows`: series ``(B, n, C, H, W)`` as one picture per
  method (paper Figs. 9, 10);
* :func:`plot_mirror_mse_curves`: Supplementary Fig. 7, all methods on one axis;
* :func:`plot_overfitting`: paper Fig. 6, ``p(x)`` against ``p(M x)``;
* :func:`plot_yaw_along_series`: the SynthFaces yaw regressor along each series;
* :func:`plot_log`, :func:`plot_logs`: the training losses of one run, of several;
* :func:`plot_quality_curve`: FID and yaw swing against training steps;
* :func:`draw_maps`: small kernels and feature maps as heatmaps whose numbers stay readable
  (paper Fig. 4).
* :func:`rotation_study_grid`, :func:`real_rotation_grid`: face rotations by inversion and by
  FitAndTune (section 3), as one image for :func:`symgan.images.save_image`.

Functions that take ``ax`` draw on it (a new figure when ``None``) and return the axes; the
others return the figure (the rotation grids: an image tensor). Chapters:
``book/02_symmetric_kernels`` to ``book/10_tileable_textures``; ``python -m symgan results``
saves the same figures for ``docs/results.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "show_grid",
    "show_series",
    "plot_series",
    "plot_series_rows",
    "plot_mirror_mse_curves",
    "plot_overfitting",
    "plot_yaw_along_series",
    "plot_log",
    "plot_logs",
    "plot_quality_curve",
    "draw_maps",
    "rotation_study_grid",
    "real_rotation_grid",
]


def _to_numpy_image(x: Tensor) -> np.ndarray:
    """``(C, H, W)`` in ``[-1, 1]`` -> ``(H, W, 3)`` or ``(H, W)`` in ``[0, 1]`` for imshow."""
    x = x.detach().to("cpu", torch.float32).clamp(-1, 1).add(1).div(2)
    if x.shape[0] == 1:
        return x[0].numpy()
    return x.permute(1, 2, 0).numpy()


def show_grid(
    images: Tensor,
    nrow: int | None = None,
    title: str = "",
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    size: float = 1.1,
) -> Figure:
    """Draw images ``(N, C, H, W)`` (or ``(R, K, C, H, W)``: ``R`` rows of ``K``) in a grid.

    One axis per image so rows and columns can be labelled; returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if images.dim() == 5:
        nrow = images.shape[1]
        images = images.reshape(-1, *images.shape[2:])
    if images.dim() != 4:
        raise ValueError(f"show_grid expects (N, C, H, W) or (R, K, C, H, W), got {tuple(images.shape)}")
    n = images.shape[0]
    ncol = nrow or min(n, 8)
    nrows = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrows, ncol, figsize=(size * ncol + 1.2, size * nrows + 0.8), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < n:
            img = _to_numpy_image(images[k])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        else:
            ax.axis("off")
    if row_labels:
        for r, lab in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(lab, rotation=0, ha="right", va="center", fontsize=9)
    if col_labels:
        for c, lab in enumerate(col_labels[:ncol]):
            axes[0, c].set_title(lab, fontsize=9)
    if xlabel:
        fig.supxlabel(xlabel, fontsize=10)
    if ylabel:
        fig.supylabel(ylabel, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_series(series: Tensor, t: Tensor | Sequence[float], title: str = "",
                row_labels: Sequence[str] | None = None, size: float = 1.1) -> Figure:
    """Draw series of images (paper Fig. 9): ``(R, K, C, H, W)``, columns labelled by ``t``.

    ``t`` is the symmetry amount of each column (``1`` = the sample, ``0`` = symmetric latent,
    ``-1`` = mirror latent); see :func:`symgan.latent.latent_series`.
    """
    if series.dim() == 4:
        series = series.unsqueeze(0)
    tt = [float(v) for v in t]
    return show_grid(series, title=title, row_labels=row_labels,
                     col_labels=[f"t={v:+.2f}" for v in tt],
                     xlabel="symmetry amount t (1: sample, 0: symmetric latent, -1: mirror latent)",
                     size=size)


def plot_series(series: Tensor, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Show series ``(B, n, C, H, W)`` as one picture: one row per latent, ``t`` from 1 (left)
    to -1 (:func:`symgan.metrics.series_images`, paper Fig. 9)."""
    import matplotlib.pyplot as plt

    from .images import make_grid, to_uint8_hwc

    if ax is None:
        _, ax = plt.subplots(figsize=(series.shape[1] * 0.8, series.shape[0] * 0.8))
    grid = to_uint8_hwc(make_grid(series.flatten(0, 1), nrow=series.shape[1]))
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def plot_series_rows(series: Mapping[str, Tensor]) -> Figure:
    """One :func:`plot_series` per name, one under the other (series ``(B, n, C, H, W)`` each,
    as :func:`symgan.metrics.series_images` or :func:`~symgan.metrics.averaged_series` return);
    returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(series), 1, figsize=(7, 2.5 * len(series)))
    for ax, (name, s) in zip(list(getattr(axes, "flat", [axes])), series.items(), strict=False):
        plot_series(s, ax=ax, title=name)
    fig.tight_layout()
    return fig


def plot_mirror_mse_curves(curves: Mapping[str, list[float]], real: float | None = None,
                           ax: Axes | None = None, log: bool = True) -> Axes:
    """All methods' mirror-MSE curves on one axis (Supplementary Fig. 7,
    :func:`symgan.metrics.mirror_mse_curves`), with the real data's mean mirror-MSE as a dashed
    line. A log axis shows the exact zeros (clipped at 1e-16)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for name, c in curves.items():
        n = len(c)
        t = np.linspace(1, -1, n)
        ax.plot(t, np.maximum(np.asarray(c), 1e-16) if log else c, marker="o", ms=3, label=name)
    if real is not None:
        ax.axhline(real, color="k", ls="--", lw=1, label="real data")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("t (series position; 0 = symmetric latent)")
    ax.set_ylabel("mean mirror-MSE")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    return ax


def plot_overfitting(result: Mapping[str, Mapping], axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """Scatter ``p(x)`` against ``p(M x)`` per discriminator (paper Fig. 6; the result of
    :func:`symgan.metrics.discriminator_overfitting`); the diagonal is mirror invariance."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(result), figsize=(3.6 * len(result), 3.4), squeeze=False)
        axes = axes[0]
    for ax, (name, r) in zip(axes, result.items(), strict=False):
        ax.scatter(r["p_real"], r["p_mirror"], s=4, alpha=0.5)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("D: P(real | training image)")
        ax.set_ylabel("P(real | its mirror)")
        ax.set_title(f"{name}: mean |gap| {r['mean_abs_gap']:.3f}", fontsize=9)
    return axes


def plot_yaw_along_series(yaws: Mapping[str, np.ndarray | Sequence[Sequence[float]]],
                          ax: Axes | None = None) -> Axes:
    """Yaw (degrees) along the series, one colour per name: ``yaws[name]`` is ``(B, n)``, the
    ``"yaw"`` of :func:`symgan.metrics.yaw_along_series`, one line per latent, ``t`` from 1 to -1."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    for i, (name, yaw) in enumerate(yaws.items()):
        y = np.asarray(yaw)
        t = np.linspace(1, -1, y.shape[1])
        ax.plot(t, y.T, color=f"C{i}", lw=0.8, alpha=0.7)
        ax.plot([], [], color=f"C{i}", label=name)
    ax.set(xlabel="t", ylabel="yaw (degrees, regressor)")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    return ax


def plot_log(log: list[dict[str, float]] | str | os.PathLike, ax: Axes | None = None,
             title: str | None = None) -> Axes:
    """One call: D and G losses (and the symmetry loss, if any) against the step. ``log`` is
    rows (:func:`symgan.runs.read_log`) or a run folder / ``log.csv`` path. Returns the axes."""
    import matplotlib.pyplot as plt

    from .runs import read_log

    rows = read_log(log) if isinstance(log, str | os.PathLike) else log
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss (BCE)"), ("loss_sym", "symmetry loss")):
        if any(key in r for r in rows):
            ax.plot(steps, [r.get(key, float("nan")) for r in rows], label=label, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_logs(logs: Mapping[str, list[dict[str, float]]]) -> Figure:
    """:func:`plot_log` of several runs side by side, titled by name; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(logs), figsize=(3.4 * len(logs), 3), squeeze=False)
    for ax, (name, rows) in zip(axes[0], logs.items(), strict=False):
        plot_log(rows, ax=ax, title=name)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_quality_curve(curve: Sequence[Mapping[str, float]], fid_target: float | None = None,
                       swing_target: float | None = None, name: str = "z'") -> Figure:
    """FID and yaw swing against training steps, side by side; ``curve`` is rows with
    ``step``, ``fid`` and ``yaw_swing`` (the manifest's ``curve`` of a shipped run), a target
    as a dashed line. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    steps = [c["step"] for c in curve]
    a1.plot(steps, [c["fid"] for c in curve], "o-")
    a2.plot(steps, [c["yaw_swing"] for c in curve], "o-", color="C1")
    for ax, target in ((a1, fid_target), (a2, swing_target)):
        if target is not None:
            ax.axhline(target, color="gray", ls="--", lw=0.8, label="target")
            ax.legend(fontsize=8)
    a1.set(xlabel="training steps", ylabel="FID", title=f"{name}: FID against steps")
    a2.set(xlabel="training steps", ylabel="yaw swing (degrees)", title=f"{name}: head turn against steps")
    fig.tight_layout()
    return fig


def draw_maps(maps: Sequence[torch.Tensor], titles: Sequence[str], suptitle: str = "",
              fmt: str = "{:.1f}", annotate: bool = True, panel: float = 2.05) -> Figure:
    """Draw 2D kernels or feature maps ``(H, W)`` side by side as heatmaps (paper Fig. 4).

    One diverging colour scale per map (red positive, blue negative, white zero), so equal values
    get equal colours and mirror structure shows. With ``annotate`` every cell of a map of at
    most 8x8 carries its value, in white on dark cells; the panels are ``panel`` inches wide,
    large enough for the numbers to be read at the book's page width. Returns the figure.
    Chapters: ``book/02_symmetric_kernels`` to ``book/05_symmetric_discriminator``.
    """
    import matplotlib.pyplot as plt

    if len(maps) != len(titles):
        raise ValueError(f"draw_maps: {len(maps)} maps but {len(titles)} titles")
    if not maps:
        raise ValueError("draw_maps: no maps to draw")
    maps = [m.detach().to("cpu", torch.float32) for m in maps]
    for m in maps:
        if m.dim() != 2:
            raise ValueError(f"draw_maps expects 2D maps (H, W), got shape {tuple(m.shape)}")
    widths = [m.shape[1] for m in maps]
    fig, axes = plt.subplots(1, len(maps), squeeze=False,
                             figsize=(panel * len(maps) * (0.75 + 0.25 * max(widths) / 5) + 0.2,
                                      panel + 0.9 + (0.3 if suptitle else 0)),
                             gridspec_kw=dict(width_ratios=widths))
    for ax, m, title in zip(axes[0], maps, titles, strict=True):
        v = float(m.abs().max()) or 1.0
        ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-v, vmax=v)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.tick_params(labelsize=9, length=0)
        ax.set_xlabel("column", fontsize=9)
        if annotate and max(m.shape) <= 8:
            for i in range(m.shape[0]):
                for j in range(m.shape[1]):
                    x = float(m[i, j])
                    label = fmt.format(x)
                    if float(label) == 0.0:  # no "-0.0"
                        label = fmt.format(0.0)
                    ax.text(j, i, label.replace("-", "\u2212"), ha="center", va="center",
                            fontsize=10, color="white" if abs(x) > 0.55 * v else "black")
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    fig.tight_layout()
    return fig


def _enlarge(grid: Tensor, factor: int) -> Tensor:
    """Nearest-neighbour enlargement, so 32-pixel faces stay visible in a rendered page."""
    return grid.repeat_interleave(factor, -1).repeat_interleave(factor, -2)


def rotation_study_grid(examples: Sequence[tuple[Tensor, Tensor, Tensor]],
                        ground_truth: Sequence[Tensor], enlarge: int = 3) -> Tensor:
    """The held-out SynthFaces of the rotation study as one image ``(C, H', W')`` in ``[-1, 1]``
    for :func:`symgan.images.save_image` (section 3, ``docs/rotation.md``).

    ``examples``: ``(target (C, S, S), inversion frames (n, C, S, S), tuned frames)`` as in
    :class:`symgan.studies.rotation.RotationStudy`; ``ground_truth``: per example the renders
    ``(n, C, S, S)`` of :func:`symgan.studies.rotation.ground_truth_renders` for its tuned frames.
    Three rows of ``n + 1`` tiles per example: the target and the inversion-only rotation; a
    blank and FitAndTune's rotation; a blank and the ground truth. Enlarged ``enlarge`` times.
    Chapter: ``book/08_face_rotation``.
    """
    from .images import make_grid

    rows = []
    for (target, f_inv, f_tun), gt in zip(examples, ground_truth, strict=True):
        blank = torch.ones_like(target)
        rows += [target[None], f_inv, blank[None], f_tun, blank[None], gt]
    n = examples[-1][1].shape[0] + 1
    return _enlarge(make_grid(torch.cat(rows), nrow=n, padding=1), enlarge)


def real_rotation_grid(examples: Sequence[tuple[Tensor, Tensor, Tensor]], enlarge: int = 3) -> Tensor:
    """Rotations of real photos as one image ``(C, H', W')`` in ``[-1, 1]`` for
    :func:`symgan.images.save_image`: per example ``(target (C, S, S), inversion frames
    (n, C, S, S), tuned frames)`` two rows of ``n + 1`` tiles, the target before the
    inversion-only rotation and again before FitAndTune's (section 3, ``docs/rotation.md``).
    Enlarged ``enlarge`` times. Chapter: ``book/08_face_rotation``.
    """
    from .images import make_grid

    rows = []
    for target, f_inv, f_tun in examples:
        rows += [target[None], f_inv, target[None], f_tun]
    n = examples[-1][1].shape[0] + 1
    return _enlarge(make_grid(torch.cat(rows), nrow=n, padding=1), enlarge)
