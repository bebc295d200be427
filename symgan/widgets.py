r"""The latent explorer of chapter 9: sliders for ``z'``, the symmetry amount ``t``, seed and arch.

For a seed, ``z ~ U[-1, 1]^{z_dim}`` is drawn once; the sliders then set the latent

* ``zprime`` generator: ``z'`` (the first ``n_anti`` entries) from the sliders, scaled by ``t``:
  ``z_t = [t z', z'']``. ``t = 0`` gives a symmetric image, ``t = -1`` the mirror of ``t = 1``.
* ``flip`` generator: the first ``n_anti`` entries of ``z`` from the sliders, then
  ``z_t = (1+t)/2 z + (1-t)/2 flip(z)`` (paper Fig. 1, right).
* ``dcgan`` (the control): the ``zprime`` latent, showing what an unconstrained generator does
  with it (no guarantee at all).

The view shows ``G(z_t)`` next to its **asymmetry map** ``|G(z_t) - M G(z_t)|`` (mean over the
channels; black where the image equals its own mirror image), which differs by method and by
setting: for ``zprime`` and ``flip`` it is black at ``t = 0`` whatever the other sliders say, and
the map at ``-t`` is the mirror of the map at ``t``; ``dcgan`` has no such structure. The readout
gives the image's mirror-MSE and the guarantee ``max |G(z_t) - M G(z_{-t})|`` (float rounding for
the symmetric architectures). Speed: generators run in eval mode with symmetric layers exported to
plain convolutions (:func:`symgan.layers.export`), two images per move.

Chapter: ``book/09_latent_explorer``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .ema import calibrate_batchnorm
from .generators import ARCHS, Generator
from .images import to_uint8
from .latent import sample_latent
from .layers import export
from .symmetry import mirror

__all__ = ["LatentExplorer", "explorer_widget", "static_explorer_figure", "default_generators",
           "asymmetry_rgb", "ASYMMETRY_VMAX"]


def default_generators(
    img_size: int = 33, width: int = 32, channels: int = 3, seed: int = 0,
    archs: Sequence[str] = ("zprime", "flip", "dcgan"), n_calibrate: int = 256,
) -> dict[str, nn.Module]:
    """Untrained generators, one per arch, with BatchNorm statistics calibrated on
    ``n_calibrate`` random latents (:func:`symgan.ema.calibrate_batchnorm`), eval mode."""
    out: dict[str, nn.Module] = {}
    for k, arch in enumerate(archs):
        torch.manual_seed(seed + k)
        G = Generator(arch, img_size=img_size, channels=channels, width=width)
        z = G.sample_latent(n_calibrate, generator=torch.Generator().manual_seed(seed + 100 + k))
        out[arch] = calibrate_batchnorm(G, z)
    return out


ASYMMETRY_VMAX = 0.5  # fallback colour-map top of the asymmetry maps (|x - Mx|, images in [-1, 1])


def asymmetry_rgb(asym: Tensor, vmax: float = ASYMMETRY_VMAX) -> np.ndarray:
    """An asymmetry map ``(H, W)`` (values >= 0) as ``uint8`` RGB ``(H, W, 3)`` in matplotlib's
    ``magma`` colour map, 0 -> black, ``vmax`` and above -> the brightest colour."""
    if vmax <= 0:
        raise ValueError(f"vmax must be > 0, got {vmax}")
    from matplotlib import colormaps

    rgba = colormaps["magma"]((asym.clamp(0, vmax) / vmax).numpy())
    return (rgba[..., :3] * 255).round().astype(np.uint8)


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
        self._vmax: float | None = None

    @property
    def vmax(self) -> float:
        """The top of the asymmetry maps' colour scale, fixed for this explorer so that maps of
        different settings compare: the largest 99th percentile of the maps at ``t = 1`` over
        every arch and 8 seeds (``z'`` from the seed), rounded up to two significant digits;
        :data:`ASYMMETRY_VMAX` if that is 0. Computed once."""
        if self._vmax is None:
            top = 0.0
            for arch in self.archs:
                for s in range(8):
                    out = self.render(arch, self.seed_zprime(s), 1.0, s)
                    top = max(top, float(out["asymmetry"].quantile(0.99)))
            if top <= 0:
                self._vmax = ASYMMETRY_VMAX
            else:
                digits = 1 - int(np.floor(np.log10(top)))
                self._vmax = float(np.ceil(top * 10**digits) / 10**digits)
        return self._vmax

    @property
    def archs(self) -> list[str]:
        return list(self.generators)

    def seed_latent(self, seed: int) -> Tensor:
        """The latent that ``seed`` draws, ``(1, z_dim)``: at ``t = 1`` with its own ``z'`` (the
        sliders' starting values, :meth:`seed_zprime`) it is the latent of the view."""
        return sample_latent(1, self.z_dim, generator=torch.Generator().manual_seed(int(seed)))

    def seed_zprime(self, seed: int) -> list[float]:
        """The first ``n_anti`` entries of :meth:`seed_latent`: where the ``z'`` sliders start."""
        return [float(v) for v in self.seed_latent(seed)[0, : self.n_anti]]

    def latent(self, arch: str, zprime: Sequence[float], t: float, seed: int) -> Tensor:
        """The latent ``z_t`` for these settings, shape ``(1, z_dim)`` (see the module docstring)."""
        G = self.generators[arch]
        k = self.n_anti
        if len(zprime) != k:
            raise ValueError(f"expected {k} z' values, got {len(zprime)}")
        z = self.seed_latent(seed)
        z[0, :k] = torch.tensor([float(v) for v in zprime])
        if G.encoding == "flip":
            return (1 + t) / 2 * z + (1 - t) / 2 * z.flip(-1)
        z[0, :k] *= t
        return z

    @torch.no_grad()
    def render(self, arch: str, zprime: Sequence[float], t: float, seed: int) -> dict[str, Tensor]:
        """The view for one setting of the sliders.

        ``image``: ``G(z_t)``, ``(C, H, W)`` in ``[-1, 1]``; ``mirror_of_opposite``:
        ``M(G(z_{-t}))``, same shape; ``error``: ``max |G(z_t) - M G(z_{-t})|`` (0-d; float
        rounding for the symmetric architectures); ``asymmetry``: the map
        ``mean_c |G(z_t) - M G(z_t)|``, ``(H, W)`` in ``[0, 2]``; ``mirror_mse``:
        ``mean (G(z_t) - M G(z_t))^2`` (0-d).
        """
        f = self.fast[arch]
        p = next(f.parameters())
        z = torch.cat([self.latent(arch, zprime, t, seed), self.latent(arch, zprime, -t, seed)])
        x = f(z.to(p.device, p.dtype)).float().cpu()
        other = mirror(x[1])
        diff = x[0] - mirror(x[0])
        return {"image": x[0], "mirror_of_opposite": other, "error": (x[0] - other).abs().max(),
                "asymmetry": diff.abs().mean(0), "mirror_mse": diff.pow(2).mean()}

    def view_png(self, arch: str, zprime: Sequence[float], t: float, seed: int,
                 scale: int = 4, vmax: float | None = None) -> tuple[bytes, dict[str, Tensor]]:
        """PNG bytes of ``[G(z_t) | asymmetry map]`` side by side, up-scaled ``scale`` times
        (nearest), and the :meth:`render` dict they were drawn from. The map is coloured with
        :func:`asymmetry_rgb` (0 black, ``vmax`` and above the brightest; default :attr:`vmax`,
        one range for every setting, so that maps compare)."""
        from PIL import Image

        out = self.render(arch, zprime, t, seed)
        img = to_uint8(out["image"]).permute(1, 2, 0).numpy()
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        heat = asymmetry_rgb(out["asymmetry"], self.vmax if vmax is None else vmax)
        gap = np.full((img.shape[0], 2, 3), 255, dtype=np.uint8)
        pil = Image.fromarray(np.ascontiguousarray(np.concatenate([img, gap, heat], axis=1)))
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
        buf = io.BytesIO()
        pil.save(buf, format="PNG")
        return buf.getvalue(), out

    def render_png(self, arch: str, zprime: Sequence[float], t: float, seed: int,
                   scale: int = 4) -> tuple[bytes, float]:
        """:meth:`view_png`'s PNG and the guarantee error ``max |G(z_t) - M G(z_{-t})|``."""
        png, out = self.view_png(arch, zprime, t, seed, scale)
        return png, float(out["error"])


def explorer_widget(explorer: LatentExplorer, seed: int = 0, zprime: Sequence[float] | None = None,
                    t: float = 1.0, arch: str | None = None,
                    on_render: Callable[[float], None] | None = None):
    """The ipywidgets explorer: ``n_anti`` ``z'`` sliders, ``t``, seed and arch, and the view
    ``[G(z_t) | asymmetry map]`` with its readout.

    Returns an ``ipywidgets.VBox``; every change re-renders one view (milliseconds on a CPU).
    ``on_render`` is called with the guarantee error after each render. In the static HTML book
    the last state is shown (the image is part of the saved widget state); use
    :func:`static_explorer_figure` as the static fallback.
    """
    import ipywidgets as W

    if zprime is None:
        zprime = [round(v, 2) for v in explorer.seed_zprime(seed)]
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
        png, out = explorer.view_png(arch_w.value, [s.value for s in zs], ts.value, seed_w.value)
        err, mse = float(out["error"]), float(out["mirror_mse"])
        image.value = png
        info.value = (f"<b>left</b>: G(z<sub>t</sub>); <b>right</b>: its asymmetry "
                      f"|G(z<sub>t</sub>) - M G(z<sub>t</sub>)| (black: symmetric, brightest: "
                      f"{explorer.vmax:g} or more)<br>mirror-MSE of the image: {mse:.2e}; "
                      f"guarantee max |G(z<sub>t</sub>) - M G(z<sub>-t</sub>)| = {err:.1e}")
        if on_render is not None:
            on_render(err)

    for w in [*zs, ts, seed_w, arch_w]:
        w.observe(update, names="value")
    update()
    controls = W.VBox([arch_w, seed_w, ts, *zs])
    return W.VBox([W.HBox([controls, W.VBox([image, info])]),
                   W.HTML("<i>z' and flip: the map is black at t = 0 for every setting, and the "
                          "map at -t is the mirror of the map at t. dcgan: no such rule.</i>")])


def static_explorer_figure(explorer: LatentExplorer, seed: int = 0,
                           t_values: Sequence[float] = (1.0, 0.5, 0.0, -0.5, -1.0),
                           n_seeds: int = 16, vmax: float | None = None):
    """Static fallback of the explorer: for each arch, a row of ``G(z_t)`` for ``t_values`` and
    a row of their asymmetry maps (``seed``, ``z'`` from the seed); then two curves against
    ``t`` over ``n_seeds`` seeds: the mean mirror-MSE of ``G(z_t)`` (linear axis) and the
    largest guarantee error ``max |G(z_t) - M G(z_{-t})|`` (log axis: float rounding against
    order 1). ``vmax``: top of the maps' colour scale (default :attr:`LatentExplorer.vmax`).
    Returns the figure."""
    import matplotlib.pyplot as plt

    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    archs, ncol = explorer.archs, len(t_values)
    vmax = explorer.vmax if vmax is None else vmax

    n_img_rows = 2 * len(archs)
    fig = plt.figure(figsize=(1.25 * ncol + 2.2, 1.15 * n_img_rows + 3.4))
    grid = fig.add_gridspec(n_img_rows + 1, ncol, height_ratios=[1.0] * n_img_rows + [2.4])
    zp = explorer.seed_zprime(seed)
    for a, arch in enumerate(archs):
        for c, t in enumerate(t_values):
            out = explorer.render(arch, zp, t, seed)
            ax_i = fig.add_subplot(grid[2 * a, c])
            img = out["image"].clamp(-1, 1).add(1).div(2)
            ax_i.imshow(img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy(),
                        cmap="gray" if img.shape[0] == 1 else None, vmin=0, vmax=1)
            ax_m = fig.add_subplot(grid[2 * a + 1, c])
            ax_m.imshow(asymmetry_rgb(out["asymmetry"], vmax))
            for ax in (ax_i, ax_m):
                ax.set_xticks([])
                ax.set_yticks([])
            if a == 0:
                ax_i.set_title(f"t={t:+.2f}", fontsize=9)
            if c == 0:
                ax_i.set_ylabel(f"{arch}\nG(z_t)", rotation=0, ha="right", va="center", fontsize=8)
                ax_m.set_ylabel(f"{arch}\n|x - Mx|", rotation=0, ha="right", va="center",
                                fontsize=8)
    ts = np.linspace(1, -1, 21)
    ax_mse = fig.add_subplot(grid[-1, : max(1, ncol // 2)])
    ax_err = fig.add_subplot(grid[-1, max(1, ncol // 2):]) if ncol > 1 else None
    for arch in archs:
        mse = np.zeros(len(ts))
        err = np.zeros(len(ts))
        for s in range(n_seeds):
            zs = explorer.seed_zprime(seed + s)
            for i, t in enumerate(ts):
                out = explorer.render(arch, zs, float(t), seed + s)
                mse[i] += float(out["mirror_mse"]) / n_seeds
                err[i] = max(err[i], float(out["error"]))
        ax_mse.plot(ts, mse, "-", label=arch)
        if ax_err is not None:
            ax_err.plot(ts, np.maximum(err, 1e-12), "-", label=arch)
    ax_mse.set(xlabel="t", ylabel="mirror-MSE of G(z_t)", title=f"asymmetry, mean of {n_seeds} seeds")
    ax_mse.set_ylim(bottom=0)
    ax_mse.invert_xaxis()
    ax_mse.legend(fontsize=8, loc="best")
    if ax_err is not None:
        ax_err.set_yscale("log")
        ax_err.set(xlabel="t", ylabel="max |G(z_t) - M G(z_-t)|",
                   title="guarantee (log axis; 1e-12 = exact 0)")
        ax_err.invert_xaxis()
        ax_err.legend(fontsize=8, loc="best")
    fig.suptitle(f"Latent explorer, static view (seed {seed}; maps: black = symmetric, brightest = "
                 f"{vmax:g} or more)", fontsize=10)
    fig.tight_layout()
    return fig
