"""``python -m symgan train``: train one of the paper's five methods.

Examples::

    python -m symgan train --method zprime --scale cpu --out runs/zprime
    torchrun --nproc_per_node 2 -m symgan train --method flip --scale smoke --out runs/ddp

The run folder holds ``checkpoint.safetensors`` (resumed automatically), ``log.csv``,
``samples/step_*.png`` (a fixed-latent grid) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import fail, float_arg, int_arg

HELP = "train one of the five methods (dcgan, dcgan_soft, dcgan_strong, zprime, flip) or a texture generator"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config import METHODS

    p.add_argument("--method", default="zprime", choices=list(METHODS),
                   help="one of the paper's five methods, or tile / tile_plain (textures)")
    p.add_argument("--scale", default=None, help="smoke, cpu or gpu (default: $SYMGAN_SCALE or cpu)")
    p.add_argument("--out", default=None, help="run folder (default: runs/<method>-<data>-<size>px-<hash>)")
    p.add_argument("--data", default=None, help="dataset name (default: the scale's face data)")
    p.add_argument("--img-size", type=int, default=None,
                   help="image width: 17/33/65/129 (paper geometry) or 16/32/64/128 (DC-GAN geometry)")
    p.add_argument("--geometry", default=None, choices=["paper", "dcgan"],
                   help="paper: 5x5 first map and kernels, odd sizes (the default of every scale); "
                        "dcgan: 4x4, power-of-two sizes (default: from --img-size, else the scale's)")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="per process under torchrun")
    p.add_argument("--steps", type=int, default=None, help="maximum number of steps")
    p.add_argument("--time-budget", type=float_arg(0.0), default=None, help="seconds of training (0: no limit)")
    p.add_argument("--alpha", type=float, default=None, help="symmetry-loss weight (default: the method's)")
    p.add_argument("--sym-reduction", default=None, choices=["mean", "sum"],
                   help="how the symmetry loss reduces ||G(z) - M G(zN)||^2 over pixels (default mean)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps")
    p.add_argument("--n-train", type=int, default=None, help="training images to generate / use")
    p.add_argument("--sample-every", type=int, default=None)
    p.add_argument("--checkpoint-every", type=int, default=None)
    p.add_argument("--log-every", type=int, default=None)
    p.add_argument("--threads", type=int_arg(1, 1024), default=None, help="torch CPU threads")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if the folder has a checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")


def config_from_args(args: argparse.Namespace):
    """The :class:`~symgan.config.TrainConfig` the arguments describe."""
    from ..config import TrainConfig

    over = {k: v for k, v in {
        "data": args.data, "img_size": args.img_size, "geometry": args.geometry, "width": args.width,
        "batch_size": args.batch_size, "max_steps": args.steps, "alpha": args.alpha, "lr": args.lr,
        "sym_reduction": args.sym_reduction,
        "seed": args.seed, "device": args.device, "n_train": args.n_train,
        "sample_every": args.sample_every, "checkpoint_every": args.checkpoint_every,
        "log_every": args.log_every, "out_dir": args.out,
    }.items() if v is not None}
    if args.time_budget is not None:
        over["time_budget_s"] = args.time_budget or None
    if args.no_progress:
        over["progress"] = False
    return TrainConfig.from_scale(args.scale, method=args.method, **over)


#: TrainConfig field -> the option that sets it, so an error names what the user typed.
_OPTIONS = {"data": "--data", "img_size": "--img-size", "geometry": "--geometry", "width": "--width",
            "batch_size": "--batch-size", "max_steps": "--steps", "time_budget_s": "--time-budget",
            "alpha": "--alpha", "sym_reduction": "--sym-reduction", "lr": "--lr", "seed": "--seed",
            "device": "--device", "n_train": "--n-train", "sample_every": "--sample-every",
            "checkpoint_every": "--checkpoint-every", "log_every": "--log-every", "out_dir": "--out",
            "method": "--method", "scale": "--scale"}


def _option_error(e: Exception) -> str:
    """``argument --steps: max_steps must be ...`` for a config error about ``max_steps``."""
    text = str(e)
    first = text.split(" ", 1)[0]
    return f"argument {_OPTIONS[first]}: {text}" if first in _OPTIONS else text


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 trained (or already finished), 1 the run folder or a file in it could not
    be written, 2 a bad option, 3 diverged, 4 an unusable checkpoint in the run folder,
    5 another process is training in the same folder, 130 stopped by Ctrl-C or SIGTERM (after
    saving a checkpoint: run the same command to resume)."""
    import torch

    from ..checkpoint import CheckpointError
    from ..runs import RunLocked
    from ..train import Trainer, TrainingDiverged, TrainingInterrupted

    try:  # every option is checked before anything is written
        cfg = config_from_args(args)
    except (TypeError, ValueError) as e:
        return fail(_option_error(e), 2)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        trainer = Trainer(cfg, cfg.out_dir, resume=not args.no_resume)
        result = trainer.train()
    except TrainingInterrupted as e:
        print(f"\n{e}", file=sys.stderr)
        return 130
    except TrainingDiverged as e:
        return fail(e, 3)
    except CheckpointError as e:
        return fail(e, 4)
    except RunLocked as e:
        return fail(e, 5)
    except OSError as e:
        return fail(e, 1)
    if trainer.rank == 0:
        print(json.dumps(result.info, indent=2))
    return 0
