r"""Architecture diagrams with tensor shapes (paper Figs. 1, 2, 3, 5 and 7), drawn by code.

Every shape in a diagram is *measured* on a real :class:`~symgan.generators.Generator` or
:class:`~symgan.discriminators.Discriminator` (forward hooks on one input), so a diagram cannot
drift from the package. The defaults draw the paper's models: 65 px, width 64, the paper
geometry, where the numbers are the paper's own (``z' -> 5120 = 512 x 5 x 2``,
``z'' -> 7680 = 512 x 5 x 3``, the flip stem's ``12,800 = 512 x 5 x 5``, the discriminator's
``5 x 5 x 512`` map folded to ``5 x 3 x 512 = 7680`` values).

* :func:`layer_shapes`: the output shape of the stem and of every up- or down-sampling block;
* :func:`draw_generator`: the z' stem (Fig. 3) or the flip stem (Fig. 5), then the body (Fig. 2);
* :func:`draw_discriminator`: the symmetric discriminator and its fold (Figs. 4d, 7);
* :func:`architecture_figure`: the three, one under the other.

Kernels and feature maps as heatmaps (paper Fig. 4) are :func:`symgan.plots.draw_maps`.

Chapters: ``book/01_introduction`` (all three), ``book/03_zprime_generator``,
``book/04_flip_generator``, ``book/05_symmetric_discriminator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .device import eval_mode

__all__ = ["layer_shapes", "draw_generator", "draw_discriminator", "architecture_figure"]

_COLOURS = {
    "latent": "#fde9c9",   # inputs
    "anti": "#f8c9c4",     # antisymmetric maps
    "sym": "#c9dcf5",      # symmetric maps, and every map of a symmetric network
    "plain": "#e4e4e4",    # vectors without structure
    "out": "#d3ecd0",      # images, scores
}


def _x(shape: Sequence[int]) -> str:
    return "\u00d7".join(str(int(s)) for s in shape)


@torch.no_grad()
def layer_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Output shapes (without the batch dimension) of a model's stages, measured on one input.

    Generator: ``[("stem", (C0, s, s)), ("up 1", ...), ..., ("up L", (channels, H, W))]``.
    Discriminator: ``[("image", (C, H, W)), ("down 1", ...), ..., ("down L", (C, s, s))]``.
    The model runs in eval mode on a copy of its mode-independent inputs (its own mode is restored).
    """
    from .discriminators import Discriminator
    from .generators import Generator

    if not isinstance(model, Generator | Discriminator):
        raise TypeError(f"model must be a symgan Generator or Discriminator, got "
                        f"{type(model).__name__}")
    shapes: list[tuple[str, tuple[int, ...]]] = []
    hooks = []
    try:
        if isinstance(model, Generator):
            hooks.append(model.stem.register_forward_hook(
                lambda _m, _i, o: shapes.append(("stem", tuple(o.shape[1:])))))
            for k, block in enumerate(model.body):
                hooks.append(block.register_forward_hook(
                    lambda _m, _i, o, k=k: shapes.append((f"up {k + 1}", tuple(o.shape[1:])))))
            p = next(model.parameters())
            with eval_mode(model):
                model(torch.zeros(1, model.z_dim, dtype=p.dtype, device=p.device))
        else:
            shapes.append(("image", (model.channels, model.img_size, model.img_size)))
            for k, block in enumerate(model.body):
                hooks.append(block.register_forward_hook(
                    lambda _m, _i, o, k=k: shapes.append((f"down {k + 1}", tuple(o.shape[1:])))))
            p = next(model.parameters())
            with eval_mode(model):
                model(torch.zeros(1, model.channels, model.img_size, model.img_size,
                                  dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
    return shapes


@dataclass
class _Node:
    x: float
    y: float
    text: str
    kind: str


class _Canvas:
    """Boxes at grid positions, joined by labelled arrows (a tiny flow-chart layer)."""

    def __init__(self, ax, fontsize: float = 12.5) -> None:
        self.ax, self.fs, self.artists = ax, fontsize, {}
        ax.set_axis_off()

    @classmethod
    def on(cls, ax, figsize: tuple[float, float], ylim: tuple[float, float]) -> _Canvas:
        """A canvas on ``ax`` (a new figure of ``figsize`` when ``None``), 6.7 units wide."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=figsize)
        ax.set_xlim(-0.55, 6.15)
        ax.set_ylim(*ylim)
        return cls(ax)

    def node(self, key: str, x: float, y: float, text: str, kind: str = "sym") -> None:
        self.artists[key] = (self.ax.text(
            x, y, text, ha="center", va="center", fontsize=self.fs, zorder=3,
            bbox=dict(boxstyle="round,pad=0.35", fc=_COLOURS[kind], ec="#555555", lw=0.8),
        ), (x, y))

    def arrow(self, a: str, b: str, label: str = "", side: str = "h", dy: float = 0.17) -> None:
        (ta, (xa, ya)), (tb, (xb, yb)) = self.artists[a], self.artists[b]
        if side == "h":       # right edge of a -> left edge of b
            src, dst = (1.0, 0.5), (0.0, 0.5)
        elif side == "down":  # bottom of a -> top of b
            src, dst = (0.5, 0.0), (0.5, 1.0)
        else:                 # "up": top of a -> bottom of b
            src, dst = (0.5, 1.0), (0.5, 0.0)
        self.ax.annotate("", xy=dst, xycoords=tb, xytext=src, textcoords=ta, zorder=2,
                         arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.0,
                                         shrinkA=1, shrinkB=1))
        if label:
            if side == "h":
                self.ax.text((xa + xb) / 2, (ya + yb) / 2 + dy, label, ha="center",
                             va="bottom", fontsize=self.fs - 1, color="#222222", zorder=4)
            else:
                self.ax.text((xa + xb) / 2 + 0.08, (ya + yb) / 2, label, ha="left",
                             va="center", fontsize=self.fs - 1, color="#222222", zorder=4)


    def route(self, a: str, b: str, y_mid: float) -> None:
        """From the centre of ``a`` (its box hides the start) down to ``y_mid``, across to above
        ``b``, then an arrow down into the top of ``b``: a row-to-row link that crosses nothing."""
        (_ta, (xa, ya)), (tb, (xb, _yb)) = self.artists[a], self.artists[b]
        self.ax.plot([xa, xa, xb], [ya, y_mid, y_mid], color="#333333", lw=1.0, zorder=1)
        self.ax.annotate("", xy=(0.5, 1.0), xycoords=tb, xytext=(xb, y_mid),
                         textcoords="data", zorder=2,
                         arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.0,
                                         shrinkA=0, shrinkB=1))


def _columns(s: int, antisymmetric: bool) -> str:
    """The column pattern of an ``s``-wide (anti)symmetric map, e.g. ``a b 0 -b -a``."""
    letters = "abcdefghijklmnop"
    half = [letters[i] for i in range(s // 2)]
    mid = ["0" if antisymmetric else letters[s // 2]] if s % 2 else []
    right = [("\u2212" if antisymmetric else "") + c for c in reversed(half)]
    return " ".join(half + mid + right)


def _body(c: _Canvas, shapes, y: float, x0: float, dx: float, first: str, geometry) -> None:
    k, st, p = geometry.kernel_size, geometry.stride, geometry.padding
    prev = first
    for i, (_name, shp) in enumerate(shapes[1:]):
        last = i == len(shapes) - 2
        key = f"up{i}"
        c.node(key, x0 + dx * (i + 1), y, ("image\n" if last else "") + _x(shp),
               "out" if last else "sym")
        c.arrow(prev, key, "tanh" if last else "")
        prev = key
    c.ax.text(x0 - 0.45, y - 0.42,
              f"arrows: {k}\u00d7{k} symmetric transposed conv, stride {st}, padding {p} "
              f"(s \u2192 {_up_rule(geometry)}), BN + ReLU; tanh last",
              ha="left", va="top", fontsize=c.fs - 1, color="#333333")


def _up_rule(geometry) -> str:
    """``"2s - 1"`` (paper) or ``"2s"`` (DC-GAN): the width after one generator layer."""
    a, b = geometry.stride, geometry.up(0)
    return f"{a}s \u2212 {-b}" if b < 0 else (f"{a}s + {b}" if b else f"{a}s")


def _stem_parts(G: nn.Module, c0: int, s: int
                ) -> tuple[list[tuple[str, str, str]], list[str], list[str], str]:
    """The stem's two branches, top then bottom: the labels of latent, projection and map, the
    map's style, then the four arrow labels and the title (Fig. 3 for z', Fig. 5 for flip)."""
    stem, sq = G.stem[0], _x((c0, s, s))
    if G.arch == "zprime":
        na, nb = stem.anti.out_features, stem.sym.out_features
        rows = [(f"z'\n{G.n_anti}", f"{_x((c0, s, s // 2))}\n= {na:,}", f"{sq}\n{_columns(s, True)}"),
                (f"z''\n{G.z_dim - G.n_anti}", f"{_x((c0, s, (s + 1) // 2))}\n= {nb:,}",
                 f"{sq}\n{_columns(s, False)}")]
        return rows, ["anti", "sym"], ["A (no bias)", "S (bias)", "complete", "complete"], \
            "z' generator (paper Figs. 2, 3)"
    nf = stem.fc.out_features
    rows = [(f"z\n{G.z_dim}", f"F(z)\n{nf:,}", sq),
            (f"flip(z)\n{G.z_dim}", f"F(flip z)\n{nf:,}", f"M F(flip z)\n{sq}")]
    return rows, ["plain", "plain"], ["F (bias)", "same F", "reshape", "reshape, M"], \
        "flip generator (paper Figs. 2, 5)"


def _draw_stem(c: _Canvas, G: nn.Module, c0: int, s: int) -> str:
    """Draw the stem's two branches (top ``z1 -> a -> A``, bottom ``z2 -> b -> B``); returns the
    figure's title."""
    rows, map_styles, labels, title = _stem_parts(G, c0, s)
    for y, names, (latent, proj, fmap), style in zip((2, 1), ("1aA", "2bB"), rows, map_styles, strict=True):
        c.node(f"z{names[0]}", 0, y, latent, "latent")
        c.node(names[1], 1.85, y, proj, "plain")
        c.node(names[2], 3.85, y, fmap, style)
    c.arrow("z1", "a", labels[0])
    c.arrow("z2", "b", labels[1])
    c.arrow("a", "A", labels[2])
    c.arrow("b", "B", labels[3])
    return title


def draw_generator(G: nn.Module | None = None, arch: str = "zprime", ax=None):
    """Diagram of a z' (paper Fig. 3) or flip (Fig. 5) generator, stem and body (Fig. 2).

    ``G``: a :class:`~symgan.generators.Generator` (default: the paper's, 65 px, width 64, of
    ``arch``). Shapes are measured by :func:`layer_shapes`. Returns the figure.
    """

    from .generators import Generator
    from .geometry import get_geometry

    if G is None:
        G = Generator(arch, img_size=65, width=64)
    if G.arch not in ("zprime", "flip"):
        raise ValueError(f"draw_generator draws the 'zprime' and 'flip' generators, got {G.arch!r}")
    shapes = layer_shapes(G)
    geo = get_geometry(G.geometry)
    c0, s = shapes[0][1][0], shapes[0][1][1]
    c = _Canvas.on(ax, (8.4, 3.3), (-0.75, 2.45))
    fig, ax = c.ax.figure, c.ax
    title = _draw_stem(c, G, c0, s)
    c.node("h", 5.55, 1.5, f"sum h\n{_x((c0, s, s))}", "sym")
    c.arrow("A", "h")
    c.arrow("B", "h")
    dx = 5.6 / max(len(shapes) - 1, 1)
    c.node("h0", 0, 0, f"BN, ReLU\n{_x(shapes[0][1])}", "sym")
    c.route("h", "h0", 0.52)
    _body(c, shapes, 0, 0, dx, "h0", geo)
    ax.set_title(f"{title}: {G.img_size} px, width {G.width}, {G.geometry} geometry",
                 fontsize=13, loc="left")
    return fig


def draw_discriminator(D: nn.Module | None = None, ax=None):
    """Diagram of the symmetric discriminator (paper Fig. 7): symmetric convolutions down to the
    last ``s x s`` map, the fold (Fig. 4d) to ``s x ceil(s/2)``, one linear layer, one logit.

    ``D``: a symmetric :class:`~symgan.discriminators.Discriminator` (default: the paper's, 65 px,
    width 64). Returns the figure.
    """

    from .discriminators import Discriminator
    from .geometry import get_geometry

    if D is None:
        D = Discriminator(True, img_size=65, width=64)
    if not D.symmetric:
        raise ValueError("draw_discriminator draws the symmetric discriminator (symmetric=True)")
    shapes = layer_shapes(D)
    geo = get_geometry(D.geometry)
    cl, s = shapes[-1][1][0], shapes[-1][1][-1]
    folded = (cl, s, (s + 1) // 2)
    c = _Canvas.on(ax, (8.4, 2.5), (-0.7, 1.45))
    fig, ax = c.ax.figure, c.ax
    n_row1 = len(shapes) - 1
    dx = 5.6 / max(n_row1 - 1, 1)
    prev = None
    for i, (name, shp) in enumerate(shapes[:-1]):
        key = f"d{i}"
        c.node(key, dx * i, 1, ("image x\n" if name == "image" else "") + _x(shp),
               "out" if name == "image" else "sym")
        if prev:
            c.arrow(prev, key, "")
        prev = key
    c.node("last", 0, 0, _x(shapes[-1][1]), "sym")
    c.route(prev, "last", 0.5)
    c.node("fold", 2.2, 0, f"{_x(folded)}\n= {cl * folded[1] * folded[2]:,}", "plain")
    c.arrow("last", "fold", "fold")
    c.node("logit", 4.3, 0, "1 logit\nD(Mx) = D(x)", "out")
    c.arrow("fold", "logit", "linear")
    k, st, p = geo.kernel_size, geo.stride, geo.padding
    ax.text(-0.45, -0.42, f"arrows of the top row: {k}\u00d7{k} symmetric conv, stride {st}, "
            f"padding {p}, BN (not the first), LeakyReLU",
            ha="left", va="top", fontsize=c.fs - 1, color="#333333")
    ax.set_title(f"symmetric discriminator (paper Figs. 4d, 7): {D.img_size} px, width {D.width}, "
                 f"{D.geometry} geometry", fontsize=13, loc="left")
    return fig


def architecture_figure(img_size: int = 65, width: int = 64, channels: int = 3,
                        geometry: str | None = None):
    """The z' generator, the flip generator and the symmetric discriminator, one under the
    other, built at ``img_size`` / ``width`` / ``geometry`` (defaults: the paper's models)."""
    import matplotlib.pyplot as plt

    from .discriminators import Discriminator
    from .generators import Generator

    fig, axes = plt.subplots(3, 1, figsize=(8.4, 9.4), gridspec_kw=dict(height_ratios=[3.3, 3.3, 2.5]))
    kw = dict(img_size=img_size, width=width, channels=channels, geometry=geometry)
    draw_generator(Generator("zprime", **kw), ax=axes[0])
    draw_generator(Generator("flip", **kw), ax=axes[1])
    draw_discriminator(Discriminator(True, **kw), ax=axes[2])
    fig.tight_layout()
    return fig

