"""``python -m symgan evaluate``: the paper's symmetry measurements of a checkpoint, as JSON.

See :func:`symgan.metrics.evaluate_models` for the fields, :func:`symgan.fid.fid_kid` for ``--fid``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import fail, int_arg, load_models_or_exit

HELP = "measure mirror exactness, series mirror-MSE, D mirror gap and yaw of a checkpoint (JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint file or run folder")
    p.add_argument("--out", default=None, help="JSON file to write (default: print only)")
    p.add_argument("--n-z", type=int_arg(1, 4096), default=32, help="latents to average over")
    p.add_argument("--length", type=int_arg(2, 1024), default=9, help="images per series")
    p.add_argument("--n-data", type=int_arg(0, 10**7), default=1000,
                   help="training images for the data and D measurements (0: skip)")
    p.add_argument("--no-yaw", action="store_true", help="skip the yaw regressor (non-face data)")
    p.add_argument("--fid", action="store_true", help="also FID/KID (needs symgan[eval])")
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import load_training_images
    from ..fid import EvalExtraMissing, fid_kid
    from ..images import to_unit_range
    from ..metrics import evaluate_models, fixed_latents

    if args.fid and args.n_data < 2:
        print(f"error: argument --fid: needs --n-data >= 2 training images, got {args.n_data}", file=sys.stderr)
        return 2
    G, D, cfg, meta = load_models_or_exit(args.checkpoint)
    data = None
    if args.n_data:
        src = load_training_images(cfg)
        if not isinstance(src, torch.Tensor):
            src = torch.stack([src[i] for i in range(min(args.n_data, len(src)))])
        data = src[: args.n_data]
    yaw = not args.no_yaw and cfg.data.startswith("synthfaces")
    res = {"method": cfg.method, "step": meta["step"], "elapsed_s": meta.get("elapsed_s"),
           **evaluate_models(G, D, data=data, n_z=args.n_z, n=args.length, seed=args.seed, yaw=yaw)}
    if args.fid and data is not None:
        try:
            with torch.no_grad():
                fake = G(fixed_latents(len(data), G.z_dim, args.seed + 1))
            real = to_unit_range(data) if data.dtype == torch.uint8 else data
            res.update(fid_kid(real, fake))
        except EvalExtraMissing as e:
            print(f"note: {e}", file=sys.stderr)
            res["fid"] = None
    text = json.dumps(res, indent=2)
    if args.out:
        try:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(text)
        except OSError as e:
            print(text)
            return fail(e, 1, f"cannot write {args.out}: ")
    print(text)
    return 0
