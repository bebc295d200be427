"""Cost of symmetric layers vs plain PyTorch convolutions (goal: ratio <= 1.05 on CPU).

For every layer shape of a generator and discriminator at each image size (batch 64): the
paper's geometry at 33 and 65 px (5x5 kernels, stride 2, padding 2), DC-GAN's at 32 and 64 px
(4x4, stride 2, padding 1). Time forward+backward of
``SymConv2d`` / ``SymConvTranspose2d`` and of ``nn.Conv2d`` / ``nn.ConvTranspose2d`` with the same
shapes, in *interleaved* runs (sym, plain, plain, sym, ...) so machine noise hits both alike,
and print the median time of each and the median of the per-round ratios. Then the same for
inference (eval mode, no grad), where the symmetric layer reuses its cached kernel.

    python benchmarks/bench_layers.py [--rounds 15] [--threads 2] [--sizes 33 65 32 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from symgan import SymConv2d, SymConvTranspose2d
from symgan.geometry import Geometry, check_geometry, get_geometry


def layer_shapes(img_size: int, width: int) -> tuple[Geometry, list[tuple[str, int, int, int]]]:
    """The geometry of ``img_size`` and (kind, c_in, c_out, input width) for the D (conv) and G
    (transposed conv) layers."""
    name, n = check_geometry(img_size, None)
    g = get_geometry(name)
    shapes = []
    c, w = 3, img_size
    for i in range(n):  # discriminator: img -> stem size
        shapes.append(("conv", c, width * 2**i, w))
        c, w = width * 2**i, g.down(w)
    c, w = width * 2 ** (n - 1), g.stem_size
    for i in range(n):  # generator: stem size -> img
        cout = 3 if i == n - 1 else c // 2
        shapes.append(("convT", c, cout, w))
        c, w = cout, g.up(w)
    return g, shapes


def _time(fn, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def bench(img_size: int, width: int, batch: int, rounds: int, reps: int) -> None:
    g, shapes = layer_shapes(img_size, width)
    k, st, p = g.kernel_size, g.stride, g.padding
    print(f"\n== {img_size}x{img_size} ({g.name} geometry, {k}x{k} kernels), width {width}, "
          f"batch {batch}: forward+backward ==")
    print(f"{'layer':28s} {'sym ms':>8s} {'plain ms':>9s} {'ratio':>7s} | {'eval sym':>8s} {'eval plain':>10s} {'ratio':>6s}")
    all_train, all_eval = [], []
    for kind, cin, cout, w in shapes:
        if kind == "conv":
            sym, plain = SymConv2d(cin, cout, k, st, p, bias=False), nn.Conv2d(cin, cout, k, st, p, bias=False)
        else:
            sym = SymConvTranspose2d(cin, cout, k, st, p, bias=False)
            plain = nn.ConvTranspose2d(cin, cout, k, st, p, bias=False)
        x = torch.randn(batch, cin, w, w, requires_grad=True)

        def step(m: nn.Module, x: torch.Tensor = x) -> None:
            m.zero_grad(set_to_none=True)
            m(x).sum().backward()

        def infer(m: nn.Module, x: torch.Tensor = x) -> None:
            with torch.no_grad():
                m(x)

        results = {}
        for mode, fn in (("train", step), ("eval", infer)):
            sym.train(mode == "train")
            plain.train(mode == "train")
            fn(sym)
            fn(plain)  # warm-up
            ts, tp, ratios = [], [], []
            for r in range(rounds):
                order = (sym, plain) if r % 2 == 0 else (plain, sym)
                t = {id(m): _time(lambda m=m, fn=fn: fn(m), reps) for m in order}
                ts.append(t[id(sym)])
                tp.append(t[id(plain)])
                ratios.append(t[id(sym)] / t[id(plain)])
            results[mode] = (statistics.median(ts), statistics.median(tp), statistics.median(ratios))
        (a, b, r1), (c, d, r2) = results["train"], results["eval"]
        all_train.append(r1)
        all_eval.append(r2)
        name = f"{kind} {cin}->{cout} @{w}"
        print(f"{name:28s} {a * 1e3:8.2f} {b * 1e3:9.2f} {r1:7.3f} | {c * 1e3:8.2f} {d * 1e3:10.2f} {r2:6.3f}")
    print(f"median ratio over layers: train {statistics.median(all_train):.3f}, eval {statistics.median(all_eval):.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--sizes", type=int, nargs="+", default=[33, 65, 32, 64])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size in args.sizes:
        bench(size, 32 if size <= 33 else 64, args.batch, args.rounds, args.reps)


if __name__ == "__main__":
    main()
