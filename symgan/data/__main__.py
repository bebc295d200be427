"""``python -m symgan.data {list,fetch,prepare} [NAME] [--size N]``."""

from __future__ import annotations

import argparse
import sys

from .cache import data_dir
from .fetch import fetch
from .registry import DATASETS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m symgan.data", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the datasets and the data directory")
    for cmd in ("fetch", "prepare"):
        p = sub.add_parser(cmd, help="download (real) or render and cache (synthetic) a dataset")
        p.add_argument("name", choices=sorted(DATASETS.keys() - {"folder"}))
        p.add_argument("--size", type=int, default=33, help="image size for synthetic sets")
    args = ap.parse_args(argv)
    if args.cmd == "list":
        print(f"data directory: {data_dir()}  (set SYMGAN_DATA to change)")
        for name, (_, desc) in DATASETS.items():
            print(f"  {name:13s} {desc}")
        return 0
    fetch(args.name, size=args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
