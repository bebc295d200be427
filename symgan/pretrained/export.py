"""Export finished training runs into :mod:`symgan.pretrained` and measure them for the manifest.

Used by ``python -m symgan pretrain``; nothing here trains.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from .. import pretrained as pkg

__all__ = ["export_runs", "export_yaw", "exactness", "quality_curve", "LOG_EVERY", "CURVE_RUNS"]

#: The manifest keeps every ``LOG_EVERY``-th row of a run's log (the loss curves of the book).
LOG_EVERY = 50
#: Runs whose snapshots are measured for the quality-against-steps curve of the results page.
CURVE_RUNS = ("zprime-faces",)


@torch.no_grad()
def exactness(G: torch.nn.Module, D: torch.nn.Module, n: int = 64, seed: int = 0) -> dict[str, float]:
    """The exactness of a model pair on ``n`` fixed latents (eval mode), in float32 and float64.
    Mirror-structured generators: ``G_mirror`` = ``max |G(zN) - M G(z)|`` and ``G_symmetric``
    = ``max |G(z_sym) - M G(z_sym)|`` (:func:`symgan.generators.mirror_errors`), and
    ``D_mirror`` = ``max |D(M x) - D(x)|`` on those images; texture generators (no mirror
    latent): ``G_tiling`` and ``G_shift`` (:func:`symgan.tiles.tiling_error`,
    :func:`symgan.tiles.shift_error`) on 16 of them. The tests recompute them from the shipped
    file."""
    import copy

    from ..generators import mirror_errors
    from ..metrics import fixed_latents
    from ..symmetry import mirror

    z = fixed_latents(n, G.z_dim, seed)
    out = {}
    if not hasattr(G, "mirror_latent"):  # a texture generator: its structure is the torus
        from ..tiles import shift_error, tiling_error

        for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
            g = copy.deepcopy(G).to(dtype).eval()
            out[f"G_tiling_{name}"] = tiling_error(g, z[:16].to(dtype))
            out[f"G_shift_{name}"] = shift_error(g, z[:16].to(dtype))
        return out
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        g = copy.deepcopy(G).to(dtype).eval()
        e = mirror_errors(g, z.to(dtype))
        out[f"G_mirror_{name}"], out[f"G_symmetric_{name}"] = e["mirror"], e["symmetric"]
    x = G.eval()(z)
    out["D_mirror_float32"] = (D.eval()(mirror(x)) - D(x)).abs().max().item()
    return out


def _load_snapshot(path: Path) -> tuple[torch.nn.Module, int]:
    """The averaged generator a run saved at one step (eval mode) and that step."""
    from ..checkpoint import config_from_meta, load_checkpoint, load_module

    tensors, meta = load_checkpoint(path)
    G, _ = config_from_meta(meta, path).build_models()
    load_module(G, tensors, "G", path)
    return G.eval(), int(meta["step"])


@torch.no_grad()
def quality_curve(cfg: Any, n: int, n_z: int = 512, every: int = 1000,
                  folder: Path | None = None) -> list[dict[str, float]]:
    """FID at ``n`` (against ``n`` training images) and the yaw of the series (``n_z`` fixed
    latents, :func:`symgan.metrics.yaw_along_series`) of the snapshots of the run of ``cfg``
    (``snapshots/step_*.safetensors`` in ``folder``, default :func:`symgan.runs.run_folder`,
    written every ``snapshot_every`` steps) at every ``every``-th step: how quality grows with
    training steps. Each row: ``step``, ``n``, ``fid``, ``kid``, ``yaw_swing`` with its standard
    error ``yaw_swing_se``, ``yaw_spearman_abs`` and ``n_yaw`` (= ``n_z``)."""
    from ..data import load_training_images
    from ..fid import fid_kid_from_features, inception_features, inception_network
    from ..metrics import fixed_latents, yaw_along_series
    from ..runs import run_folder

    snaps = [p for p in sorted(((folder or run_folder(cfg)) / "snapshots").glob("step_*.safetensors"))
             if int(p.stem.split("_")[1]) % every == 0]
    if not snaps:
        return []
    net = inception_network()
    real = inception_features(load_training_images(cfg)[:n], net)
    z, zy = fixed_latents(n, cfg.z_dim, 1), fixed_latents(n_z, cfg.z_dim, 0)
    rows = []
    for p in snaps:
        G, step = _load_snapshot(p)
        fake = torch.cat([G(zb) for zb in z.split(256)])
        q = fid_kid_from_features(real, inception_features(fake, net))
        y = yaw_along_series(G, zy)
        rows.append({"step": step, "n": n, "fid": q["fid"], "kid": q["kid"], "yaw_swing": y["swing"],
                     "yaw_swing_se": y["swing_se"], "yaw_spearman_abs": y["spearman_abs"], "n_yaw": n_z})
        print(f"pretrain: curve {cfg.method} step {step}: FID {q['fid']:.1f}, yaw swing {y['swing']:.1f}",
              flush=True)
    return rows


def _merge(entries: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The manifest as it is on disk now, with the entries of ``names`` replaced by ``entries``:
    another export that finished meanwhile keeps its entries."""
    man = pkg.manifest()
    files = {f: e for f, e in man.get("files", {}).items() if e.get("name") not in names}
    man["files"] = {**files, **entries}
    return man


def _write_json(path: Path, obj: Any) -> None:
    """Write the manifest ``obj`` atomically, its ``files`` as a list of entries naming their file."""
    files = obj.get("files", {})
    obj = {**obj, "files": [{"file": f, **e} for f, e in sorted(files.items())]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _quality(runs: dict[str, Any], n: int) -> dict[str, Any]:
    """FID/KID of each run at ``n`` against its own training set (:func:`symgan.fid.sample_quality`);
    runs whose training set has fewer than ``2 n`` images are not scored."""
    from ..data import load_training_images
    from ..fid import sample_quality

    out: dict[str, Any] = {}
    by_data: dict[tuple, list[str]] = {}
    for name, r in runs.items():
        c = r.config
        by_data.setdefault((c.data, c.img_size, c.channels, c.n_train, c.data_seed), []).append(name)
    for names in by_data.values():
        data = load_training_images(runs[names[0]].config)
        if len(data) < 2 * n:
            print(f"pretrain: no FID at N={n} for {', '.join(names)}: {len(data)} training images", flush=True)
            continue
        q = sample_quality({k: runs[k] for k in names}, data[: 2 * n], n)
        for k in names:
            if k in q:
                out[k] = {**q[k], "floor_fid": q["real (other training images)"]["fid"], "n": n}
    return out


def export_runs(configs: dict[str, Any], scale: str, fid_n: int = 512, command: str = "") -> dict[str, Any]:
    """Copy the averaged generator and the discriminator of each finished run of ``configs``
    (``name -> TrainConfig``, as :func:`symgan.pretrained.shipped_configs`) into
    ``symgan/pretrained/<run name>.safetensors`` and rewrite its ``manifest.json`` entry; entries
    of other runs are kept, a previous file of the same shipped name is removed. Returns the
    manifest."""
    from ..checkpoint import load_models, module_tensors, save_checkpoint
    from ..data.fetch import file_digest
    from ..runs import load_or_train, read_log, run_folder

    chapters = {s.name: s.chapters for s in pkg.SHIPPED}
    runs = {}
    for name, cfg in configs.items():
        runs[name] = load_or_train(cfg, pretrained=False, train_if_missing=False)
        if runs[name].info.get("step") != cfg.max_steps:
            raise RuntimeError(f"{name}: the run stopped at step {runs[name].info.get('step')} of "
                               f"{cfg.max_steps} ({runs[name].info.get('stop_reason')}); not exported")
    quality = _quality(runs, fid_n) if fid_n else {}
    man = pkg.manifest()
    files = man.setdefault("files", {})
    for name, cfg in configs.items():
        run = run_folder(cfg)
        G, D, _, meta = load_models(run, kind="training")
        fname = f"{cfg.run_name()}.safetensors"
        for old in [f for f, e in files.items() if e.get("name") == name and f != fname]:
            (pkg.FOLDER / old).unlink(missing_ok=True)
            del files[old]
        out_meta = {"config": cfg.to_dict(), "key": cfg.key(), "step": meta["step"],
                    "elapsed_s": meta["elapsed_s"], "stop_reason": meta.get("stop_reason", ""),
                    "torch": meta.get("torch", torch.__version__), "pretrained": name,
                    "weights_only": True}
        path = pkg.FOLDER / fname
        save_checkpoint(path, {**module_tensors(G, "G"), **module_tensors(D, "D")}, out_meta)
        log = [r for r in read_log(run) if int(r["step"]) % LOG_EVERY == 0]
        files[fname] = {
            "name": name, "method": cfg.method, "data": cfg.data, "scale": scale,
            "chapters": chapters.get(name, ""), "key": cfg.key(), "config": cfg.to_dict(),
            "steps": meta["step"], "training_seconds": round(float(meta["elapsed_s"]), 1),
            "stop_reason": meta.get("stop_reason", ""), "torch": out_meta["torch"],
            "sha256": file_digest(path), "bytes": path.stat().st_size,
            "command": f"python -m symgan pretrain --scale {scale} --only {name}",
            "metrics": {"exactness": exactness(G, D), **({"quality": quality[name]} if name in quality else {})},
            "curve": quality_curve(cfg, fid_n) if fid_n and name in CURVE_RUNS else [],
            "log": log,
        }
        print(f"pretrain: exported {name} -> {path.name} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    mine = {f: e for f, e in files.items() if e.get("name") in configs}
    man = _merge(mine, set(configs))
    man.update(format=1, exported=time.strftime("%Y-%m-%d"), machine=platform.machine(),
               command=command or f"python -m symgan pretrain --scale {scale}")
    _write_json(pkg.MANIFEST, man)
    return man


def export_yaw(names: list[str], scale: str = "cpu") -> dict[str, Any]:
    """Copy the yaw regressors of ``names`` (keys of :data:`symgan.pretrained.SHIPPED_YAW`; each
    trained and cached in the data directory by :func:`symgan.studies.yaw.load_yaw_regressor`) into
    ``symgan/pretrained`` with a manifest entry: parameters, SHA-256, command, held-out error."""
    import inspect
    import shutil

    from ..data.fetch import file_digest
    from ..studies.yaw import (
        _params,
        _weights_name,
        _weights_path,
        evaluate_yaw_regressor,
        load_yaw_regressor,
    )

    man = pkg.manifest()
    files = man.setdefault("files", {})
    for name in names:
        kw = pkg.SHIPPED_YAW[name]
        model = load_yaw_regressor(**kw)
        defaults = {k: v.default for k, v in inspect.signature(load_yaw_regressor).parameters.items()}
        args = {**defaults, **kw}
        params = _params(*(args[k] for k in ("img_size", "channels", "n_train", "seed", "epochs",
                                             "batch_size", "lr")))
        fname = _weights_name(params)
        for old in [f for f, e in files.items() if e.get("name") == name and f != fname]:
            (pkg.FOLDER / old).unlink(missing_ok=True)
            del files[old]
        src, path = _weights_path(params), pkg.FOLDER / fname
        if src.is_file():
            shutil.copyfile(src, path)
        elif not path.is_file():
            raise FileNotFoundError(f"{name}: no trained regressor at {src}")
        files[fname] = {"name": name, "kind": "yaw regressor", "scale": scale, "params": params,
                        "chapters": pkg.SHIPPED_YAW_CHAPTERS[name],
                        "sha256": file_digest(path), "bytes": path.stat().st_size, "torch": torch.__version__,
                        "command": f"python -m symgan pretrain --scale {scale} --only {name}",
                        "metrics": {"held_out": evaluate_yaw_regressor(model, n=1000)}}
        print(f"pretrain: exported {name} -> {fname}", flush=True)
    man = _merge({f: e for f, e in files.items() if e.get("name") in names}, set(names))
    _write_json(pkg.MANIFEST, man)
    return man
