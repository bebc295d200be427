"""``python -m symgan pretrain``: train the runs that ship in ``symgan/pretrained/`` and export them.

Examples::

    python -m symgan pretrain --scale cpu --jobs 2          # the shipped weights (about 1 h on 2 cores)
    python -m symgan pretrain --scale cpu --only zprime-faces --no-export

Each run trains with the project's trainer at its scale's step budget and seed (resuming, or
loading a finished run, from ``runs/``), one process per job with ``--threads`` torch threads
each. Export writes the averaged generator and the discriminator of each run to
``symgan/pretrained/<run name>.safetensors`` and its entry in ``manifest.json``: config, steps,
training seconds, torch version, SHA-256, this command, and metrics measured on the file
(exactness, FID against the training data).
"""

from __future__ import annotations

import argparse
import sys

from . import int_arg

HELP = "train the shipped runs (the book's models) and export them into symgan/pretrained/"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", help="the scale whose runs to train (default cpu)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME",
                   help="train only these runs (names as in the manifest: zprime-faces, zprime-rooms, ...)")
    p.add_argument("--jobs", type=int_arg(1, 64), default=1, help="runs trained at once, one process each")
    p.add_argument("--threads", type=int_arg(1, 1024), default=1, help="torch threads per job")
    p.add_argument("--no-export", action="store_true", help="train only; leave symgan/pretrained/ alone")
    p.add_argument("--fid", type=int_arg(0, 100000), default=512,
                   help="images per set for the FID written to the manifest (0: skip)")


def _train_one(config_dict: dict, threads: int) -> tuple[str, int, float, str]:
    """Train (or load the finished run of) one config in this worker process."""
    import torch

    from ..config import TrainConfig
    from ..runs import load_or_train

    torch.set_num_threads(threads)
    cfg = TrainConfig.from_dict(config_dict)
    res = load_or_train(cfg, pretrained=False)
    return cfg.run_name(), int(res.info["step"]), float(res.info.get("elapsed_s") or 0.0), \
        str(res.info.get("stop_reason", ""))


def _train_yaw(kwargs: dict, threads: int) -> str:
    """Train (or load the cached) yaw regressor in this worker process."""
    from ..studies.yaw import load_yaw_regressor

    load_yaw_regressor(**kwargs, threads=threads)
    return "ok"


def selected(scale: str, only: list[str] | None) -> tuple[dict, list[str]]:
    """The GAN runs (``name -> TrainConfig``) and the yaw regressors (names) to train."""
    from ..pretrained import SHIPPED_YAW, shipped_configs

    configs = shipped_configs(scale)
    yaws = list(SHIPPED_YAW) if scale == "cpu" else []
    if only:
        unknown = [n for n in only if n not in configs and n not in SHIPPED_YAW]
        if unknown:
            raise SystemExit(f"pretrain: unknown run(s) {unknown}: expected some of "
                             f"{list(configs) + list(SHIPPED_YAW)}")
        configs = {n: configs[n] for n in only if n in configs}
        yaws = [n for n in only if n in SHIPPED_YAW]
    return configs, yaws


def run(args: argparse.Namespace) -> int:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ..pretrained import SHIPPED_YAW

    configs, yaws = selected(args.scale, args.only)
    print(f"pretrain: {len(configs) + len(yaws)} run(s) at scale {args.scale!r}, {args.jobs} job(s) x "
          f"{args.threads} thread(s): {', '.join(list(configs) + yaws)}", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {name: pool.submit(_train_one, cfg.to_dict(), args.threads) for name, cfg in configs.items()}
        futures.update({name: pool.submit(_train_yaw, SHIPPED_YAW[name], args.threads) for name in yaws})
        for name, fut in futures.items():
            res = fut.result()
            if name in configs:
                run_name, step, secs, why = res
                print(f"pretrain: {name}: {step} steps, {secs:.0f} s of training ({why}) in runs/{run_name}",
                      flush=True)
    if args.no_export:
        return 0
    from ..pretrained.export import export_runs, export_yaw

    command = " ".join(["python -m symgan"] + sys.argv[1:])
    if configs:
        export_runs(configs, scale=args.scale, fid_n=args.fid, command=command)
    if yaws:
        export_yaw(yaws, scale=args.scale)
    return 0
