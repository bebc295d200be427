"""Whole generators and discriminators at the paper's geometry: what exactness costs.

Forward+backward of one batch, timed in interleaved rounds (the order rotates every round, so
a noisy shared machine slows every model alike); each ratio is the median over rounds of
``time(model) / time(reference)`` within the round. Models, at each image size (33 and 65 px by
default, widths 32 and 64):

* ``zprime``, ``flip``: the symmetric generators at the paper geometry (5x5 first map, 5x5
  symmetric kernels, stride 2, padding 2): reference ``dcgan``, the plain generator of the same
  geometry (same shapes, ordinary kernels). Goal <= 1.05.
* ``public``: the layer shapes of the only public implementation (github.com/eladb3/structured_GAN,
  ``Sym_G_DCGAN5``): the paper's 5x5 first map and 5x5 stride-2 transposed convolutions with
  padding 2 and no output padding, to ``2^k + 1`` px, then the last row and column cropped
  (not exact: the crop shifts the centre by half a pixel). Plain layers here: a lower bound on
  its cost, equal to the plain control's plus a crop. Goal: ``zprime / public`` <= 1.0.
* ``same-pad``: the TensorFlow "SAME" alternative at the same widths, a 4x4 first map and plain
  ``ConvTranspose2d(5, stride 2, padding 2, output_padding=1)``, 4 -> 8 -> ... -> 64 (not exact:
  its mirror error is printed). It has about 30% fewer multiply-adds (4x4, 8x8, ... inputs
  instead of 5x5, 9x9, ...).
* ``upsample5``: nearest up-sampling by 2 then a stride-1 5x5 convolution from a 4x4 map to the
  even size (the package's former ``kernel_size=5`` path, exact but about 4x the multiply-adds
  of a stride-2 transposed convolution), as ``upsample5 / zprime``.
* ``D sym`` vs ``D plain``: the symmetric discriminator (symmetric kernels + fold) against the
  plain DC-GAN one, both at the paper geometry. Goal <= 1.05.

    python benchmarks/bench_geometry.py [--rounds 15] [--reps 3] [--threads 2] [--sizes 33 65]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from symgan import Discriminator, Generator, mirror
from symgan.weight_init import dcgan_init


def _even_generator(width: int, img_size: int, up: Callable[[int, int], list[nn.Module]]) -> nn.Module:
    """A plain DC-GAN-shaped generator from a 4x4 map to ``img_size - 1`` (even) px."""
    n = Generator("dcgan", img_size=img_size, width=width).body.__len__()
    c0 = width * 2 ** (n - 1)
    layers: list[nn.Module] = [nn.Linear(100, c0 * 16, bias=False), nn.Unflatten(1, (c0, 4, 4)),
                               nn.BatchNorm2d(c0), nn.ReLU(inplace=True)]
    c = c0
    for i in range(n):
        last = i == n - 1
        cout = 3 if last else c // 2
        layers += up(c, cout)
        layers += [nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        c = cout
    model = nn.Sequential(*layers)
    dcgan_init(model)
    return model


class _Cropped(nn.Module):
    """The public implementation's last step: ``2^k + 1`` px cropped to ``2^k``."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z)[..., :-1, :-1]


def public_generator(width: int, img_size: int) -> nn.Module:
    """The paper geometry's plain layers, then the crop to ``img_size - 1`` px."""
    return _Cropped(Generator("dcgan", img_size=img_size, width=width))


def same_pad_generator(width: int, img_size: int) -> nn.Module:
    """5x5 stride-2 transposed convolutions with ``output_padding=1`` (TF "SAME"): 4 -> 8 -> ..."""
    return _even_generator(width, img_size, lambda c, o: [nn.ConvTranspose2d(c, o, 5, 2, 2, 1, bias=False)])


def upsample5_generator(width: int, img_size: int) -> nn.Module:
    """Nearest up-sampling by 2, then a stride-1 5x5 convolution with padding 2."""
    return _even_generator(width, img_size, lambda c, o: [nn.Upsample(scale_factor=2, mode="nearest"),
                                                          nn.Conv2d(c, o, 5, 1, 2, bias=False)])


def _time(fn: Callable[[], None], reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved(fns: dict[str, Callable[[], None]], rounds: int, reps: int) -> dict[str, list[float]]:
    """Per-round times of every function, in an order that rotates each round."""
    names = list(fns)
    for f in fns.values():
        f()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % len(names):] + names[: r % len(names)]:
            times[k].append(_time(fns[k], reps))
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of ``time(a) / time(b)``."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def bench(img_size: int, width: int, batch: int, rounds: int, reps: int) -> None:
    torch.manual_seed(0)
    gens: dict[str, nn.Module] = {a: Generator(a, img_size=img_size, width=width) for a in ("dcgan", "zprime", "flip")}
    gens["public"] = public_generator(width, img_size)
    gens["same-pad"] = same_pad_generator(width, img_size)
    gens["upsample5"] = upsample5_generator(width, img_size)
    z = torch.rand(batch, 100) * 2 - 1

    def g_step(G: nn.Module) -> Callable[[], None]:
        def f() -> None:
            G.zero_grad(set_to_none=True)
            G(z).square().mean().backward()
        return f

    errs = {}
    with torch.no_grad():
        zz = z[:4].double()
        zn = torch.cat([-zz[:, :5], zz[:, 5:]], 1)
        for k in ("public", "same-pad"):
            # the architecture alone, with the z' stem of the paper: crop the symmetric generator
            # (its stem is bias-free here), or give the SAME-padded body the mirror test
            P = (_Cropped(Generator("zprime", img_size=img_size, width=width)) if k == "public"
                 else copy.deepcopy(gens[k])).double().train()  # batch statistics: full-scale outputs
            errs[k] = (P(zn) - mirror(P(zz))).abs().max().item()
    t = interleaved({k: g_step(G) for k, G in gens.items()}, rounds, reps)
    med = {k: statistics.median(v) * 1e3 for k, v in t.items()}
    print(f"\n== generators, forward+backward, batch {batch}, width {width} ==")
    print(f"paper geometry {img_size} px: dcgan {med['dcgan']:.1f} ms, zprime {med['zprime']:.1f} ms, "
          f"flip {med['flip']:.1f} ms")
    print(f"  zprime / dcgan = {ratio(t, 'zprime', 'dcgan'):.3f}   flip / dcgan = "
          f"{ratio(t, 'flip', 'dcgan'):.3f}   (goal <= 1.05)")
    print(f"public implementation's layers, {img_size} px cropped to {img_size - 1} (its z' generator's "
          f"mirror error in float64: {errs['public']:.2f}): {med['public']:.1f} ms")
    print(f"  zprime / public = {ratio(t, 'zprime', 'public'):.3f}   flip / public = "
          f"{ratio(t, 'flip', 'public'):.3f}   (goal <= 1.0)")
    print(f"TF SAME padding (output_padding=1) from a 4x4 map to {img_size - 1} px (mirror error "
          f"{errs['same-pad']:.2f} in float64 under the z' encoding): {med['same-pad']:.1f} ms")
    print(f"  zprime / same-pad = {ratio(t, 'zprime', 'same-pad'):.3f}   flip / same-pad = "
          f"{ratio(t, 'flip', 'same-pad'):.3f}")
    print(f"upsample + 5x5 conv {img_size - 1} px (former kernel_size=5 path): {med['upsample5']:.1f} ms")
    print(f"  upsample5 / zprime = {ratio(t, 'upsample5', 'zprime'):.3f}")

    ds = {"D sym": Discriminator(True, img_size=img_size, width=width),
          "D plain": Discriminator(False, img_size=img_size, width=width)}
    x = torch.rand(batch, 3, img_size, img_size) * 2 - 1

    def d_step(D: nn.Module) -> Callable[[], None]:
        def f() -> None:
            D.zero_grad(set_to_none=True)
            D(x).mean().backward()
        return f

    t = interleaved({k: d_step(D) for k, D in ds.items()}, rounds, reps)
    print(f"== discriminators at {img_size} px, forward+backward: sym {statistics.median(t['D sym']) * 1e3:.1f} ms, "
          f"plain {statistics.median(t['D plain']) * 1e3:.1f} ms; sym / plain = "
          f"{ratio(t, 'D sym', 'D plain'):.3f} (goal <= 1.05)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--sizes", type=int, nargs="+", default=[33, 65])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size in args.sizes:
        bench(size, 32 if size <= 33 else 64, args.batch, args.rounds, args.reps)


if __name__ == "__main__":
    main()
