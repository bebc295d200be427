"""Command line: ``python -m symgan COMMAND ...`` (``symgan COMMAND`` once installed).

Each command lives in its own module under :mod:`symgan.commands`, exposing ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``; this file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module. Every command module is imported to build the parser (``import symgan`` has
# already brought torch), so each keeps its optional dependencies (papermill, jupyter-book,
# matplotlib, the eval extra) inside ``run``: they are needed only when that command runs.
COMMANDS = {
    "demo": "symgan.commands.demo",
    "train": "symgan.commands.train",
    "sample": "symgan.commands.sample",
    "evaluate": "symgan.commands.evaluate",
    "results": "symgan.commands.results",
    "rotate": "symgan.commands.rotate",
    "rotation-study": "symgan.commands.rotation_study",
    "pretrain": "symgan.commands.pretrain",
    "texture": "symgan.commands.texture",
    "book": "symgan.commands.book",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m symgan",
        description="Symmetric GANs (Peleg & Wolf): train, sample, evaluate and build the book.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:
                continue  # command not part of this version
            raise
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt as e:
        from .train import TrainingInterrupted

        if isinstance(e, TrainingInterrupted):  # a training inside the command saved its checkpoint
            print(f"\n{e}", file=sys.stderr)
            return 130
        raise


if __name__ == "__main__":
    sys.exit(main())
