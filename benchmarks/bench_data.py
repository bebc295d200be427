"""Render-speed benchmark for the procedural datasets (no caching involved).

    python benchmarks/bench_data.py [--n 10000] [--size 33] [--repeats 3] [--threads 0]

Prints the median wall-clock time of ``repeats`` renders of ``n`` SynthFaces and ``n`` SynthRooms
(sampling the parameters included). Goal: 10,000 images at the cpu scale (33x33) in <= 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--size", type=int, default=33)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="limit BLAS threads (0: leave)")
    args = ap.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np

    from symgan.data.synthfaces import render_batch, sample_identities, sample_yaws
    from symgan.data.synthrooms import render_rooms, sample_rooms

    def faces():
        idx = range(args.n)
        return render_batch(sample_identities(0, idx), sample_yaws(0, idx), args.size)

    def rooms():
        return render_rooms(sample_rooms(0, range(args.n)), args.size)

    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, n={args.n}, size={args.size}")
    for name, fn in (("SynthFaces", faces), ("SynthRooms", rooms)):
        times, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        assert out.shape == (args.n, args.size, args.size, 3)
        # CPU time shows how much of the wall time was this process (the machine may be shared)
        print(f"{name}: median {statistics.median(times):.1f} s wall over {args.repeats} runs "
              f"({', '.join(f'{x:.1f}' for x in times)}), median CPU time "
              f"{statistics.median(cpu):.1f} s; {args.n / statistics.median(times):.0f} images/s")


if __name__ == "__main__":
    main()
