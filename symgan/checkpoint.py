"""Checkpoints that lose nothing and execute nothing.

One file per checkpoint, in the `safetensors <https://github.com/huggingface/safetensors>`_
format: every tensor (G and D weights and buffers, the optimisers' state, the torch RNG states)
is a named tensor, and everything else (the training config, the step, the optimisers'
hyper-parameters, numpy's and Python's RNG states) is JSON in the file's metadata. Loading
therefore never unpickles anything.

Integrity: the metadata holds a SHA-256 of every tensor's name, dtype, shape and bytes, checked
on load, so a truncated or tampered file raises :class:`CheckpointError` instead of loading
wrong weights. Writes go to a temporary file in the same folder, are fsync'ed and then
``os.replace``'d over the target (atomic on POSIX and Windows); the previous checkpoint is kept
as ``<name>.prev.safetensors``, so a crash at any moment leaves a checkpoint that loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as st_save
from torch import nn

__all__ = [
    "FORMAT",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "optimizer_to_tensors",
    "optimizer_from_tensors",
    "load_models",
    "check_model_config",
]

FORMAT = "symgan-checkpoint-v1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, truncated, tampered, or for other models."""


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def prev_path(path: str | os.PathLike) -> Path:
    """Where the previous checkpoint is kept: ``ckpt.safetensors -> ckpt.prev.safetensors``."""
    p = Path(path)
    return p.with_name(p.stem + ".prev" + p.suffix)


def save_checkpoint(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict[str, Any], keep_prev: bool = True
) -> Path:
    """Atomically write ``tensors`` (name -> tensor) and JSON-serialisable ``meta`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "meta": json.dumps(meta), "sha256": _digest(tensors)}
    blob = st_save(tensors, metadata=metadata)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".ckpt.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        if keep_prev and path.exists():
            # A hard link keeps `path` in place the whole time (then the new file replaces it).
            link = str(tmp) + ".prev"
            try:
                os.link(path, link)
                os.replace(link, prev_path(path))
            except OSError:
                pass  # file systems without hard links: the atomic replace below still holds
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of a checkpoint written by :func:`save_checkpoint`.

    Raises :class:`CheckpointError` (with the path and the reason) for a missing, truncated,
    corrupted or tampered file, or one that is not a symgan checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
    except Exception as e:  # safetensors raises its own error type for bad headers / sizes
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupted?): {e}"
        ) from e
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} file (format={metadata.get('format')!r})")
    if _digest(tensors) != metadata.get("sha256"):
        raise CheckpointError(f"{path}: SHA-256 of the tensors does not match (file modified or corrupted)")
    try:
        meta = json.loads(metadata["meta"])
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from e
    return tensors, meta


def optimizer_to_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Flatten ``opt.state_dict()`` into named tensors plus a JSON part (the param groups and
    any non-tensor state values)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            name = f"{prefix}.state.{idx}.{k}"
            if isinstance(v, torch.Tensor):
                tensors[name] = v
            else:
                scalars[name] = v
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_tensors(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], js: dict, prefix: str
) -> None:
    """Inverse of :func:`optimizer_to_tensors`: load the state into ``opt``."""
    state: dict[int, dict[str, Any]] = {}
    start = prefix + ".state."
    for name, v in tensors.items():
        if name.startswith(start):
            idx, k = name[len(start):].split(".", 1)
            state.setdefault(int(idx), {})[k] = v
    for name, v in js.get("scalars", {}).items():
        idx, k = name[len(start):].split(".", 1)
        state.setdefault(int(idx), {})[k] = v
    groups = []
    for g in js["param_groups"]:
        g = dict(g)
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    opt.load_state_dict({"state": state, "param_groups": groups})


def module_tensors(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` with keys prefixed ``prefix.``."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(module: nn.Module, tensors: dict[str, torch.Tensor], prefix: str, path: Any = "") -> None:
    """Load the ``prefix.``-tensors into ``module`` (strict); a clear error when they differ."""
    start = prefix + "."
    sd = {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)}
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights {prefix!r} do not fit this model: {e}") from e


def _describe(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={d[k]}" for k in d)


def check_model_config(stored: dict[str, Any], expected: dict[str, Any], path: Any = "") -> None:
    """``CheckpointError`` naming both architectures when a checkpoint's model fields differ."""
    keys = [k for k in expected if k in stored and stored[k] != expected[k]]
    if keys:
        raise CheckpointError(
            f"checkpoint {path} is for a different model: checkpoint has "
            f"{_describe({k: stored[k] for k in keys})}; expected {_describe({k: expected[k] for k in keys})} "
            f"(checkpoint model: {_describe(stored)})"
        )


def load_models(path: str | os.PathLike, expect: dict[str, Any] | None = None):
    """``(G, D, config, meta)`` from a training checkpoint (a file, or a run folder holding
    ``checkpoint.safetensors``), in eval mode on the CPU. ``expect``: model fields (see
    :meth:`symgan.config.TrainConfig.model_dict`) the checkpoint must match."""
    from .config import TrainConfig

    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.safetensors"
    tensors, meta = load_checkpoint(path)
    if "config" not in meta:
        raise CheckpointError(f"{path}: not a training checkpoint (no config in its metadata)")
    cfg = TrainConfig.from_dict(meta["config"])
    if expect is not None:
        check_model_config(cfg.model_dict(), expect, path)
    G, D = cfg.build_models()
    load_module(G, tensors, "G", path)
    load_module(D, tensors, "D", path)
    return G.eval(), D.eval(), cfg, meta
