r"""The latent explorer of chapter 9: sliders for ``z'``, the symmetry amount ``t``, seed and arch.

For a seed, ``z ~ U[-1, 1]^{z_dim}`` is drawn once; the sliders then set the latent

* ``zprime`` generator: ``z'`` (the first ``n_anti`` entries) from the sliders, scaled by ``t``:
  ``z_t = [t z', z'']``. ``t = 0`` gives a symmetric image, ``t = -1`` the mirror of ``t = 1``.
* ``flip`` generator: the first ``n_anti`` entries of ``z`` from the sliders, then
  ``z_t = (1+t)/2 z + (1-t)/2 flip(z)`` (paper Fig. 1, right).
* ``dcgan`` (the control): the ``zprime`` latent, showing what an unconstrained generator does
  with it (no guarantee at all).

The view shows ``G(z_t)``, ``M(G(z_{-t}))`` (equal to ``G(z_t)`` for the symmetric
architectures) and their difference. Speed: generators run in eval mode with symmetric layers
exported to plain convolutions (:func:`symgan.layers.export`), one image per move.

Chapter: ``book/09_latent_explorer``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .book import calibrate_batchnorm
from .generators import ARCHS, Generator
from .latent import sample_latent
from .layers import export
from .symmetry import mirror

__all__ = ["LatentExplorer", "explorer_widget", "static_explorer_figure", "default_generators"]


def default_generators(
    img_size: int = 33, width: int = 32, channels: int = 3, seed: int = 0,
    archs: Sequence[str] = ("zprime", "flip", "dcgan"), n_calibrate: int = 256,
) -> dict[str, nn.Module]:
    """Untrained generators, one per arch, with BatchNorm statistics calibrated on
    ``n_calibrate`` random latents (:func:`symgan.book.calibrate_batchnorm`), eval mode."""
    out: dict[str, nn.Module] = {}
    for k, arch in enumerate(archs):
        torch.manual_seed(seed + k)
        G = Generator(arch, img_size=img_size, channels=channels, width=width)
        z = G.sample_latent(n_calibrate, generator=torch.Generator().manual_seed(seed + 100 + k))
        out[arch] = calibrate_batchnorm(G, z)
    return out


class LatentExplorer:
    """Renders images for explorer settings; independent of ipywidgets (tested on its own).

    ``generators``: arch name -> :class:`~symgan.generators.Generator` (trained or not).
    Each is exported (plain convolutions) and put in eval mode once.
    """

    def __init__(self, generators: dict[str, Generator]) -> None:
        if not generators:
            raise ValueError("need at least one generator")
        self.generators = generators
        self.fast: dict[str, nn.Module] = {}
        for arch, G in generators.items():
            if getattr(G, "arch", arch) not in ARCHS:
                raise ValueError(f"unknown arch {arch!r}")
            self.fast[arch] = export(G).eval()
        any_g = next(iter(generators.values()))
        self.z_dim, self.n_anti = any_g.z_dim, any_g.n_anti

    @property
    def archs(self) -> list[str]:
        return list(self.generators)

    def latent(self, arch: str, zprime: Sequence[float], t: float, seed: int) -> Tensor:
        """The latent ``z_t`` for these settings, shape ``(1, z_dim)`` (see the module docstring)."""
        G = self.generators[arch]
        k = self.n_anti
        if len(zprime) != k:
            raise ValueError(f"expected {k} z' values, got {len(zprime)}")
        z = sample_latent(1, self.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        z[0, :k] = torch.tensor([float(v) for v in zprime])
        if G.encoding == "flip":
            return (1 + t) / 2 * z + (1 - t) / 2 * z.flip(-1)
        z[0, :k] *= t
        return z

    @torch.no_grad()
    def render(self, arch: str, zprime: Sequence[float], t: float, seed: int) -> dict[str, Tensor]:
        """``{"image": G(z_t), "mirror_of_opposite": M(G(z_-t)), "error": max |difference|}``.

        Images ``(C, H, W)`` in ``[-1, 1]``; ``error`` a 0-d tensor.
        """
        f = self.fast[arch]
        p = next(f.parameters())
        z = torch.cat([self.latent(arch, zprime, t, seed), self.latent(arch, zprime, -t, seed)])
        x = f(z.to(p.device, p.dtype)).float().cpu()
        other = mirror(x[1])
        return {"image": x[0], "mirror_of_opposite": other, "error": (x[0] - other).abs().max()}

    def render_png(self, arch: str, zprime: Sequence[float], t: float, seed: int,
                   scale: int = 4) -> tuple[bytes, float]:
        """PNG bytes of ``[G(z_t) | M G(z_-t)]`` side by side, up-scaled ``scale`` times
        (nearest), and the measured error."""
        from PIL import Image

        out = self.render(arch, zprime, t, seed)
        pair = torch.cat([out["image"], torch.ones_like(out["image"][:, :, :2]), out["mirror_of_opposite"]], -1)
        arr = pair.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).numpy()
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        img = Image.fromarray(np.ascontiguousarray(arr))
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue(), float(out["error"])


def explorer_widget(explorer: LatentExplorer, seed: int = 0, zprime: Sequence[float] | None = None,
                    t: float = 1.0, arch: str | None = None,
                    on_render: Callable[[float], None] | None = None):
    """The ipywidgets explorer: ``n_anti`` ``z'`` sliders, ``t``, seed and arch, and the image.

    Returns an ``ipywidgets.VBox``; every change re-renders one image pair (milliseconds on a
    CPU). In the static HTML book the last state is shown (the image is part of the saved
    widget state); use :func:`static_explorer_figure` as the static fallback.
    """
    import ipywidgets as W

    k = explorer.n_anti
    if zprime is None:
        z0 = sample_latent(1, explorer.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        zprime = [round(float(v), 2) for v in z0[0, :k]]
    sl = dict(min=-1.0, max=1.0, step=0.05, continuous_update=True, readout_format=".2f",
              layout=W.Layout(width="320px"))
    zs = [W.FloatSlider(value=float(v), description=f"z'[{i}]", **sl) for i, v in enumerate(zprime)]
    ts = W.FloatSlider(value=float(t), description="t", **sl)
    seed_w = W.IntSlider(value=int(seed), min=0, max=999, description="seed",
                         layout=W.Layout(width="320px"))
    arch_w = W.ToggleButtons(options=explorer.archs, value=arch or explorer.archs[0], description="arch")
    image = W.Image(format="png", layout=W.Layout(width="auto"))
    info = W.HTML()

    def update(_=None) -> None:
        png, err = explorer.render_png(arch_w.value, [s.value for s in zs], ts.value, seed_w.value)
        image.value = png
        info.value = (f"<b>left</b>: G(z<sub>t</sub>), <b>right</b>: mirror of G(z<sub>-t</sub>); "
                      f"max |difference| = {err:.1e}")
        if on_render is not None:
            on_render(err)

    for w in [*zs, ts, seed_w, arch_w]:
        w.observe(update, names="value")
    update()
    controls = W.VBox([arch_w, seed_w, ts, *zs])
    return W.VBox([W.HBox([controls, W.VBox([image, info])]),
                   W.HTML("<i>Symmetric architectures: the two images are identical for every "
                          "setting; at t = 0 the image is symmetric.</i>")])


def static_explorer_figure(explorer: LatentExplorer, seed: int = 0,
                           t_values: Sequence[float] = (1.0, 0.5, 0.0, -0.5, -1.0)):
    """Static fallback: one row per arch, columns ``G(z_t)`` for ``t_values``, then one row per
    ``z'`` coordinate of the first arch swept from -1 to 1 (paper Fig. 14). Returns the figure."""
    import matplotlib.pyplot as plt

    k = explorer.n_anti
    z0 = sample_latent(1, explorer.z_dim, generator=torch.Generator().manual_seed(int(seed)))
    zp = [float(v) for v in z0[0, :k]]
    first = explorer.archs[0]
    sweep = list(np.linspace(-1, 1, len(t_values)))
    rows: list[tuple[str, list[Tensor]]] = []
    for arch in explorer.archs:
        rows.append((f"{arch}\nt sweep", [explorer.render(arch, zp, t, seed)["image"] for t in t_values]))
    for i in range(k):
        imgs = []
        for v in sweep:
            zz = list(zp)
            zz[i] = float(v)
            imgs.append(explorer.render(first, zz, 1.0, seed)["image"])
        rows.append((f"{first}\nz'[{i}] sweep", imgs))
    ncol = len(t_values)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.25 * ncol + 1.6, 1.25 * len(rows) + 0.9),
                             squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            a = img.clamp(-1, 1).add(1).div(2)
            ax.imshow(a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy(),
                      cmap="gray" if a.shape[0] == 1 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
            if r == 0:
                ax.set_title(f"t={t_values[c]:+.2f}", fontsize=9)
            if r == len(explorer.archs):
                ax.set_title(f"value {sweep[c]:+.2f}", fontsize=9)
    fig.suptitle(f"Latent explorer, static view (seed {seed})")
    fig.supxlabel("columns: t from 1 to -1 (top rows); one z' coordinate from -1 to 1 (bottom rows)",
                  fontsize=9)
    fig.tight_layout()
    return fig
