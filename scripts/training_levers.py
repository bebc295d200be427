"""Train one shipped cpu run with one training setting changed, then measure its snapshots.

The experiment behind the README's table of training settings: how FID and the series' yaw swing
of a run respond to the learning rates, Adam's betas, the width and the batch at a fixed step
budget. It trains ``shipped_configs("cpu")[--run]`` with the given changes (a snapshot of the
averaged generator every 1000 steps) in its own runs folder, then prints and writes the JSON of
:func:`symgan.pretrained.export.quality_curve` (FID at N against N training images, yaw swing and
|Spearman| of the series). ``--lr-d`` sets the discriminator's Adam learning rate apart from
the generator's (``--lr``); the trainer itself uses one rate for both.

    python scripts/training_levers.py --lr 8e-4 --steps 2000 --runs /tmp/levers

``--continue-from RUN_FOLDER`` copies a finished run of the same settings but a smaller
``--steps`` and trains on from it (the trainer's exact resume): the same weights as one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", default="zprime-faces", help="a shipped cpu run (default zprime-faces)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=None, help="both networks' rate (default: the run's)")
    p.add_argument("--lr-d", type=float, default=None, help="the discriminator's rate alone")
    p.add_argument("--beta1", type=float, default=None)
    p.add_argument("--beta2", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--width", type=int, default=None, help="ngf = ndf (default: the run's)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--fid-n", type=int, default=512)
    p.add_argument("--every", type=int, default=1000, help="measure every this many steps")
    p.add_argument("--n-yaw", type=int, default=512, help="latents for the yaw swing")
    p.add_argument("--runs", type=Path, required=True, help="a runs folder of its own")
    p.add_argument("--continue-from", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="JSON file (default: in --runs)")
    args = p.parse_args(argv)
    os.environ["SYMGAN_RUNS"] = str(args.runs)  # before symgan reads it

    import torch

    from symgan.pretrained import shipped_configs
    from symgan.pretrained.export import quality_curve
    from symgan.runs import run_folder
    from symgan.train import Trainer

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    configs = shipped_configs("cpu")
    if args.run not in configs:
        p.error(f"--run must be one of {list(configs)}")
    levers = ("lr", "beta1", "beta2", "seed", "width", "batch_size")
    changes = {k: getattr(args, k) for k in levers if getattr(args, k) is not None}
    cfg = dataclasses.replace(configs[args.run], max_steps=args.steps, time_budget_s=None,
                              snapshot_every=args.every, **changes)
    folder = run_folder(cfg)
    if args.lr_d is not None:  # a run with another D rate must not share a folder with one without
        folder = folder.with_name(f"{folder.name}-lr_d{args.lr_d:g}")
    if args.continue_from is not None and not folder.exists():
        shutil.copytree(args.continue_from, folder)
    t0 = time.perf_counter()
    trainer = Trainer(cfg, run_dir=folder)
    if args.lr_d is not None:
        for group in trainer.optD.param_groups:
            group["lr"] = args.lr_d
    trainer.train()
    print(f"levers: trained {folder.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    rows = quality_curve(cfg, args.fid_n, n_z=args.n_yaw, every=args.every, folder=folder)
    out = args.out or args.runs / f"{folder.name}.json"
    out.write_text(json.dumps({"run": args.run, "changes": {**changes, "lr_d": args.lr_d},
                               "steps": args.steps, "curve": rows}, indent=1))
    print(json.dumps(rows), flush=True)


if __name__ == "__main__":
    main()
