"""Checkpoints that lose nothing, execute nothing and trust nothing they read.

One file per checkpoint, in the `safetensors <https://github.com/huggingface/safetensors>`_
format: every tensor (G and D weights and buffers, the optimisers' state, the torch RNG states)
is a named tensor, and everything else (the training config, the step, the optimisers'
hyper-parameters, numpy's and Python's RNG states) is JSON in the file's metadata. Loading
therefore never unpickles anything.

Integrity: the metadata holds a SHA-256 over the format name, the JSON metadata and every
tensor's name, dtype, shape and bytes, checked on load, so a truncated, corrupted or partly
edited file raises :class:`CheckpointError` instead of loading wrong weights or a wrong step.
The hash is not a signature: whoever can edit the file can recompute it, so a file from an
untrusted source is treated as hostile anyway. :func:`parse_meta` checks the metadata's size,
depth, structure, types and ranges; :func:`load_models` compares every stored tensor's shape
with what the stored config implies *before* building a model (a small file cannot make it
allocate a huge one); non-finite tensors are refused. Every such failure is a
:class:`CheckpointError`.

Writes go to a temporary file in the same folder, are fsync'ed and then ``os.replace``'d over
the target (atomic on POSIX and Windows); the previous checkpoint is kept as
``<name>.prev.safetensors``, so a crash at any moment leaves a checkpoint that loads.
"""

from __future__ import annotations

import hashlib
import json
import math
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
    "parse_meta",
    "checkpoint_kind",
    "optimizer_to_tensors",
    "optimizer_from_tensors",
    "load_models",
    "check_model_config",
    "check_shapes",
]

FORMAT = "symgan-checkpoint-v2"
#: Older formats, refused with a message saying why (v1's hash did not cover the metadata).
_OLD_FORMATS = {"symgan-checkpoint-v1": "its SHA-256 did not cover the metadata"}
#: Limits on the JSON metadata: ours is about 20 KB and 5 levels deep.
MAX_META_BYTES = 1 << 20
MAX_META_DEPTH = 12


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, truncated, tampered, malformed, or for other models."""


def _digest(tensors: dict[str, torch.Tensor], meta_json: str) -> str:
    h = hashlib.sha256()
    blob = meta_json.encode()
    # Length-prefixed, so no split of bytes between the metadata and the tensors collides.
    h.update(f"{FORMAT}|{len(blob)}|".encode())
    h.update(blob)
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def prev_path(path: str | os.PathLike) -> Path:
    """Where the previous checkpoint is kept: ``ckpt.safetensors -> ckpt.prev.safetensors``."""
    p = Path(path)
    return p.with_name(p.stem + ".prev" + p.suffix)


def _non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    return [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict[str, Any], keep_prev: bool = True
) -> Path:
    """Atomically write ``tensors`` (name -> tensor) and JSON-serialisable ``meta`` to ``path``.

    ``ValueError`` (nothing written) for NaN/Inf in a floating tensor or in ``meta``: such a
    checkpoint would be refused on load. An ``OSError`` (disk full, read-only folder) leaves the
    existing checkpoint and no temporary file behind.
    """
    path = Path(path)
    bad = _non_finite(tensors)
    if bad:
        raise ValueError(f"refusing to write {path}: non-finite values in {bad[:3]}")
    try:
        meta_json = json.dumps(meta, allow_nan=False, sort_keys=True)
    except ValueError as e:
        raise ValueError(f"refusing to write {path}: metadata holds NaN or Inf ({e})") from e
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "meta": meta_json, "sha256": _digest(tensors, meta_json)}
    blob = st_save(tensors, metadata=metadata)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".ckpt.tmp")
    link = tmp + ".prev"
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        if keep_prev and path.exists():
            # A hard link keeps `path` in place the whole time (then the new file replaces it).
            try:
                os.link(path, link)
                os.replace(link, prev_path(path))
            except OSError:
                pass  # file systems without hard links: the atomic replace below still holds
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        for leftover in (tmp, link):
            if os.path.lexists(leftover):
                os.unlink(leftover)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of a checkpoint written by :func:`save_checkpoint`.

    Raises :class:`CheckpointError` (with the path and the reason) for a missing, truncated,
    corrupted or edited file, one that is not a symgan checkpoint, metadata that
    :func:`parse_meta` refuses, or a floating tensor holding NaN or Inf.
    """
    path = Path(path)
    if not path.is_file():
        hint = f" (the previous checkpoint {prev_path(path)} exists)" if prev_path(path).is_file() else ""
        raise CheckpointError(f"no checkpoint at {path}{hint}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
    except Exception as e:  # safetensors raises its own error type for bad headers / sizes
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupted?): {e}"
        ) from e
    fmt = metadata.get("format")
    if fmt in _OLD_FORMATS:
        raise CheckpointError(f"{path} is a {fmt} file, which this version no longer reads "
                              f"({_OLD_FORMATS[fmt]}); train it again")
    if fmt != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} file (format={str(fmt)[:80]!r})")
    raw = metadata.get("meta")
    if not isinstance(raw, str) or len(raw) > MAX_META_BYTES:
        size = len(raw) if isinstance(raw, str) else "no"
        raise CheckpointError(f"{path}: metadata must be a JSON string of at most {MAX_META_BYTES} bytes, "
                              f"got {size} bytes")
    if _digest(tensors, raw) != metadata.get("sha256"):
        raise CheckpointError(f"{path}: SHA-256 of the metadata and tensors does not match "
                              "(file modified or corrupted)")
    bad = _non_finite(tensors)
    if bad:
        raise CheckpointError(f"{path}: non-finite values (NaN or Inf) in {bad[:3]}")
    return tensors, parse_meta(raw, path)


# -- metadata ------------------------------------------------------------------------------------
def _fail(path: Any, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: malformed checkpoint metadata: {what}")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in checkpoint metadata")


def _depth(obj: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_META_DEPTH:
            break
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o)
    return deepest


def _is_int(v: Any, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _is_num(v: Any, lo: float = -math.inf, hi: float = math.inf) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, bool | str) or _is_num(v)


def _check_optimizer(js: Any, name: str, path: Any) -> None:
    if not isinstance(js, dict) or not isinstance(js.get("param_groups"), list) or not js["param_groups"]:
        raise _fail(path, f"{name} must be an object with a non-empty list 'param_groups'")
    for g in js["param_groups"]:
        if not isinstance(g, dict):
            raise _fail(path, f"{name}.param_groups entries must be objects")
        params = g.get("params")
        if not isinstance(params, list) or not all(_is_int(i, 0, 1 << 20) for i in params):
            raise _fail(path, f"{name}.param_groups[].params must be a list of parameter indices")
        if not _is_num(g.get("lr"), 0.0) or g["lr"] <= 0:
            raise _fail(path, f"{name} lr must be a finite number > 0, got {g.get('lr')!r}")
        betas = g.get("betas", [0.0, 0.0])
        if not (isinstance(betas, list) and len(betas) == 2 and all(_is_num(b, 0.0, 1.0) for b in betas)):
            raise _fail(path, f"{name} betas must be two numbers in [0, 1], got {betas!r}")
        for k, v in g.items():
            if k not in ("params", "betas") and not _scalar(v):
                raise _fail(path, f"{name}.param_groups[].{k} must be a number, string, bool or null")
    scalars = js.get("scalars", {})
    if not isinstance(scalars, dict) or not all(
        isinstance(k, str) and k.startswith(f"{name}.state.") and _scalar(v) for k, v in scalars.items()
    ):
        raise _fail(path, f"{name}.scalars must map '{name}.state.<i>.<name>' to numbers")


def _check_rng(js: Any, path: Any) -> None:
    if not isinstance(js, dict):
        raise _fail(path, "rng must be an object")
    if "numpy" in js:
        v = js["numpy"]
        ok = (isinstance(v, list) and len(v) == 5 and v[0] == "MT19937" and isinstance(v[1], list)
              and len(v[1]) == 624 and all(_is_int(k, 0, 2**32 - 1) for k in v[1])
              and _is_int(v[2], 0, 624) and _is_int(v[3], 0, 1) and _is_num(v[4]))
        if not ok:
            raise _fail(path, "rng.numpy must be ['MT19937', 624 words, position, has_gauss, cached]")
    if "python" in js:
        v = js["python"]
        ok = (isinstance(v, list) and len(v) == 3 and _is_int(v[0], 0, 16) and isinstance(v[1], list)
              and len(v[1]) == 625 and all(_is_int(k, 0, 2**32 - 1) for k in v[1][:624])
              and _is_int(v[1][624], 0, 624) and (v[2] is None or _is_num(v[2])))
        if not ok:
            raise _fail(path, "rng.python must be [version, 625 words, gauss or null]")


def checkpoint_kind(meta: dict[str, Any]) -> str:
    """``"training"`` (a run's checkpoint: models, optimisers, RNG states), ``"weights"`` (a
    run's models only, ``weights_only: true``: the shipped files of :mod:`symgan.pretrained`;
    ``snapshot: true``: the averaged generator a run keeps every ``snapshot_every`` steps), ``"fit_and_tune"`` (a FitAndTune result: one image's tuned
    generator and latent) or ``"plain"`` (anything else :func:`save_checkpoint` wrote)."""
    if "fit_and_tune" in meta:
        return "fit_and_tune"
    if "config" in meta and (meta.get("weights_only") is True or meta.get("snapshot") is True):
        return "weights"
    if "config" in meta:
        return "training"
    return "plain"


def parse_meta(raw: str, path: Any = "") -> dict[str, Any]:
    """The checkpoint metadata ``raw`` (a JSON string) as a dict, checked for size (at most
    ``MAX_META_BYTES``), depth (``MAX_META_DEPTH``), NaN/Inf (refused), and, by
    :func:`checkpoint_kind`, the structure, types and ranges of every field the package reads
    (the config is checked by :class:`~symgan.config.TrainConfig` itself). Raises only
    :class:`CheckpointError`."""
    if not isinstance(raw, str) or len(raw) > MAX_META_BYTES:
        raise _fail(path, f"expected a JSON string of at most {MAX_META_BYTES} bytes")
    try:
        meta = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise _fail(path, f"not valid JSON ({str(e)[:200]})") from None
    if _depth(meta) > MAX_META_DEPTH:
        raise _fail(path, f"nested deeper than {MAX_META_DEPTH} levels")
    if not isinstance(meta, dict):
        raise _fail(path, f"expected a JSON object, got {type(meta).__name__}")
    kind = checkpoint_kind(meta)
    if kind == "plain":
        return meta
    if not isinstance(meta.get("config"), dict):
        raise _fail(path, "config must be an object")
    config_from_meta(meta, path)
    if not _is_int(meta.get("step"), 0, 10**12):
        raise _fail(path, f"step must be an integer in [0, 10**12], got {meta.get('step')!r}")
    if kind == "fit_and_tune":
        ft = meta["fit_and_tune"]
        if not isinstance(ft, dict) or not all(isinstance(k, str) and _is_num(v) for k, v in ft.items()):
            raise _fail(path, "fit_and_tune must map metric names to finite numbers")
        return meta
    if not _is_num(meta.get("elapsed_s"), 0.0):
        raise _fail(path, f"elapsed_s must be a finite number >= 0, got {meta.get('elapsed_s')!r}")
    for k in ("stop_reason", "key", "torch"):
        if k in meta and not (isinstance(meta[k], str) and len(meta[k]) <= 200):
            raise _fail(path, f"{k} must be a string of at most 200 characters")
    if kind == "weights":
        return meta
    if not isinstance(meta.get("finished"), bool):
        raise _fail(path, f"finished must be true or false, got {meta.get('finished')!r}")
    if not _is_int(meta.get("world_size", 1), 1, 1 << 16):
        raise _fail(path, f"world_size must be an integer in [1, 65536], got {meta.get('world_size')!r}")
    _check_optimizer(meta.get("optG"), "optG", path)
    _check_optimizer(meta.get("optD"), "optD", path)
    _check_rng(meta.get("rng"), path)
    return meta


def config_from_meta(meta: dict[str, Any], path: Any = ""):  # -> TrainConfig
    """The :class:`~symgan.config.TrainConfig` stored in ``meta``, validated by the config
    itself; its ``device`` is set to ``"auto"`` (a run trained on a GPU loads on a machine
    without one). :class:`CheckpointError` for any invalid field."""
    from .config import TrainConfig

    try:
        return TrainConfig.from_dict({**meta["config"], "device": "auto"})
    except (TypeError, ValueError, KeyError) as e:
        raise _fail(path, f"invalid config: {e}") from None


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
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], js: dict, prefix: str, path: Any = ""
) -> None:
    """Inverse of :func:`optimizer_to_tensors`: load the state into ``opt``. A state tensor for
    a parameter the optimiser does not have, or of another shape than its parameter (Adam's
    moments), is a :class:`CheckpointError`, not a failure at the next step."""
    params = [p for g in opt.param_groups for p in g["params"]]
    state: dict[int, dict[str, Any]] = {}
    start = prefix + ".state."
    items = [(n, v) for n, v in tensors.items() if n.startswith(start)] + list(js.get("scalars", {}).items())
    for name, v in items:
        idx_s, _, k = name[len(start):].partition(".")
        if not idx_s.isdigit() or not k or int(idx_s) >= len(params):
            raise CheckpointError(f"{path}: optimiser state {name!r} names no parameter of this model "
                                  f"(it has {len(params)})")
        idx = int(idx_s)
        if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape != params[idx].shape:
            raise CheckpointError(f"{path}: optimiser state {name!r} has shape {tuple(v.shape)}, "
                                  f"its parameter {tuple(params[idx].shape)}")
        state.setdefault(idx, {})[k] = v
    groups = []
    for g in js["param_groups"]:
        g = dict(g)
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{path}: optimiser state {prefix!r} does not fit this model: {e}") from e


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
    """``CheckpointError`` naming both values when a checkpoint's fields differ from ``expected``
    (a field ``expected`` names but ``stored`` lacks counts as different)."""
    missing = object()
    keys = [k for k in expected if stored.get(k, missing) != expected[k]]
    if keys:
        raise CheckpointError(
            f"checkpoint {path} is for a different model: checkpoint has "
            f"{_describe({k: stored.get(k) for k in keys})}; expected "
            f"{_describe({k: expected[k] for k in keys})} (checkpoint model: {_describe(stored)})"
        )


def expected_shapes(cfg: Any) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """``name -> (shape, dtype)`` of every ``G.``/``D.`` tensor that the models of ``cfg`` (a
    :class:`~symgan.config.TrainConfig`) hold, computed on the ``meta`` device: no memory is
    allocated for the weights, whatever the width."""
    with torch.device("meta"):
        G, D = cfg.build_models()
    out = {}
    for prefix, m in (("G", G), ("D", D)):
        for k, v in m.state_dict().items():
            out[f"{prefix}.{k}"] = (tuple(v.shape), v.dtype)
    return out


def check_shapes(cfg: Any, tensors: dict[str, torch.Tensor], path: Any = "") -> None:
    """:class:`CheckpointError` listing the differences when the stored ``G.``/``D.`` tensors
    are not exactly those the config's models hold (missing, extra, shape or dtype)."""
    want = expected_shapes(cfg)
    have = {k: (tuple(v.shape), v.dtype) for k, v in tensors.items() if k.startswith(("G.", "D."))}
    problems = [f"missing {k}" for k in want if k not in have]
    problems += [f"unexpected {k}" for k in have if k not in want]
    problems += [f"{k}: stored {have[k][0]} {have[k][1]}, config implies {want[k][0]} {want[k][1]}"
                 for k in want if k in have and have[k] != want[k]]
    if problems:
        raise CheckpointError(f"{path}: the stored weights do not match the stored config "
                              f"({len(problems)} difference(s): {'; '.join(problems[:4])})")


def load_models(path: str | os.PathLike, expect: dict[str, Any] | None = None, kind: str | None = None):
    """``(G, D, config, meta)`` from a checkpoint (a file, or a run folder holding
    ``checkpoint.safetensors``), in eval mode on the CPU. ``G`` is the averaged generator
    (``E.*``, :mod:`symgan.ema`) when the checkpoint holds one.

    ``expect``: fields of the config (e.g. :meth:`symgan.config.TrainConfig.model_dict`, plus
    ``method``, ``alpha``...) the checkpoint must match. ``kind``: ``"training"`` refuses a
    FitAndTune result (one image's tuned generator) and accepts a run's checkpoint or its
    weights-only export, ``None`` accepts all three. Every stored
    tensor's shape is checked against the config before any model is built.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.safetensors"
    tensors, meta = load_checkpoint(path)
    found = checkpoint_kind(meta)
    if found == "plain":
        raise CheckpointError(f"{path}: not a training checkpoint (no config in its metadata)")
    if kind == "training" and found not in ("training", "weights"):
        raise CheckpointError(f"{path} is a FitAndTune result (a generator tuned to one image), "
                              "not a training checkpoint")
    cfg = config_from_meta(meta, path)
    if expect is not None:
        stored = {**cfg.model_dict(), **{k: getattr(cfg, k, None) for k in expect}}
        check_model_config(stored, expect, path)
    check_shapes(cfg, tensors, path)
    G, D = cfg.build_models()
    # a training checkpoint's averaged generator (E.*) is the one to draw with
    load_module(G, tensors, "E" if any(k.startswith("E.") for k in tensors) else "G", path)
    load_module(D, tensors, "D", path)
    return G.eval(), D.eval(), cfg, meta
