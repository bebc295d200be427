"""Wall time of FitAndTune at a scale's shapes (goal: <= 60 s per image at cpu scale, 2 cores).

The cost does not depend on the weights, so a freshly initialised z' generator (BatchNorm
statistics calibrated) of the scale's size and width stands in for a trained one. Prints the
median of ``--runs`` runs of each phase and of the whole default ``fit_and_tune``.

    python benchmarks/bench_fit_and_tune.py [--scale cpu] [--runs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from symgan import Discriminator, Generator
from symgan.ema import calibrate_batchnorm
from symgan.fit_and_tune import fit_and_tune, invert
from symgan.scales import get_scale


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="cpu")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    s = get_scale(args.scale)
    torch.manual_seed(0)
    G = Generator("zprime", img_size=s.img_size, width=s.width)
    D = Discriminator(True, img_size=s.img_size, width=s.width)
    calibrate_batchnorm(G, G.sample_latent(512))
    data = torch.rand(2048, 3, s.img_size, s.img_size) * 2 - 1
    image = torch.rand(3, s.img_size, s.img_size) * 2 - 1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, scale {s.name}: "
          f"{s.img_size}px, width {s.width}")
    t_inv, t_all = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        invert(G, image)
        t_inv.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fit_and_tune(G, D, image, data, target_mse=None)  # defaults, no early stop: worst case
        t_all.append(time.perf_counter() - t0)
    print(f"phase I (invert, default 300 steps x 8 starts): median {statistics.median(t_inv):.1f} s "
          f"(runs: {', '.join(f'{t:.1f}' for t in t_inv)})")
    print(f"fit_and_tune (defaults, 300 + 300 steps, no early stop): median {statistics.median(t_all):.1f} s "
          f"(runs: {', '.join(f'{t:.1f}' for t in t_all)})")


if __name__ == "__main__":
    main()
