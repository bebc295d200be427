"""``python -m symgan texture``: a large seamless texture from the trained tileable generator.

Examples::

    python -m symgan texture --out texture.png --tiles 4 4            # the shipped cpu model
    python -m symgan texture --out big.png --tiles 8 8 --fresh --seed 3

Loads the ``tile`` method's model of the scale (:mod:`symgan.tiles`; at the cpu scale the
weights that ship in :mod:`symgan.pretrained`) and writes ``G(tile(z))``: one patch repeated
``rows x cols`` times, seamless by construction. ``--fresh`` draws a new latent map for every
tile instead, a texture that does not repeat and still wraps around seamlessly (it tiles too).
At the smoke scale a missing model is trained (seconds); at other scales it is an error that
says how to get it. Chapter: ``book/10_tileable_textures``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import fail, int_arg

HELP = "write a large seamless texture from the trained tileable-texture generator"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output image file (PNG, JPEG, ...)")
    p.add_argument("--tiles", nargs=2, type=int_arg(1, 64), default=[4, 4], metavar=("ROWS", "COLS"),
                   help="patches down and across (default 4 4)")
    p.add_argument("--scale", default=None, help="smoke, cpu or gpu (default: $SYMGAN_SCALE or cpu)")
    p.add_argument("--data", default=None, help="texture dataset of the model (default: the shipped one)")
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0, help="seed of the latent map")
    p.add_argument("--fresh", action="store_true",
                   help="a new latent map for every tile: a non-repeating texture that still wraps around")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..checkpoint import CheckpointError
    from ..config import TrainConfig
    from ..images import save_image
    from ..pretrained import PretrainedError
    from ..runs import load_or_train
    from ..scales import resolve_scale

    try:
        scale = resolve_scale(args.scale)
        over = {} if args.data is None else {"data": args.data}
        cfg = TrainConfig.from_scale(scale, method="tile", progress=False, **over)
    except ValueError as e:
        return fail(e, 2)
    try:
        res = load_or_train(cfg, train_if_missing=scale == "smoke")
    except (CheckpointError, PretrainedError) as e:
        print(f"error: no trained tileable-texture model for scale {scale!r} and data {cfg.data!r} "
              f"({e}). Train it with `python -m symgan pretrain --scale {scale} --only tile-{cfg.data}` "
              "(the shipped run), or run this command at --scale smoke (trains in seconds).",
              file=sys.stderr)
        return 4
    G = res.generator.cpu().eval()
    rows, cols = args.tiles
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        if args.fresh:
            z = G.sample_latent(1, generator=gen, cells=(rows * G.cells, cols * G.cells))
            x = G(z)
        else:
            x = G.texture(G.sample_latent(1, generator=gen), (rows, cols))
    out = Path(args.out)
    try:
        save_image(x[0], out)
    except (OSError, ValueError) as e:
        return fail(e, 1, f"cannot write {out}: ")
    kind = "non-repeating" if args.fresh else f"{rows}x{cols} copies of one patch"
    print(f"wrote {out}: {x.shape[-1]}x{x.shape[-2]} px, {kind}, from {cfg.run_name()} "
          f"(step {res.info.get('step')})")
    return 0
