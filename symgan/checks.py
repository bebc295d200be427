"""Argument checks that refuse a bad value up front, naming the argument and the valid range.

Every public entry point (``TrainConfig``, the checkpoint reader, the commands) checks its
arguments with these before doing any work, so a typo costs a clear message instead of a raw
torch / numpy error from deep inside, a silent wrong result, or minutes of work thrown away.

Wrong *types* raise ``TypeError`` and wrong *values* ``ValueError``; both messages start with the
argument's name. ``bool`` is refused where a number is expected (``True`` is an ``int`` to
Python, never a count to a user).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "check_int", "check_float", "check_choice", "check_bool", "check_finite", "check_model_input",
    "NonFiniteError",
]


class NonFiniteError(ValueError):
    """A tensor holds NaN or Inf where it would do lasting harm (BatchNorm statistics, weights)."""


def _range(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi}"
    return "any value"


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (``None``: unbounded); ``TypeError`` for a
    non-integer (``2.5``, ``"3"``, ``True``), ``ValueError`` outside the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer {_range(lo, hi)}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer {_range(lo, hi)}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` in the range (``lo_open``/``hi_open``: bound excluded);
    ``TypeError`` for a non-number, ``ValueError`` for NaN, Inf or a value outside the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number {_range(lo, hi, lo_open, hi_open)}, "
                        f"got {value!r} ({type(value).__name__})")
    value = float(value)
    bad = not math.isfinite(value)
    bad = bad or (lo is not None and (value <= lo if lo_open else value < lo))
    bad = bad or (hi is not None and (value >= hi if hi_open else value > hi))
    if bad:
        raise ValueError(f"{name} must be a finite number {_range(lo, hi, lo_open, hi_open)}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``; ``ValueError`` listing them otherwise."""
    options = list(choices)
    try:
        ok = value in options
    except TypeError:  # an unhashable value compared with a dict's keys
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a ``bool``; ``TypeError`` otherwise (``"false"`` is not ``False``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def check_finite(x: Tensor, name: str) -> Tensor:
    """``x`` unchanged if every entry is finite; :class:`NonFiniteError` naming ``name`` otherwise.

    The models call this on their input in training mode: BatchNorm folds every batch into its
    running statistics, so one NaN would make every later eval-mode output NaN, silently.
    """
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise NonFiniteError(
            f"{name} has {n_bad} non-finite value(s) (NaN or Inf) in training mode; refused before "
            "BatchNorm folds them into its running statistics"
        )
    return x


def check_model_input(model: torch.nn.Module, x: Tensor, name: str) -> Tensor:
    """``x``, the input of a generator or discriminator, unchanged if it has the dtype of the
    model's parameters (``TypeError`` otherwise) and, in training mode, is finite
    (:func:`check_finite`). Costs one pass over the input, small next to the first layer."""
    dtype = next(model.parameters()).dtype
    if x.dtype != dtype:
        raise TypeError(f"{name} must have the model's dtype {dtype}, got {x.dtype} (convert it with "
                        f"{name}.to({dtype}) or the model with .to({x.dtype}))")
    if model.training:
        check_finite(x, name)
    return x
