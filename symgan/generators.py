"""Generators: the plain DC-GAN (the control), the z' architecture and the flip architecture.

All three share the DC-GAN body: a first ``s x s`` feature map (``s`` = 5 in the paper's
geometry, 4 in DC-GAN's) with ``width * 2**(L-1)`` channels, then ``L`` up-sampling layers
that halve the channels, with
BatchNorm + ReLU between and Tanh at the end. They differ in two places:

* the **first layer** (the "stem", paper Figs. 3 and 5), which makes the first feature map
  mirror-equivariant with respect to the latent encoding, and
* the **kernels**: symmetric in the z' and flip generators, so each layer keeps the property.

Geometry (:mod:`symgan.geometry`): ``"paper"`` starts from a 5x5 map and up-samples with 5x5
stride-2 transposed convolutions, padding 2 (5 -> 9 -> 17 -> 33 -> 65: odd images, exact at
every layer, the paper's 5120 / 7680 / 12,800 stem sizes at 65 px and width 64); ``"dcgan"``
starts from a 4x4 map and uses DC-GAN's 4x4 stride-2 layers, padding 1 (4 -> 8 -> ... -> 64).
Neither crops nor pads an extra column, so both are exact at every size they build; the plain
control of either geometry has the same shapes with ordinary kernels.

Chapters: ``book/03_zprime_generator``, ``book/04_flip_generator``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from . import latent as _latent
from .checks import check_int, check_model_input
from .geometry import Geometry, check_geometry, get_geometry
from .layers import SymConvTranspose2d, antisymmetric_kernel, symmetric_kernel
from .symmetry import mirror
from .weight_init import dcgan_init

__all__ = [
    "ARCHS",
    "ZPrimeStem",
    "FlipStem",
    "DCGANStem",
    "Generator",
    "mirror_errors",
    "up_block",
]

ARCHS = ("dcgan", "zprime", "flip")


class ZPrimeStem(nn.Module):
    r"""First layer of the z' architecture (paper 2.1.1, Fig. 3).

    ``z = [z', z'']`` with ``z'`` the first ``n_anti`` entries. ``A`` maps ``z'`` linearly (no
    bias) to ``C`` maps of ``s x floor(s/2)`` columns that are completed antisymmetrically
    (:func:`~symgan.layers.antisymmetric_kernel`); ``S`` maps ``z''`` affinely to ``C`` maps of
    ``s x ceil(s/2)`` columns completed symmetrically. Output ``h = A(z') + S(z'')``, shape
    ``(N, C, s, s)``.

    * ``z' -> -z'``: ``A(-z') = -A(z') = M A(z')`` and ``S`` is unchanged ``= M S``, so
      ``h(zN) = M h(z)``.
    * ``z' = 0``: ``h = S(z'')`` is symmetric.

    Both need ``A`` to be linear: with a bias ``b``, ``A(-z') = -A(z') + 2b``, and the mirror
    property fails (the only public implementation had this bug).
    """

    def __init__(self, z_dim: int, n_anti: int, channels: int, size: int = 5) -> None:
        super().__init__()
        if not 1 <= n_anti < z_dim:
            raise ValueError(f"need 1 <= n_anti < z_dim, got n_anti={n_anti}, z_dim={z_dim}")
        self.z_dim, self.n_anti, self.channels, self.size = z_dim, n_anti, channels, size
        self.anti = nn.Linear(n_anti, channels * size * (size // 2), bias=False)
        self.sym = nn.Linear(z_dim - n_anti, channels * size * ((size + 1) // 2), bias=True)

    def forward(self, z: Tensor) -> Tensor:
        n, c, s = z.shape[0], self.channels, self.size
        a = self.anti(z[:, : self.n_anti]).view(n, c, s, s // 2)
        b = self.sym(z[:, self.n_anti :]).view(n, c, s, (s + 1) // 2)
        return antisymmetric_kernel(a, s) + symmetric_kernel(b, s)


class FlipStem(nn.Module):
    r"""First layer of the flip architecture (paper 2.1.2, Fig. 5).

    One shared affine map ``F`` (bias allowed) gives ``h(z) = F(z) + M(F(flip z))``, reshaped to
    ``(N, C, s, s)``. Then ``h(flip z) = F(flip z) + M F(z) = M h(z)``, and ``z == flip(z)``
    gives a symmetric ``h``.
    """

    def __init__(self, z_dim: int, channels: int, size: int = 5) -> None:
        super().__init__()
        self.z_dim, self.channels, self.size = z_dim, channels, size
        self.fc = nn.Linear(z_dim, channels * size * size, bias=True)

    def forward(self, z: Tensor) -> Tensor:
        n, c, s = z.shape[0], self.channels, self.size
        f = self.fc(z).view(n, c, s, s)
        f_flip = self.fc(z.flip(-1)).view(n, c, s, s)
        return f + mirror(f_flip)


class DCGANStem(nn.Module):
    """First layer of the plain DC-GAN: a linear map ``z -> (N, C, s, s)`` (the ``1 -> 4``
    transposed convolution of pytorch/examples, without bias). No symmetry structure."""

    def __init__(self, z_dim: int, channels: int, size: int = 5) -> None:
        super().__init__()
        self.z_dim, self.channels, self.size = z_dim, channels, size
        self.fc = nn.Linear(z_dim, channels * size * size, bias=False)

    def forward(self, z: Tensor) -> Tensor:
        return self.fc(z).view(z.shape[0], self.channels, self.size, self.size)


def up_block(cin: int, cout: int, geometry: Geometry, symmetric: bool, last: bool) -> nn.Sequential:
    """One generator layer: width ``s -> geometry.up(s)`` (``2s - 1`` paper, ``2s`` DC-GAN).

    A stride-2 transposed convolution with ``output_padding=0`` (exact at every input width),
    then BatchNorm + ReLU, or Tanh for the last layer, which alone has a bias (as DC-GAN).
    """
    conv_t = SymConvTranspose2d if symmetric else nn.ConvTranspose2d
    k, st, p = geometry.kernel_size, geometry.stride, geometry.padding
    layers: list[nn.Module] = [conv_t(cin, cout, k, st, p, bias=last)]
    layers += [nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class Generator(nn.Module):
    r"""A DC-GAN generator with a choice of symmetry architecture.

    ``arch``: ``"dcgan"`` (plain, the control), ``"zprime"`` (paper 2.1.1) or ``"flip"``
    (paper 2.1.2). Maps latents ``(N, z_dim)`` in ``[-1, 1]`` to images ``(N, channels,
    img_size, img_size)`` in ``[-1, 1]``.

    ``geometry``: ``"paper"`` (5x5 first map and kernels, images of ``2^k + 1`` px: 17, 33, 65,
    129) or ``"dcgan"`` (4x4, images of ``2^k`` px: 16, 32, 64, 128); ``None`` infers it from
    ``img_size`` (:func:`symgan.geometry.infer_geometry`). The defaults build the paper's
    generator: 65 px, width 64, a 512-map 5x5 first layer.

    Guarantees (checked by :func:`mirror_errors` and the test-suite, to float rounding):
    for ``zprime`` and ``flip``, ``G(G.mirror_latent(z)) == mirror(G(z))`` and
    ``G(G.symmetric_latent(z))`` is left-right symmetric, in train and eval mode.

    ``encoding`` is the latent encoding of symmetry used by :meth:`mirror_latent` and friends;
    it follows the arch for ``zprime``/``flip`` and defaults to ``"zprime"`` for ``dcgan`` (the
    loss baselines of paper 2.2 use either).
    """

    def __init__(
        self,
        arch: str = "zprime",
        img_size: int = 65,
        channels: int = 3,
        z_dim: int = 100,
        n_anti: int = 5,
        width: int = 64,
        geometry: str | None = None,
        encoding: str | None = None,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
        geometry, n_up = check_geometry(img_size, geometry)
        for name, value in (("channels", channels), ("width", width), ("z_dim", z_dim)):
            check_int(name, value, 1)
        if arch == "dcgan":
            encoding = encoding or "zprime"
            if encoding not in _latent.ENCODINGS:
                raise ValueError(f"encoding must be one of {_latent.ENCODINGS}, got {encoding!r}")
        elif encoding not in (None, arch):
            raise ValueError(f"a {arch!r} generator uses the {arch!r} encoding, got encoding={encoding!r}")
        else:
            encoding = arch
        if encoding == "zprime" and not 1 <= n_anti < z_dim:
            raise ValueError(f"need 1 <= n_anti < z_dim, got n_anti={n_anti}, z_dim={z_dim}")
        self.arch, self.encoding = arch, encoding
        self.img_size, self.channels, self.z_dim, self.n_anti = img_size, channels, z_dim, n_anti
        self.width, self.geometry = width, geometry
        geo = get_geometry(geometry)
        s0 = geo.stem_size

        c0 = width * 2 ** (n_up - 1)
        if arch == "zprime":
            stem: nn.Module = ZPrimeStem(z_dim, n_anti, c0, s0)
        elif arch == "flip":
            stem = FlipStem(z_dim, c0, s0)
        else:
            stem = DCGANStem(z_dim, c0, s0)
        self.stem = nn.Sequential(stem, nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        symmetric = arch != "dcgan"
        blocks, c = [], c0
        for i in range(n_up):
            last = i == n_up - 1
            cout = channels if last else c // 2
            blocks.append(up_block(c, cout, geo, symmetric, last))
            c = cout
        self.body = nn.Sequential(*blocks)
        dcgan_init(self)

    @property
    def kernel_size(self) -> int:
        """Kernel width of the up-sampling layers: 5 (paper geometry) or 4 (DC-GAN)."""
        return get_geometry(self.geometry).kernel_size

    @property
    def symmetric(self) -> bool:
        """True for the architectures that are mirror-equivariant by construction."""
        return self.arch != "dcgan"

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(
                f"Generator expects latents of shape (N, {self.z_dim}) (or (N, {self.z_dim}, 1, 1)), "
                f"got {tuple(z.shape)}"
            )
        check_model_input(self, z, "z")
        return self.body(self.stem(z))

    # -- latent encodings (paper Fig. 1) ------------------------------------------------------
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents i.i.d. ``U[-1, 1]`` on this module's device and dtype, ``(n, z_dim)``."""
        p = next(self.parameters())
        if generator is not None and generator.device != p.device:
            z = _latent.sample_latent(n, self.z_dim, generator=generator, dtype=p.dtype)
            return z.to(p.device)
        return _latent.sample_latent(n, self.z_dim, generator=generator, device=p.device, dtype=p.dtype)

    def mirror_latent(self, z: Tensor) -> Tensor:
        """``zN``: the latent of the mirror image (negate ``z'`` or flip ``z``)."""
        return _latent.mirror_latent(z, self.encoding, self.n_anti)

    def symmetric_latent(self, z: Tensor) -> Tensor:
        """The symmetric latent nearest ``z`` (``z' = 0`` or ``(z + flip z) / 2``)."""
        return _latent.symmetric_latent(z, self.encoding, self.n_anti)

    def latent_series(self, z: Tensor, n: int = 9) -> Tensor:
        """Paper Fig. 9: ``n`` latents from ``z`` (t = 1) to ``zN`` (t = -1); see :mod:`symgan.latent`."""
        return _latent.latent_series(z, n, self.encoding, self.n_anti)

    def series(self, z: Tensor, n: int = 9) -> Tensor:
        """Images of :meth:`latent_series`: ``(z_dim,) -> (n, C, H, W)``,
        ``(B, z_dim) -> (B, n, C, H, W)``. Runs in the module's current mode."""
        zs = self.latent_series(z, n)
        flat = self(zs.reshape(-1, self.z_dim))
        return flat.view(*zs.shape[:-1], *flat.shape[1:])


@torch.no_grad()
def mirror_errors(G: Generator, z: Tensor) -> dict[str, float]:
    """The two exactness measurements of a generator on a batch of latents ``z``.

    ``mirror``: ``max |G(zN) - M(G(z))|``; ``symmetric``: ``max |G(z_sym) - M(G(z_sym))|``.
    Both are ~1e-7 (float32) or ~1e-16 (float64) for the z' and flip generators and of the
    order of the signal for the plain DC-GAN. Uses the module's current mode.
    """
    x = G(z)
    xn = G(G.mirror_latent(z))
    xs = G(G.symmetric_latent(z))
    return {
        "mirror": (xn - mirror(x)).abs().max().item(),
        "symmetric": (xs - mirror(xs)).abs().max().item(),
    }
