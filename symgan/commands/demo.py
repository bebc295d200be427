"""``python -m symgan demo``: no training, just the architecture's guarantee made visible.

Renders the mirror series (paper Fig. 9) of freshly initialised z', flip and plain DC-GAN
generators to one PNG and prints the measured mirror errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from . import fail, int_arg

HELP = "render the mirror series of untrained z', flip and DC-GAN generators to a PNG"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="outputs/demo_series.png", help="PNG to write")
    p.add_argument("--img-size", type=int, default=33,
                   help="33 (paper geometry, 2^k+1 px) or 32 (DC-GAN geometry, 2^k px)")
    p.add_argument("--width", type=int_arg(1, 1024), default=32)
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)
    p.add_argument("--n", type=int_arg(2, 1024), default=9, help="images in each series")


def run(args: argparse.Namespace) -> int:
    from ..generators import Generator, mirror_errors
    from ..geometry import check_geometry
    from ..images import save_image

    try:
        check_geometry(args.img_size, None)
    except ValueError as e:
        return fail(e, 2, "argument --img-size: ")
    rows = []
    torch.manual_seed(args.seed)
    for arch in ("dcgan", "zprime", "flip"):
        G = Generator(arch, img_size=args.img_size, width=args.width)
        z = G.sample_latent(8)
        G.train()  # batch statistics: a fresh generator's running statistics are meaningless
        with torch.no_grad():
            rows.append(G.series(z[:1], args.n)[0])
            err = mirror_errors(G, z)
        print(f"{arch:7s} max|G(zN) - M G(z)| = {err['mirror']:.2e}   "
              f"max|G(z_sym) - M G(z_sym)| = {err['symmetric']:.2e}")
    out = Path(args.out)
    try:
        save_image(torch.cat(rows), out, nrow=args.n)
    except OSError as e:
        return fail(e, 1, f"argument --out: cannot write {out}: ")
    print(f"rows: dcgan, zprime, flip; columns: t = 1 ... -1. Wrote {out.resolve()}")
    return 0
