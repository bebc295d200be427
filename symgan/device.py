"""Device choice, module mode and reproducibility: pick cuda / mps / cpu, run a module in eval
mode for a while (:func:`eval_mode`), seed every RNG, save and restore them.

A resumed run continues *exactly* only when every random number generator it draws from is
restored: torch's global CPU (and CUDA) generators, numpy's and Python's. The RNG state is
returned as tensors (torch) and JSON-able lists (numpy, Python) so a checkpoint never needs
pickle (see :mod:`symgan.checkpoint`).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["auto_device", "check_device", "eval_mode", "seed_everything", "get_rng_state", "set_rng_state"]


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``with eval_mode(G): ...`` runs ``G`` in eval mode (BatchNorm's running statistics) and
    restores its training flag afterwards, also on an exception. Gradients are untouched: add
    ``torch.no_grad()`` where none are needed."""
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)


def check_device(prefer: str | None = "auto") -> str:
    """``prefer`` if it names a device this machine has (``"auto"``, ``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, ``"mps"``); ``TypeError`` / ``ValueError`` naming ``device`` otherwise, so a
    run asking for a GPU it does not have fails before anything is written."""
    if prefer is None or prefer in ("", "auto"):
        return "auto"
    if not isinstance(prefer, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu', 'cuda' or 'cuda:0', got {prefer!r}")
    try:
        dev = torch.device(prefer)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {prefer!r}") from e
    if dev.type == "cpu":
        return prefer
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError(f"device {prefer!r} is not available: this machine has no CUDA GPU "
                             "(torch.cuda.is_available() is False); use device='cpu' or 'auto'")
        if dev.index is not None and not 0 <= dev.index < n:
            raise ValueError(f"device {prefer!r} is not available: this machine has {n} CUDA "
                             f"device(s), cuda:0 to cuda:{n - 1}")
        return prefer
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {prefer!r} is not available on this machine; use device='cpu' or 'auto'")
        return prefer
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {prefer!r}")


def auto_device(prefer: str | None = "auto") -> torch.device:
    """``prefer`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; checked with
    :func:`check_device`), else the best available: cuda, then mps, then cpu. Under
    ``torchrun`` ``"auto"`` picks ``cuda:$LOCAL_RANK``."""
    if check_device(prefer) != "auto":
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's ``random``. With ``deterministic``, turn off
    cuDNN autotuning (it picks algorithms by timing) and ask cuDNN for deterministic kernels.

    CPU training is deterministic for a fixed number of threads without more: the kernels the
    trainer uses (convolutions, BatchNorm, indexing) have no atomics on CPU. The process-wide
    ``torch.use_deterministic_algorithms`` is deliberately not switched on, since it would change
    the behaviour of unrelated code running in the same process (a notebook kernel)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def get_rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, json)``: torch CPU/CUDA states as ``uint8`` tensors; numpy and Python states
    as JSON-serialisable values."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    name, keys, pos, has_gauss, cached = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    js = {
        "numpy": [name, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
        "python": [py_version, list(py_state), py_gauss],
    }
    return tensors, js


def set_rng_state(tensors: dict[str, torch.Tensor], js: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(tensors["torch_cpu"].to(torch.uint8).cpu())
    cuda = sorted(k for k in tensors if k.startswith("torch_cuda_"))
    if cuda and torch.cuda.is_available():
        states = [tensors[k].to(torch.uint8).cpu() for k in cuda]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
    if "numpy" in js:
        name, keys, pos, has_gauss, cached = js["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "python" in js:
        v, state, gauss = js["python"]
        random.setstate((v, tuple(state), gauss))
