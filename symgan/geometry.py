"""The two layer geometries: the paper's 5x5 one at odd sizes, and DC-GAN's 4x4 one.

A geometry fixes the first feature map, the kernel, the stride and the padding of every
up- and down-sampling layer, and with them the image sizes that close the chain exactly:

=========  =====  ======  ======  =======  ============================  =======================
geometry   stem   kernel  stride  padding  generator widths              images
=========  =====  ======  ======  =======  ============================  =======================
``paper``  5x5    5x5     2       2        5 -> 9 -> 17 -> 33 -> 65      2^k + 1: 17, 33, 65, 129
``dcgan``  4x4    4x4     2       1        4 -> 8 -> 16 -> 32 -> 64      2^k: 16, 32, 64, 128
=========  =====  ======  ======  =======  ============================  =======================

Why the paper's numbers imply odd sizes. A transposed convolution of kernel ``K``, stride 2,
padding ``p`` and ``output_padding`` 0 maps a width ``s`` to ``2s - 2 - 2p + K``: for 5x5 with
padding 2 that is ``2s - 1`` (5 -> 9 -> 17 -> 33 -> 65), and every map keeps a centre column.
Doubling to an even width instead needs ``output_padding=1``, one extra column on the right
only, and the mirror of the input no longer gives the mirror of the output. In the
discriminator, a 5x5 stride-2 convolution with padding 2 is exact iff ``(s + 4 - 5) % 2 == 0``,
i.e. ``s`` odd, and maps ``s`` to ``(s + 1) / 2``: 65 -> 33 -> 17 -> 9 -> 5, a 5x5 map that
the fold turns into 5x3. At 65 px with width 64 this gives the paper's layer sizes exactly:
``z' -> 5120 = 512 x 5 x 2``, ``z'' -> 7680 = 512 x 5 x 3``, the flip stem's ``12,800 =
512 x 5 x 5`` and the discriminator's fold to ``7680 = 512 x 5 x 3``. DC-GAN's 4x4 kernels
with padding 1 map ``s -> 2s`` exactly at every size, so they suit power-of-two images.

Both geometries cost the same per layer as a plain DC-GAN of that geometry: nothing is
up-sampled or cropped.

Chapters: ``book/02_symmetric_kernels``, ``book/03_zprime_generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GEOMETRIES",
    "Geometry",
    "get_geometry",
    "infer_geometry",
    "n_layers",
    "image_sizes",
    "check_geometry",
]

GEOMETRIES = ("paper", "dcgan")


@dataclass(frozen=True)
class Geometry:
    """Stem size and the ``(kernel, stride, padding)`` of every resampling layer.

    Generator layer: ``ConvTranspose2d(kernel, stride, padding)``, width ``s -> up(s)``;
    discriminator layer: ``Conv2d(kernel, stride, padding)``, width ``s -> down(s)``.
    """

    name: str
    stem_size: int
    kernel_size: int
    stride: int
    padding: int

    def up(self, s: int) -> int:
        """Width after one generator layer: ``(s - 1) * stride - 2 * padding + kernel``."""
        return (s - 1) * self.stride - 2 * self.padding + self.kernel_size

    def down(self, s: int) -> int:
        """Width after one discriminator layer: ``(s + 2 * padding - kernel) // stride + 1``."""
        return (s + 2 * self.padding - self.kernel_size) // self.stride + 1

    def size(self, n_layers: int) -> int:
        """Image width after ``n_layers`` generator layers from the stem."""
        s = self.stem_size
        for _ in range(n_layers):
            s = self.up(s)
        return s


_GEOMETRIES = {
    "paper": Geometry("paper", stem_size=5, kernel_size=5, stride=2, padding=2),
    "dcgan": Geometry("dcgan", stem_size=4, kernel_size=4, stride=2, padding=1),
}
_MAX_LAYERS = 12  # 4 * 2**12 = 16384 px: far past any GAN here


def get_geometry(name: str) -> Geometry:
    """The :class:`Geometry` called ``name``; ``ValueError`` naming the valid ones otherwise."""
    if name not in _GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {name!r}")
    return _GEOMETRIES[name]


def image_sizes(geometry: str, count: int = 5) -> list[int]:
    """The first ``count`` image widths the geometry builds (at least one layer), e.g.
    ``[9, 17, 33, 65, 129]`` for ``"paper"`` and ``[8, 16, 32, 64, 128]`` for ``"dcgan"``."""
    g = get_geometry(geometry)
    return [g.size(n) for n in range(1, count + 1)]


def n_layers(img_size: int, geometry: str) -> int:
    """``L`` with ``geometry.size(L) == img_size`` (``L >= 1``); ``ValueError`` otherwise,
    naming the sizes that work for this geometry and the other one's if it fits there."""
    n = _layers_or_none(img_size, get_geometry(geometry))
    if n is not None:
        return n
    other = [o for o in GEOMETRIES if o != geometry and _fits(img_size, o)]
    hint = f" ({img_size} px is a {other[0]!r}-geometry size)" if other else ""
    raise ValueError(
        f"img_size {img_size!r} does not fit the {geometry!r} geometry: it builds "
        f"{', '.join(map(str, image_sizes(geometry, 6)))}, ... px{hint}"
    )


def _layers_or_none(img_size: object, g: Geometry) -> int | None:
    if isinstance(img_size, int) and not isinstance(img_size, bool):
        for n in range(1, _MAX_LAYERS + 1):
            if g.size(n) == img_size:
                return n
    return None


def _fits(img_size: object, geometry: str) -> bool:
    return _layers_or_none(img_size, get_geometry(geometry)) is not None


def infer_geometry(img_size: int) -> str:
    """``"paper"`` for widths ``2^k + 1`` (9, 17, 33, 65, ...), ``"dcgan"`` for ``2^k`` (8, 16,
    32, 64, ...); ``ValueError`` naming both lists for anything else."""
    for name in GEOMETRIES:
        if _fits(img_size, name):
            return name
    raise ValueError(
        f"img_size {img_size!r} fits no geometry: the paper's 5x5 geometry builds "
        f"{image_sizes('paper', 6)} px, DC-GAN's 4x4 geometry {image_sizes('dcgan', 6)} px"
    )


def check_geometry(img_size: int, geometry: str | None) -> tuple[str, int]:
    """Resolve ``geometry`` (``None``: :func:`infer_geometry`) and return it with the number of
    resampling layers for ``img_size``; ``ValueError`` when they do not fit together."""
    name = infer_geometry(img_size) if geometry is None else geometry
    return name, n_layers(img_size, name)
