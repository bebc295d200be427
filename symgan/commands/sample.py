"""``python -m symgan sample``: sample grid and mirror series (paper Figs. 9, 10) from a checkpoint.

Writes ``grid.png`` (``--n`` samples), ``series.png`` (one row per latent, ``t`` from 1 to -1) and
``series_averaged.png`` (each image averaged with the mirror of its partner) into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import fail, int_arg, load_models_or_exit

HELP = "write a sample grid and mirror-series PNGs from a checkpoint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint file or run folder")
    p.add_argument("--out", default=None, help="output folder (default: <run>/samples)")
    p.add_argument("--n", type=int_arg(1, 4096), default=64, help="images in the grid")
    p.add_argument("--rows", type=int_arg(1, 4096), default=8,
                   help="latents (rows) in the series figure, at most --n")
    p.add_argument("--length", type=int_arg(2, 1024), default=9, help="images per series")
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..images import save_image
    from ..metrics import averaged_series, fixed_latents, series_images

    if args.rows > args.n:
        print(f"error: argument --rows: must be at most --n ({args.n}), got {args.rows}", file=sys.stderr)
        return 2
    G, _, cfg, meta = load_models_or_exit(args.checkpoint)
    src = Path(args.checkpoint)
    out = Path(args.out) if args.out else (src if src.is_dir() else src.parent) / "samples"
    z = fixed_latents(args.n, G.z_dim, args.seed)
    with torch.no_grad():
        x = G(z)
    s = series_images(G, z[: args.rows], args.length)
    try:
        save_image(x, out / "grid.png", nrow=8)
        save_image(s.flatten(0, 1), out / "series.png", nrow=args.length)
        save_image(averaged_series(s).flatten(0, 1), out / "series_averaged.png", nrow=args.length)
    except OSError as e:
        return fail(e, 1, f"cannot write the images to {out}: ")
    print(f"{cfg.method} at step {meta['step']}: wrote grid.png, series.png, series_averaged.png to {out}")
    return 0
