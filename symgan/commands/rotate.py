"""``python -m symgan rotate IMAGE``: FitAndTune an existing face photo and rotate it.

IMAGE is a file path, ``astronaut`` (scikit-image's public-domain photo), ``lfw:N`` (face N of
the LFW subset) or ``synthfaces:N`` (held-out SynthFaces face N). The generator is the z'
model of the chosen scale (trained on first use and cached, see ``load_or_train``) or the z'
or flip model of a training checkpoint (``--checkpoint``, built from its own config). Writes ``rotation.png`` (target, then the inversion-only and FitAndTune
rotations), ``rotation.gif`` and ``tuned.safetensors`` into ``--out``, and prints the metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import fail, int_arg

#: Named images: prefix -> number of images it has.
_NAMED = {"lfw:": 100, "synthfaces:": 10000}

HELP = "FitAndTune an image (path, astronaut, lfw:N, synthfaces:N) and save its rotation"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", help="image path, 'astronaut', 'lfw:N' or 'synthfaces:N'")
    p.add_argument("--scale", default=None, help="smoke, cpu (default) or gpu")
    p.add_argument("--checkpoint", default=None,
                   help="training checkpoint (file or run folder) of any z' or flip generator; the "
                        "model is built from its config (default: the scale's z' model)")
    p.add_argument("--out", default="outputs/rotation", help="output folder")
    p.add_argument("--frames", type=int_arg(2, 1024), default=9, help="frames of the rotation")
    p.add_argument("--invert-steps", type=int_arg(0, 10**6), default=300)
    p.add_argument("--tune-steps", type=int_arg(0, 10**6), default=300)
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)


def check_image_spec(spec: str) -> None:
    """``ValueError`` naming ``image`` for a spec :func:`resolve_image` cannot serve: an index
    out of range, or a path that is not a readable image. Cheap, so it runs before any work."""
    for prefix, count in _NAMED.items():
        if spec.startswith(prefix):
            index = spec[len(prefix):]
            if not index.isdigit() or not 0 <= int(index) < count:
                raise ValueError(f"image {spec!r}: {prefix}N needs an integer N in [0, {count - 1}]")
            return
    if spec == "astronaut":
        return
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"image {spec!r} is not a file, nor 'astronaut', 'lfw:N' or 'synthfaces:N'")
    from ..images import read_image

    try:
        read_image(path)
    except ValueError as e:
        raise ValueError(f"image {spec!r}: {e}") from None


def resolve_image(spec: str, size: int, channels: int):
    """A named image (see the module docstring) or a path, as something prepare_image takes."""
    if spec == "astronaut":
        from ..data.real import astronaut_face

        return astronaut_face(size, channels)
    if spec.startswith("lfw:"):
        from ..data.real import LFWSubset

        return LFWSubset(size, channels)[int(spec[4:])]
    if spec.startswith("synthfaces:"):
        from ..studies.rotation import held_out_faces

        i = int(spec.split(":", 1)[1])
        return held_out_faces(size, channels, n=i + 1)[i]
    return spec


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 done, 1 the output folder cannot be written, 2 a bad argument (image,
    scale, a checkpoint of a DC-GAN generator), 4 an unusable checkpoint."""
    import torch

    from ..checkpoint import CheckpointError, load_models
    from ..config import TrainConfig
    from ..data import load_training_images
    from ..fit_and_tune import fit_and_tune, save_rotation
    from ..images import make_grid, save_image
    from ..runs import load_or_train
    from ..scales import resolve_scale

    out = Path(args.out)
    try:  # everything that can be refused is refused before any training or tuning
        check_image_spec(args.image)
        scale = resolve_scale(args.scale)
        out.mkdir(parents=True, exist_ok=True)
    except ValueError as e:
        return fail(e, 2)
    except OSError as e:
        return fail(e, 1, f"argument --out: cannot create {out}: ")
    if args.checkpoint is not None:
        try:
            G, D, cfg, _ = load_models(args.checkpoint, kind="training")
        except CheckpointError as e:
            return fail(e, 4, "argument --checkpoint: ")
    else:
        res = load_or_train(TrainConfig.from_scale(scale, method="zprime"))
        G, D, cfg = res.generator, res.discriminator, res.config
    if G.arch == "dcgan":
        print(f"error: argument --checkpoint: rotation needs a symmetric generator (zprime or flip), "
              f"{args.checkpoint} holds a {cfg.method} one", file=sys.stderr)
        return 2
    image = resolve_image(args.image, G.img_size, G.channels)
    data = load_training_images(cfg)
    t0 = time.perf_counter()
    ft = fit_and_tune(G, D, image, data, invert_steps=args.invert_steps, tune_steps=args.tune_steps,
                      seed=args.seed, progress=True)
    seconds = time.perf_counter() - t0
    f_inv, f_tun = ft.rotations(G, args.frames)
    rows = torch.cat([ft.image.cpu(), f_inv, ft.image.cpu(), f_tun])
    save_image(make_grid(rows, nrow=args.frames + 1, padding=1), out / "rotation.png")
    save_rotation(f_tun, gif=out / "rotation.gif")
    ft.save(out / "tuned.safetensors", cfg)
    report = {**ft.metrics, "seconds": round(seconds, 2), "image": args.image, "out": str(out.resolve())}
    print(json.dumps(report, indent=2))
    return 0
