"""GPU readiness: training speed, exactness under mixed precision, and one chapter at gpu scale.

    scripts/gpu-check.sh                 # on a machine with one GPU: <= 8 minutes
    scripts/gpu-check.sh --tiny          # on a CPU: seconds (the test suite runs this)

1. Trains z', flip and DC-GAN at the ``gpu`` scale's shapes (65 px, width 64, batch 128) on
   65-px SynthFaces (rendered here: no download) for a fixed number of steps, with bf16 autocast
   and channels_last, and prints images/s for each and the ratio symmetric / plain (goal >= 0.95).
2. Exactness of the trained z' and flip generators: ``max |G(zN) - M G(z)| / max |G(z)|`` under
   bf16 autocast and in float32 with TF32 off. Bound under autocast: every layer's output is
   rounded to bfloat16 (8 significant bits, relative rounding error <= 2^-9), and the mirrored
   computation may round differently; over the generator's 5 layers (stem and 4 up-convolutions,
   each followed by normalisation that keeps magnitudes O(1)) the relative error stays below
   ``5 * 2^-8 ~ 2e-2``. The plain generator is printed as the control (of the order of 1).
3. Executes chapter 2 (symmetric kernels; SynthFaces only, no download) through papermill at the
   ``gpu`` scale (``--tiny``: skipped unless ``--chapter`` is given).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from symgan.config import TrainConfig  # noqa: E402
from symgan.data import load_training_images  # noqa: E402
from symgan.images import to_unit_range  # noqa: E402
from symgan.symmetry import mirror  # noqa: E402
from symgan.train import Trainer  # noqa: E402

AUTOCAST_BOUND = 5 * 2.0**-8


def _config(method: str, tiny: bool, device: str, out: Path) -> TrainConfig:
    if tiny:
        return TrainConfig.from_scale("smoke", method=method, n_train=64, device=device, progress=False,
                                      out_dir=str(out / method), amp=True, time_budget_s=None)
    return TrainConfig.from_scale("gpu", method=method, data="synthfaces", n_train=4096, device=device,
                                  progress=False, out_dir=str(out / method), time_budget_s=None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def speed(method: str, steps: int, warmup: int, tiny: bool, device: str, out: Path) -> tuple[float, Trainer]:
    """Images per second of the training step (after ``warmup`` steps), bf16 autocast on CUDA,
    channels_last."""
    cfg = _config(method, tiny, device, out)
    t = Trainer(cfg, out / method, resume=False)
    t.G.to(memory_format=torch.channels_last)
    t.D.to(memory_format=torch.channels_last)
    data = load_training_images(cfg)
    g = torch.Generator().manual_seed(0)
    real_all = to_unit_range(data).to(t.device).contiguous(memory_format=torch.channels_last)
    t.G.train()
    t.D.train()
    elapsed = 0.0
    for i in range(warmup + steps):
        idx = torch.randint(len(real_all), (cfg.batch_size,), generator=g).to(t.device)
        z = (torch.rand(cfg.batch_size, cfg.z_dim, generator=g) * 2 - 1).to(t.device)
        _sync(t.device)
        t0 = time.perf_counter()
        t.train_step(t.G, t.D, real_all[idx], z)
        _sync(t.device)
        if i >= warmup:
            elapsed += time.perf_counter() - t0
    return steps * cfg.batch_size / elapsed, t


@torch.no_grad()
def exactness(G: torch.nn.Module, device: torch.device) -> dict[str, float]:
    """Relative mirror error of ``G`` (eval mode) under bf16 autocast and in float32 (TF32 off)."""
    G = copy.deepcopy(G).eval().to(memory_format=torch.channels_last)
    z = G.sample_latent(64, generator=torch.Generator().manual_seed(1)).to(device)
    out = {}
    ctx = torch.autocast(device.type, dtype=torch.bfloat16)
    with ctx:
        x, xn = G(z).float(), G(G.mirror_latent(z)).float()
    out["autocast_bf16"] = ((xn - mirror(x)).abs().max() / x.abs().max()).item()
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        x, xn = G(z), G(G.mirror_latent(z))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    out["float32"] = ((xn - mirror(x)).abs().max() / x.abs().max()).item()
    return out


def run_chapter(scale: str, out: Path) -> float:
    import papermill

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        papermill.execute_notebook(str(REPO / "book" / "02_symmetric_kernels.ipynb"),
                                   str(out / "02_symmetric_kernels.ipynb"), parameters={"scale": scale},
                                   kernel_name="python3", cwd=str(REPO / "book"), progress_bar=False)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="smoke-scale shapes and 3 steps (a CPU check)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per method (default 200; tiny 3)")
    p.add_argument("--device", default="auto")
    p.add_argument("--chapter", action="store_true", help="with --tiny: also run the chapter (smoke scale)")
    p.add_argument("--out", default=None, help="folder for runs and the executed chapter (default: temporary)")
    args = p.parse_args(argv)
    steps = args.steps or (3 if args.tiny else 200)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else \
        ("cpu" if args.device == "auto" else args.device)
    out = Path(args.out or tempfile.mkdtemp(prefix="symgan-gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"gpu-check: torch {torch.__version__} on {name}; {'tiny' if args.tiny else 'gpu-scale'} shapes, "
          f"{steps} timed steps per method", flush=True)
    t_all = time.perf_counter()
    ips, trainers = {}, {}
    for m in ("dcgan", "zprime", "flip"):
        ips[m], trainers[m] = speed(m, steps, 2 if args.tiny else 20, args.tiny, device, out)
        print(f"gpu-check: {m:6s} {ips[m]:9.1f} images/s", flush=True)
    for m in ("zprime", "flip"):
        r = ips[m] / ips["dcgan"]
        print(f"gpu-check: {m} / dcgan speed {r:.3f} ({'meets' if r >= 0.95 else 'BELOW'} the goal >= 0.95)")
    ok = True
    for m in ("zprime", "flip", "dcgan"):
        e = exactness(trainers[m].G, trainers[m].device)
        if m != "dcgan":
            ok &= e["autocast_bf16"] <= AUTOCAST_BOUND
        print(f"gpu-check: {m} relative mirror error: bf16 autocast {e['autocast_bf16']:.2e} "
              f"(bound {AUTOCAST_BOUND:.2e}{', control' if m == 'dcgan' else ''}), "
              f"float32 {e['float32']:.2e}", flush=True)
    if not args.tiny or args.chapter:
        scale = "smoke" if args.tiny else "gpu"
        secs = run_chapter(scale, out)
        print(f"gpu-check: chapter 02_symmetric_kernels executed at scale {scale!r} in {secs:.0f} s", flush=True)
    print(f"gpu-check: {'OK' if ok else 'FAILED'} in {time.perf_counter() - t_all:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
