"""``python -m symgan rotate IMAGE``: FitAndTune an existing face photo and rotate it.

IMAGE is a file path, ``astronaut`` (scikit-image's public-domain photo), ``lfw:N`` (face N of
the LFW subset) or ``synthfaces:N`` (held-out SynthFaces face N). The generator is the z'
model of the chosen scale (trained on first use and cached, see ``load_or_train``) or
``--checkpoint``. Writes ``rotation.png`` (target, then the inversion-only and FitAndTune
rotations), ``rotation.gif`` and ``tuned.safetensors`` into ``--out``, and prints the metrics.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HELP = "FitAndTune an image (path, astronaut, lfw:N, synthfaces:N) and save its rotation"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", help="image path, 'astronaut', 'lfw:N' or 'synthfaces:N'")
    p.add_argument("--scale", default=None, help="smoke, cpu (default) or gpu")
    p.add_argument("--checkpoint", default=None, help="training checkpoint of a z' or flip generator")
    p.add_argument("--out", default="outputs/rotation", help="output folder")
    p.add_argument("--frames", type=int, default=9)
    p.add_argument("--invert-steps", type=int, default=300)
    p.add_argument("--tune-steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)


def resolve_image(spec: str, size: int, channels: int):
    """A named image (see the module docstring) or a path, as something prepare_image takes."""
    if spec == "astronaut":
        from ..data.real import astronaut_face

        return astronaut_face(size, channels)
    if spec.startswith("lfw:"):
        from ..data.real import LFWSubset

        return LFWSubset(size, channels)[int(spec[4:])]
    if spec.startswith("synthfaces:"):
        from ..rotation_study import held_out_faces

        i = int(spec.split(":", 1)[1])
        return held_out_faces(size, channels, n=i + 1)[i]
    return spec


def run(args: argparse.Namespace) -> int:
    import torch

    from ..config import TrainConfig
    from ..finetune import fit_and_tune
    from ..images import make_grid, save_image
    from ..rotation import rotate, save_rotation
    from ..train import load_or_train, load_training_images

    cfg = TrainConfig.from_scale(args.scale, method="zprime")
    res = load_or_train(cfg, path=args.checkpoint)
    G, D, cfg = res.generator, res.discriminator, res.config
    if G.arch == "dcgan":
        raise SystemExit("rotation needs a symmetric generator (zprime or flip), got a dcgan checkpoint")
    image = resolve_image(args.image, G.img_size, G.channels)
    data = load_training_images(cfg)
    t0 = time.perf_counter()
    ft = fit_and_tune(G, D, image, data, invert_steps=args.invert_steps, tune_steps=args.tune_steps,
                      seed=args.seed, progress=True)
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    f_inv = rotate(G, ft.inversion.z, args.frames)
    f_tun = rotate(ft.generator, ft.z, args.frames)
    rows = torch.cat([ft.image.cpu(), f_inv, ft.image.cpu(), f_tun])
    save_image(make_grid(rows, nrow=args.frames + 1, padding=1), out / "rotation.png")
    save_rotation(f_tun, gif=out / "rotation.gif")
    ft.save(out / "tuned.safetensors", cfg)
    report = {**ft.metrics, "seconds": round(seconds, 2), "image": args.image, "out": str(out.resolve())}
    print(json.dumps(report, indent=2))
    return 0
