"""Print the largest mirror errors of the symmetric generators and discriminator at both geometries.

The same loops as ``tests/test_models.py`` (z' and flip, 1 and 3 channels, train and eval mode,
three re-initialisations, width 8), reporting the maxima instead of asserting bounds; the README
quotes its output.

    .venv/bin/python scripts/exactness.py
"""

from __future__ import annotations

import itertools

import torch

from symgan import Discriminator, Generator, check_invariance, mirror_errors

SIZES = {"paper": (17, 33, 65, 129), "dcgan": (16, 32, 64, 128)}


def main() -> None:
    for geometry, sizes in SIZES.items():
        g32 = g64 = d32 = d64 = 0.0
        for size in sizes:
            for arch, seed, train, ch in itertools.product(("zprime", "flip"), range(3), (True, False), (1, 3)):
                torch.manual_seed(seed)
                G = Generator(arch, img_size=size, width=8, channels=ch, geometry=geometry).train(train)
                z = G.sample_latent(4)
                g32 = max(g32, *mirror_errors(G, z).values())
                g64 = max(g64, *mirror_errors(G.double(), z.double()).values())
            for seed, train in itertools.product(range(3), (True, False)):
                torch.manual_seed(seed)
                D = Discriminator(True, img_size=size, width=8, geometry=geometry).train(train)
                x = torch.randn(4, 3, size, size)
                d32 = max(d32, check_invariance(D, x).max_abs_error)
                d64 = max(d64, check_invariance(D.double(), x.double()).max_abs_error)
        print(f"{geometry} geometry, {sizes} px: generators float32 {g32:.1e}, float64 {g64:.1e}; "
              f"discriminator float32 {d32:.1e}, float64 {d64:.1e}")


if __name__ == "__main__":
    main()
