"""``python tests/hooked_cli.py [--sleep S] [--nan-at N] -- ARGS``: ``python -m symgan ARGS`` with a
training step that sleeps ``S`` seconds (so a test can kill or signal a run at a random step) or
feeds NaN images at step ``N`` (to test divergence). The package itself reads no test hooks."""

from __future__ import annotations

import argparse
import sys
import time

from symgan.__main__ import main
from symgan.train import Trainer


def _hook(sleep: float, nan_at: int) -> None:
    step = Trainer.train_step

    def hooked(self, G, D, real, z):
        if self.step + 1 == nan_at:
            real = real * float("nan")
        out = step(self, G, D, real, z)
        if sleep:
            time.sleep(sleep)
        return out

    Trainer.train_step = hooked


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--nan-at", type=int, default=-1)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    _hook(a.sleep, a.nan_at)
    sys.exit(main(argv[cut + 1:]))
