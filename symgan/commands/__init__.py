"""Command-line commands; see :mod:`symgan.__main__`.

Options are checked by ``argparse`` when the command line is parsed, before any work: the
types below wrap :mod:`symgan.checks`, so ``--n 0`` ends with ``argument --n: must be an
integer >= 1, got 0`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..checks import _range, check_float, check_int

__all__ = ["int_arg", "float_arg", "fail", "load_models_or_exit"]


def int_arg(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An ``argparse`` type: an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), lo, hi)
        except ValueError as e:
            if "must" not in str(e):  # int() itself: not an integer at all
                e = ValueError(f"value must be an integer {_range(lo, hi)}, got {text!r}")
            raise argparse.ArgumentTypeError(str(e).replace("value must", "must", 1)) from None

    parse.__name__ = "integer"  # argparse's fallback message says "invalid integer value"
    return parse


def float_arg(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Callable[[str], float]:
    """An ``argparse`` type: a finite number in the range (``lo_open``: ``lo`` excluded)."""

    def parse(text: str) -> float:
        try:
            return check_float("value", float(text), lo, hi, lo_open=lo_open)
        except ValueError as e:
            if "must" not in str(e):  # float() itself: not a number at all
                e = ValueError(f"value must be a number {_range(lo, hi, lo_open)}, got {text!r}")
            raise argparse.ArgumentTypeError(str(e).replace("value must", "must", 1)) from None

    parse.__name__ = "number"
    return parse


def fail(error: BaseException | str, status: int, prefix: str = "") -> int:
    """Print ``error: <prefix><error>`` to stderr and return ``status``, the command's exit status
    (1 an I/O failure, 2 a bad argument, 3 and up a failure of the work itself)."""
    print(f"error: {prefix}{error}", file=sys.stderr)
    return status


def load_models_or_exit(checkpoint: str, **kwargs: Any) -> tuple:
    """:func:`symgan.checkpoint.load_models` for a command: ``(G, D, config, meta)``. A path that
    holds no readable checkpoint prints ``error: ...`` and ends the command with exit status 4."""
    from ..checkpoint import CheckpointError, load_models

    try:
        return load_models(checkpoint, **kwargs)
    except CheckpointError as e:
        raise SystemExit(fail(e, 4)) from None
