"""Discriminators: the plain DC-GAN one (the control) and the symmetric one (paper 2.1.3, Fig. 7).

Body (both): ``L = log2(img_size / 4)`` down-sampling layers ``channels -> width -> 2 width ->
...`` to a ``4 x 4`` map, LeakyReLU(0.2), BatchNorm after every layer but the first. An even
kernel ``K`` uses stride 2 with padding ``(K-2)/2`` (exact on even widths); an odd kernel (the
paper's 5x5) uses a stride-1 convolution then 2x2 average pooling (both exact on even widths).

Head:

* plain: a ``4 x 4`` valid convolution to one logit (pytorch/examples' DC-GAN);
* symmetric: :func:`~symgan.symmetry.fold` the last map ``(N, C, 4, 4) -> (N, C, 4, 2)``,
  then one linear layer. Symmetric kernels make every feature map of ``M x`` the mirror of that
  of ``x``, folding removes the mirror, so ``D(M x) == D(x)`` exactly.

Chapter: ``book/05_symmetric_discriminator``.
"""

from __future__ import annotations

from torch import Tensor, nn

from .generators import STEM_SIZE, n_layers_for
from .init import dcgan_init
from .layers import SymConv2d
from .symmetry import fold

__all__ = ["Discriminator", "down_block"]


def down_block(cin: int, cout: int, kernel_size: int, symmetric: bool, batchnorm: bool) -> nn.Sequential:
    """One discriminator layer halving the resolution."""
    if kernel_size < 2:
        raise ValueError(f"kernel_size must be >= 2, got {kernel_size}")
    conv = SymConv2d if symmetric else nn.Conv2d
    if kernel_size % 2 == 0:
        layers: list[nn.Module] = [conv(cin, cout, kernel_size, 2, (kernel_size - 2) // 2, bias=False)]
    else:
        layers = [conv(cin, cout, kernel_size, 1, (kernel_size - 1) // 2, bias=False), nn.AvgPool2d(2)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    r"""DC-GAN discriminator, mirror invariant when ``symmetric=True``.

    Input ``(N, channels, img_size, img_size)``; output one logit per image, shape ``(N,)``
    (use ``BCEWithLogits``; ``sigmoid`` gives the probability of "real").
    """

    def __init__(
        self,
        symmetric: bool = True,
        img_size: int = 64,
        channels: int = 3,
        width: int = 64,
        kernel_size: int = 4,
    ) -> None:
        super().__init__()
        n_down = n_layers_for(img_size)
        if channels < 1 or width < 1:
            raise ValueError(f"channels and width must be positive, got {channels}, {width}")
        self.symmetric, self.img_size, self.channels = bool(symmetric), img_size, channels
        self.width, self.kernel_size = width, kernel_size
        blocks, c = [], channels
        for i in range(n_down):
            cout = width * 2**i
            blocks.append(down_block(c, cout, kernel_size, self.symmetric, batchnorm=i > 0))
            c = cout
        self.body = nn.Sequential(*blocks)
        s = STEM_SIZE
        if self.symmetric:
            self.head: nn.Module = nn.Linear(c * s * ((s + 1) // 2), 1)
        else:
            self.head = nn.Conv2d(c, 1, s, 1, 0, bias=False)
        dcgan_init(self)

    def features(self, x: Tensor) -> Tensor:
        """The last feature map, ``(N, C, 4, 4)``."""
        if x.dim() != 4 or x.shape[1:] != (self.channels, self.img_size, self.img_size):
            raise ValueError(
                f"Discriminator expects images of shape (N, {self.channels}, {self.img_size}, "
                f"{self.img_size}), got {tuple(x.shape)}"
            )
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)
        if self.symmetric:
            return self.head(fold(h).flatten(1)).view(-1)
        return self.head(h).view(-1)
