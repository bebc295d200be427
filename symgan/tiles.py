r"""Tileable textures: a generator whose images are periodic by construction.

The paper presents mirror symmetry as one instance of a general idea, controlling a structural
property of the output through the generator's architecture, and mentions a second application
that "creates tilable textured patches" (in a supplement not available to us). This module is our
reconstruction of that application; the design below is ours, not the paper's.

A texture patch tiles without a seam when it is **periodic**: laid side by side, column
``W - 1`` of one copy meets column ``0`` of the next exactly as column ``j`` meets ``j + 1``
inside it. In other words the image lives on a torus. A fully convolutional generator whose
every layer commutes with a circular shift of its input draws such images by construction:

* the input is a **latent map** ``z`` of ``z_channels`` values on an ``h x w`` grid of cells
  (``4 x 4`` by default), i.i.d. ``U[-1, 1]``;
* every convolution pads **circularly** (``padding_mode="circular"``): it is a convolution on the
  torus, ``y[i, j] = sum_{a, b} w[a, b] x[(i + a - 1) mod H, (j + b - 1) mod W]``;
* up-sampling is nearest-neighbour ``x2`` (each value copied into a ``2 x 2`` block), which maps
  a periodic map to a periodic one; a layer is ``upsample -> 3x3 circular conv -> BatchNorm ->
  ReLU`` (``Tanh`` after the last one);
* BatchNorm normalises per channel with statistics over the batch and all positions, the same
  for every position, so it commutes with shifts in train and in eval mode.

**The exact statement** (the analogue of ``G(zN) = M G(z)``): with ``T_{r,c}`` the tiling of a
map ``r x c`` times, ``G(T_{r,c} z) = T_{r,c} G(z)``. Every layer maps a map of period ``(h, w)``
cells to one of period ``(h, w)`` cells, so the output for the tiled latent map is periodic with
the period of one patch, and it equals the patch because each output pixel sees the same input
values. Float rounding aside (BatchNorm in train mode sums ``r c`` times as many values), it
holds for any weights; :func:`tiling_error` measures it. A zero-padded generator of the same size
(``periodic=False``, the control) breaks it at every patch border. A second exact statement
follows from the same argument: shifting the latent map by one cell shifts the image by
``2^L`` pixels (``L`` up-sampling layers), circularly (:func:`shift_error`).

:func:`seam_ratio` measures how visible the seam of a naively tiled patch is: the mean absolute
difference across the wrap-around seam divided by the mean absolute difference between
neighbouring interior columns and rows (1 when the seam looks like any other column).

Chapter: ``book/10_tileable_textures``.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from .checks import check_bool, check_int, check_model_input
from .weight_init import dcgan_init

__all__ = [
    "TileGenerator",
    "TILE_ARCHS",
    "CELLS",
    "periodic_conv",
    "tile",
    "tiling_error",
    "shift_error",
    "seam_ratio",
    "seam_ratios",
]

#: ``arch`` names of the two texture generators: periodic, and the zero-padded control.
TILE_ARCHS = ("tile", "tile_plain")
#: Cells per side of the default latent map (DC-GAN's 4x4 first map).
CELLS = 4


def _check_tiles(tiles: object) -> tuple[int, int]:
    if isinstance(tiles, int) and not isinstance(tiles, bool):
        tiles = (tiles, tiles)
    if (not isinstance(tiles, tuple | list) or len(tiles) != 2
            or not all(isinstance(t, int) and not isinstance(t, bool) for t in tiles)):
        raise ValueError(f"tiles must be an int or a pair (rows, cols) of ints, got {tiles!r}")
    rows, cols = tiles
    check_int("tiles rows", rows, 1, 1024)
    check_int("tiles cols", cols, 1, 1024)
    return int(rows), int(cols)


def tile(x: Tensor, tiles: int | tuple[int, int] = (2, 2)) -> Tensor:
    """``x`` ``(..., H, W)`` laid ``rows x cols`` times side by side: ``(..., rows H, cols W)``.

    The naive tiling of a patch (what a texture artist does with a tile) and the operator
    ``T_{r,c}`` of the exact statement ``G(T z) = T G(z)``. Chapter: ``book/10_tileable_textures``.
    """
    rows, cols = _check_tiles(tiles)
    if not isinstance(x, Tensor) or x.dim() < 2:
        raise ValueError(f"tile expects a tensor (..., H, W), got {getattr(x, 'shape', type(x))}")
    reps = (1,) * (x.dim() - 2) + (rows, cols)
    return x.repeat(*reps)


def periodic_conv(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """A stride-1 convolution on the torus: ``(N, C_in, H, W) -> (N, C_out, H, W)``.

    ``y[n, o, i, j] = b[o] + sum_{c, a, b} w[o, c, a, b] x[n, c, (i + a - p) mod H, (j + b - p) mod W]``
    with an odd kernel ``K`` and ``p = K // 2``: the input is padded with ``p`` rows and columns
    taken from its opposite side, then convolved without padding. Equals ``nn.Conv2d(...,
    padding=K // 2, padding_mode="circular")``. Chapter: ``book/10_tileable_textures``.
    """
    k = weight.shape[-1]
    if weight.dim() != 4 or weight.shape[-2] != k or k % 2 == 0:
        raise ValueError(f"periodic_conv needs a square kernel of odd size, got {tuple(weight.shape)}")
    p = k // 2
    return nn.functional.conv2d(nn.functional.pad(x, (p, p, p, p), mode="circular"), weight, bias)


def _conv(cin: int, cout: int, periodic: bool, bias: bool) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=bias, padding_mode="circular" if periodic else "zeros")


class TileGenerator(nn.Module):
    r"""A fully convolutional generator of texture patches that tile seamlessly (``periodic=True``).

    Input: a latent map ``(N, z_channels, h, w)`` in ``[-1, 1]``, or a flat latent ``(N, z_dim)``
    with ``z_dim = z_channels * cells**2`` (what :class:`~symgan.train.Trainer` samples), viewed
    as a ``cells x cells`` map. Output: ``(N, channels, h * 2^L, w * 2^L)`` in ``[-1, 1]``, with
    ``L = log2(img_size / cells)`` up-sampling layers; a flat latent gives ``img_size`` px.

    Layers: a 3x3 convolution at the latent resolution (``z_channels -> width * 2^(L-1)``), then
    ``L`` times nearest ``x2`` up-sampling and a 3x3 convolution that halves the channels (the
    last one gives ``channels``), BatchNorm + ReLU between, Tanh at the end: DC-GAN's body, with
    circular padding when ``periodic`` and zero padding otherwise (the control).

    Guarantee (periodic only; :func:`tiling_error`, float rounding): ``G(tile(z, (r, c))) ==
    tile(G(z), (r, c))`` for any weights, in train and eval mode, which makes :meth:`texture` a
    seamless texture; and shifting ``z`` by one cell shifts the image by ``2^L`` px.

    Chapter: ``book/10_tileable_textures``.
    """

    def __init__(self, img_size: int = 32, channels: int = 3, z_dim: int = 128, width: int = 32,
                 periodic: bool = True, cells: int = CELLS) -> None:
        super().__init__()
        cells = check_int("cells", cells, 1, 1024)
        img_size = check_int("img_size", img_size, 2 * cells, 4096)
        n_up, s = 0, cells
        while s < img_size:
            s, n_up = 2 * s, n_up + 1
        if s != img_size:
            ok = [cells * 2**k for k in range(1, 6)]
            raise ValueError(f"img_size must be cells * 2^L (L >= 1 nearest x2 up-samplings of the "
                             f"{cells}x{cells} latent map), e.g. {ok}; got {img_size}")
        channels = check_int("channels", channels, 1, 4096)
        width = check_int("width", width, 1, 4096)
        z_dim = check_int("z_dim", z_dim, 1, 10**6)
        if z_dim % (cells * cells):
            raise ValueError(f"z_dim must be a multiple of cells^2 = {cells * cells} (a flat latent is "
                             f"a map of z_dim / {cells * cells} channels on {cells}x{cells} cells), "
                             f"got {z_dim}")
        self.periodic = check_bool("periodic", periodic)
        self.img_size, self.channels, self.z_dim, self.width = img_size, channels, z_dim, width
        self.cells, self.n_up = cells, n_up
        self.z_channels = z_dim // (cells * cells)
        self.arch = TILE_ARCHS[0] if self.periodic else TILE_ARCHS[1]
        c0 = width * 2 ** (n_up - 1)
        self.stem = nn.Sequential(_conv(self.z_channels, c0, self.periodic, False),
                                  nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        blocks, c = [], c0
        for i in range(n_up):
            last = i == n_up - 1
            cout = channels if last else c // 2
            layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest"),
                                       _conv(c, cout, self.periodic, last)]
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            blocks.append(nn.Sequential(*layers))
            c = cout
        self.body = nn.Sequential(*blocks)
        dcgan_init(self)

    @property
    def scale_factor(self) -> int:
        """Pixels per latent cell along each side: ``2^L`` (8 for 32 px from 4x4 cells)."""
        return 2**self.n_up

    def latent_map(self, z: Tensor) -> Tensor:
        """``z`` as a latent map: ``(N, z_dim)`` -> ``(N, z_channels, cells, cells)``; a map
        ``(N, z_channels, h, w)`` is returned unchanged. ``ValueError`` for anything else."""
        if not isinstance(z, Tensor):
            raise TypeError(f"z must be a tensor, got {type(z).__name__}")
        if z.dim() == 2 and z.shape[1] == self.z_dim:
            return z.view(z.shape[0], self.z_channels, self.cells, self.cells)
        if z.dim() == 4 and z.shape[1] == self.z_channels and min(z.shape[2:]) >= 1:
            return z
        raise ValueError(
            f"TileGenerator expects a flat latent (N, {self.z_dim}) or a latent map "
            f"(N, {self.z_channels}, h, w), got {tuple(z.shape)}")

    def forward(self, z: Tensor) -> Tensor:
        """Images ``(N, channels, h 2^L, w 2^L)`` of latents ``z`` (flat or a map, see the class)."""
        z = self.latent_map(z)
        check_model_input(self, z, "z")
        return self.body(self.stem(z))

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      cells: int | tuple[int, int] | None = None) -> Tensor:
        """``n`` latents i.i.d. ``U[-1, 1]`` on this module's device and dtype: flat ``(n, z_dim)``
        by default (what the trainer and the BatchNorm calibration use), or a map ``(n,
        z_channels, h, w)`` of ``cells = (h, w)`` cells, for a larger non-repeating texture."""
        n = check_int("n", n, 1)
        p = next(self.parameters())
        shape: tuple[int, ...] = (n, self.z_dim)
        if cells is not None:
            h, w = _check_tiles(cells)
            shape = (n, self.z_channels, h, w)
        z = torch.rand(shape, generator=generator, dtype=p.dtype,
                       device=generator.device if generator is not None else p.device)
        return (z * 2 - 1).to(p.device)

    def texture(self, z: Tensor, tiles: int | tuple[int, int] = (2, 2)) -> Tensor:
        """The seamless texture of ``rows x cols`` patches: ``G(tile(z))``, ``(N, channels,
        rows H, cols W)``. For a periodic generator this equals ``tile(G(z))`` exactly (to float
        rounding); for the control it does not. Uses the module's current mode."""
        return self(tile(self.latent_map(z), tiles))

    def export(self) -> nn.Sequential:
        """A plain ``nn.Sequential`` of stock PyTorch layers (deep copies) computing the same
        function of a latent **map** ``(N, z_channels, h, w)``: usable without symgan (ONNX,
        TorchScript). Reshape a flat latent with :meth:`latent_map` first."""
        return nn.Sequential(*copy.deepcopy(list(self.stem) + list(self.body)))

    def extra_repr(self) -> str:
        return (f"img_size={self.img_size}, channels={self.channels}, z_dim={self.z_dim} "
                f"({self.z_channels}x{self.cells}x{self.cells}), width={self.width}, "
                f"periodic={self.periodic}")


def _tile_pairs(tiles: object) -> list[tuple[int, int]]:
    if isinstance(tiles, int) or (isinstance(tiles, tuple) and len(tiles) == 2
                                  and all(isinstance(t, int) for t in tiles)):
        return [_check_tiles(tiles)]
    if not isinstance(tiles, list | tuple) or not tiles:
        raise ValueError(f"tiles must be a pair (rows, cols) or a list of pairs, got {tiles!r}")
    return [_check_tiles(t) for t in tiles]


@torch.no_grad()
def tiling_error(G: TileGenerator, z: Tensor,
                 tiles: int | tuple[int, int] | list[tuple[int, int]] = ((2, 2), (1, 3), (3, 2))
                 ) -> float:
    """``max |G(tile(z, t)) - tile(G(z), t)|`` over the tile counts ``t`` and the batch ``z``.

    About ``1e-7`` (float32) or ``1e-16`` (float64) for a periodic :class:`TileGenerator`, of the
    order of the signal for the zero-padded control. Uses the module's current mode (in train
    mode BatchNorm uses batch statistics, and updates its running statistics as any forward
    does). Chapter: ``book/10_tileable_textures``.
    """
    z = G.latent_map(z)
    x = G(z)
    return max((G.texture(z, t) - tile(x, t)).abs().max().item() for t in _tile_pairs(tiles))


@torch.no_grad()
def shift_error(G: TileGenerator, z: Tensor, cells: tuple[int, int] = (1, 1)) -> float:
    """``max |G(roll(z, cells)) - roll(G(z), cells * 2^L)|``: shifting the latent map by whole
    cells shifts a periodic generator's image circularly by ``2^L`` px per cell (float rounding).
    Chapter: ``book/10_tileable_textures``."""
    z = G.latent_map(z)
    a, b = int(cells[0]), int(cells[1])
    s = G.scale_factor
    return (G(z.roll((a, b), (2, 3))) - G(z).roll((a * s, b * s), (2, 3))).abs().max().item()


def seam_ratios(x: Tensor, stride: int = 1) -> dict[str, float]:
    """The parts of :func:`seam_ratio`: ``seam`` (mean absolute difference across the
    wrap-around seams), ``interior`` (mean absolute difference of the neighbouring interior
    pairs compared) and ``ratio = seam / interior``.

    ``x``: ``(N, C, H, W)`` patches. The seams are column ``W - 1`` against column ``0`` and row
    ``H - 1`` against row ``0``. Interior pairs: columns ``(j, j + 1)`` and rows ``(i, i + 1)``;
    with ``stride = s > 1`` only the pairs with ``(j + 1) % s == 0``, the same phase of an
    ``s``-pixel grid as the seam (see the chapter: for a periodic generator with ``s = 2^L``
    the seam is then exactly as likely as any compared pair).
    """
    if not isinstance(x, Tensor) or x.dim() != 4 or min(x.shape[-2:]) < 2:
        raise ValueError(f"seam_ratio expects patches (N, C, H, W) with H, W >= 2, got "
                         f"{getattr(x, 'shape', type(x))}")
    stride = check_int("stride", stride, 1)
    H, W = x.shape[-2:]
    if H % stride or W % stride:
        raise ValueError(f"stride {stride} must divide the patch size {H}x{W}")
    x = x.double()
    seam = torch.cat([(x[..., :, -1] - x[..., :, 0]).abs().flatten(),
                      (x[..., -1, :] - x[..., 0, :]).abs().flatten()]).mean()
    dc = (x[..., :, 1:] - x[..., :, :-1]).abs()[..., :, stride - 1 :: stride]
    dr = (x[..., 1:, :] - x[..., :-1, :]).abs()[..., stride - 1 :: stride, :]
    interior = torch.cat([dc.flatten(), dr.flatten()]).mean()
    return {"seam": seam.item(), "interior": interior.item(), "ratio": (seam / interior).item()}


def seam_ratio(x: Tensor, stride: int = 1) -> float:
    """Seam visibility of patches ``x`` ``(N, C, H, W)`` tiled naively: mean ``|difference|``
    across the wrap-around seam / mean ``|difference|`` between neighbouring interior columns
    and rows (1.0: the seam looks like any other column). ``stride``: see :func:`seam_ratios`.
    Chapter: ``book/10_tileable_textures``."""
    return seam_ratios(x, stride)["ratio"]
