"""Benchmark: a full training step of the z' and flip methods against the plain DC-GAN.

A step is the trainer's own (:meth:`symgan.train.Trainer.train_step`): D on a real and a fake
batch, then G (non-saturating BCE), forward and backward, two Adam updates. Methods are run
interleaved in a rotating order (dcgan, zprime, flip; zprime, flip, dcgan; ...) so that a noisy shared machine slows them alike;
the printed ratio is the median over rounds of ``time(method) / time(dcgan)`` of that round.
The goal is a ratio <= 1.10 on CPU.

Sizes 33 and 65 use the paper's geometry (5x5 layers), 32 and 64 DC-GAN's (4x4). Then training
throughput (images/s) at the gpu scale's shapes (65x65, width 64, batch 128).

Run: ``python benchmarks/bench_train.py [--rounds 15] [--steps 5] [--threads 2] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from symgan.config import TrainConfig
from symgan.train import Trainer


def make(method: str, img_size: int, width: int, batch: int, device: str) -> tuple[Trainer, torch.Tensor]:
    cfg = TrainConfig(method=method, img_size=img_size, width=width, batch_size=batch, device=device,
                      progress=False, time_budget_s=None)
    tr = Trainer(cfg, run_dir="/tmp/symgan-bench-unused", resume=False)
    real = torch.rand(batch, 3, img_size, img_size, device=tr.device) * 2 - 1
    return tr, real


def time_steps(tr: Trainer, real: torch.Tensor, steps: int) -> float:
    z = torch.rand(real.shape[0], tr.cfg.z_dim, device=tr.device) * 2 - 1
    if tr.device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        tr.train_step(tr.G, tr.D, real, z)
    if tr.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=5, help="timed steps per method per round")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", type=int, nargs="+", default=[33, 65])
    p.add_argument("--width", type=int, default=None, help="default: 32 up to 33 px, else 64")
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads")
    methods = ("dcgan", "zprime", "flip")
    for size in args.sizes:
        width = args.width or (32 if size <= 33 else 64)
        runs = {m: make(m, size, width, 64, args.device) for m in methods}
        for m in methods:  # warm-up
            time_steps(*runs[m], 2)
        times: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.rounds):
            # Rotate the order every round so that no method always runs first (warm caches,
            # allocator state) or right after the same neighbour.
            for m in methods[r % 3:] + methods[: r % 3]:
                times[m].append(time_steps(*runs[m], args.steps))
        base = times["dcgan"]
        line = [f"{size}px width {width} batch 64: dcgan {statistics.median(base) * 1e3:.1f} ms/step"]
        for m in ("zprime", "flip"):
            ratio = statistics.median(t / b for t, b in zip(times[m], base, strict=True))
            line.append(f"{m} {statistics.median(times[m]) * 1e3:.1f} ms (ratio {ratio:.3f})")
        print(";  ".join(line), flush=True)
    if not args.skip_throughput:
        for m in methods:
            tr, real = make(m, 65, 64, 128, args.device)
            time_steps(tr, real, 1)
            dt = time_steps(tr, real, 3)
            print(f"gpu-scale shapes (65px, width 64, batch 128) {m}: {128 / dt:.0f} images/s "
                  f"({dt * 1e3:.0f} ms/step) on {args.device}", flush=True)


if __name__ == "__main__":
    main()
