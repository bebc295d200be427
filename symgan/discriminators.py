"""Discriminators: the plain DC-GAN one (the control) and the symmetric one (paper 2.1.3, Fig. 7).

Body (both): ``L`` stride-2 down-sampling layers ``channels -> width -> 2 width -> ...`` to an
``s x s`` map, LeakyReLU(0.2), BatchNorm after every layer but the first. The geometry
(:mod:`symgan.geometry`) sets the layers: ``"paper"``, 5x5 kernels with padding 2 on odd widths
(65 -> 33 -> 17 -> 9 -> 5, exact since ``(W + 4 - 5) % 2 == 0``); ``"dcgan"``, 4x4 kernels with
padding 1 on even widths (64 -> 32 -> 16 -> 8 -> 4).

Head:

* plain: an ``s x s`` valid convolution to one logit (pytorch/examples' DC-GAN);
* symmetric: :func:`~symgan.symmetry.fold` the last map ``(N, C, s, s) -> (N, C, s,
  ceil(s/2))`` (at 65 px, width 64: 5x5x512 -> 5x3x512 = 7680 values, the paper's number),
  then one linear layer. Symmetric kernels make every feature map of ``M x`` the mirror of that
  of ``x``, folding removes the mirror, so ``D(M x) == D(x)`` exactly.

Chapter: ``book/05_symmetric_discriminator``.
"""

from __future__ import annotations

from torch import Tensor, nn

from .checks import check_int, check_model_input
from .geometry import Geometry, check_geometry, get_geometry
from .layers import SymConv2d
from .symmetry import fold
from .weight_init import dcgan_init

__all__ = ["Discriminator", "down_block"]


def down_block(cin: int, cout: int, geometry: Geometry, symmetric: bool, batchnorm: bool) -> nn.Sequential:
    """One discriminator layer: width ``s -> geometry.down(s)``, then BatchNorm (optional) and
    LeakyReLU(0.2). No bias: BatchNorm follows, as in DC-GAN."""
    conv = SymConv2d if symmetric else nn.Conv2d
    k, st, p = geometry.kernel_size, geometry.stride, geometry.padding
    layers: list[nn.Module] = [conv(cin, cout, k, st, p, bias=False)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    r"""DC-GAN discriminator, mirror invariant when ``symmetric=True``.

    Input ``(N, channels, img_size, img_size)``; output one logit per image, shape ``(N,)``
    (use ``BCEWithLogits``; ``sigmoid`` gives the probability of "real"). ``geometry`` as for
    :class:`~symgan.generators.Generator` (``None``: inferred from ``img_size``).
    """

    def __init__(
        self,
        symmetric: bool = True,
        img_size: int = 65,
        channels: int = 3,
        width: int = 64,
        geometry: str | None = None,
    ) -> None:
        super().__init__()
        geometry, n_down = check_geometry(img_size, geometry)
        for name, value in (("channels", channels), ("width", width)):
            check_int(name, value, 1)
        self.symmetric, self.img_size, self.channels = bool(symmetric), img_size, channels
        self.width, self.geometry = width, geometry
        geo = get_geometry(geometry)
        blocks, c = [], channels
        for i in range(n_down):
            cout = width * 2**i
            blocks.append(down_block(c, cout, geo, self.symmetric, batchnorm=i > 0))
            c = cout
        self.body = nn.Sequential(*blocks)
        s = geo.stem_size
        if self.symmetric:
            self.head: nn.Module = nn.Linear(c * s * ((s + 1) // 2), 1)
        else:
            self.head = nn.Conv2d(c, 1, s, 1, 0, bias=False)
        dcgan_init(self)

    @property
    def kernel_size(self) -> int:
        """Kernel width of the down-sampling layers: 5 (paper geometry) or 4 (DC-GAN)."""
        return get_geometry(self.geometry).kernel_size

    def features(self, x: Tensor) -> Tensor:
        """The last feature map, ``(N, C, s, s)``: 5x5 (paper geometry) or 4x4 (DC-GAN)."""
        if x.dim() != 4 or x.shape[1:] != (self.channels, self.img_size, self.img_size):
            raise ValueError(
                f"Discriminator expects images of shape (N, {self.channels}, {self.img_size}, "
                f"{self.img_size}), got {tuple(x.shape)}"
            )
        check_model_input(self, x, "x")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)
        if self.symmetric:
            return self.head(fold(h).flatten(1)).view(-1)
        return self.head(h).view(-1)
