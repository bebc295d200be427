"""Trained weights that ship inside the package: the book's models at the ``cpu`` scale.

Every install (a wheel, ``pip install git+...`` in Colab, an editable checkout) carries them as
package data, so a reader sees trained models without training or downloading anything.
``manifest.json`` lists one entry per file: the method, data, scale and full config, the steps
and seconds it trained, the torch version, the file's SHA-256, the command that reproduces it
and the metrics measured on it. Each file is a symgan checkpoint (format v2, safetensors) with
the averaged generator (:mod:`symgan.ema`) as ``G.*`` and the discriminator as ``D.*``.

:func:`symgan.runs.load_or_train` looks here first (:func:`find`, by the config's run key,
which includes :data:`symgan.config.MODEL_VERSION`), checks the SHA-256 and loads; it trains
only when asked to or when nothing matches. ``python -m symgan pretrain`` trains the shipped
runs with the project's trainer and rewrites this folder. Chapter: ``book/appendix_running``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "MANIFEST", "SHIPPED", "SHIPPED_YAW", "SHIPPED_YAW_CHAPTERS", "RETRAIN", "Shipped",
           "shipped_configs", "manifest", "find", "find_file", "load", "PretrainedError"]

FOLDER = Path(__file__).resolve().parent
MANIFEST = FOLDER / "manifest.json"


class PretrainedError(RuntimeError):
    """A shipped file that is missing, altered (SHA-256) or no longer loads into the models."""


@dataclass(frozen=True)
class Shipped:
    """One shipped run: ``method`` trained on ``data`` (``"faces"`` / ``"rooms"``: the scale's
    face / room dataset; anything else: a dataset name) with the scale's defaults and
    ``overrides`` (pairs of :class:`~symgan.config.TrainConfig` fields and values). ``scale``
    pins the run to one scale's sizes whatever scale is asked for (the small runs a chapter
    trains at every scale); ``tag`` tells apart runs of one method and data."""

    method: str
    data: str
    chapters: str
    overrides: tuple[tuple[str, Any], ...] = ()
    scale: str | None = None
    tag: str = ""

    @property
    def name(self) -> str:
        """``<method>-<data>[-<tag>]``: the run's name in the manifest and for ``--only``."""
        return f"{self.method}-{self.data}" + (f"-{self.tag}" if self.tag else "")


#: Chapter 6's exercise: the strong baseline with a mean and a summed symmetry loss next to
#: DC-GAN, 1000 steps each at the ``smoke`` size whatever the book's scale.
_EXERCISE = (("max_steps", 1000), ("time_budget_s", None))

#: The runs that ship: the five face methods (chapters 1, 3-6, 8, 9), the room model (chapter 7),
#: the texture generator with its zero-padded control (chapter 10), and the three small runs of
#: chapter 6's exercise.
SHIPPED: tuple[Shipped, ...] = (
    Shipped("zprime", "faces", "3, 5, 6, 8, 9"),
    Shipped("dcgan_soft", "faces", "6"),
    Shipped("dcgan_strong", "faces", "6"),
    Shipped("flip", "faces", "4, 6, 9"),
    Shipped("zprime", "rooms", "7"),
    Shipped("dcgan", "faces", "1, 5, 6"),
    Shipped("tile", "gravel", "10"),
    Shipped("tile_plain", "gravel", "10"),
    Shipped("dcgan", "faces", "6 (exercise)", _EXERCISE, "smoke", "smoke"),
    Shipped("dcgan_strong", "faces", "6 (exercise)", _EXERCISE, "smoke", "smoke"),
    Shipped("dcgan_strong", "faces", "6 (exercise)", _EXERCISE + (("sym_reduction", "sum"),),
            "smoke", "smoke-sum"),
)


def shipped_configs(scale: str = "cpu") -> dict[str, Any]:
    """``name -> TrainConfig`` of every shipped run at ``scale`` (the configs the book's chapters
    build with ``TrainConfig.from_scale``; ``name`` is :attr:`Shipped.name`)."""
    from ..config import TrainConfig
    from ..scales import get_scale

    out = {}
    for item in SHIPPED:
        s = get_scale(item.scale or scale)
        data = {"faces": s.face_data, "rooms": s.room_data}.get(item.data, item.data)
        out[item.name] = TrainConfig.from_scale(
            s, method=item.method, data=data, progress=False, **dict(item.overrides))
    return out


#: The yaw regressors that ship (the instrument that measures head turns, at the cpu and the
#: smoke scale's image sizes): :func:`symgan.studies.yaw.load_yaw_regressor` arguments, under
#: the name ``yaw-<size>px``. Both train with the same defaults (5000 faces, 20 epochs).
SHIPPED_YAW: dict[str, dict[str, int]] = {"yaw-33px": {"img_size": 33, "channels": 3},
                                          "yaw-17px": {"img_size": 17, "channels": 3}}

#: The chapters that measure head turns with each shipped yaw regressor (the manifest's
#: ``chapters``, shown in the appendix's table of shipped weights).
SHIPPED_YAW_CHAPTERS: dict[str, str] = {"yaw-33px": "6, 8", "yaw-17px": "6, 8 (smoke scale)"}


def manifest() -> dict[str, Any]:
    """The parsed ``manifest.json``, its ``files`` as a dict from file name to entry
    (``{"files": {}}`` when nothing ships). On disk ``files`` is a list of entries, each naming
    its ``file``."""
    if not MANIFEST.is_file():
        return {"files": {}}
    man = json.loads(MANIFEST.read_text())
    files = man.get("files", [])
    if isinstance(files, list):
        man["files"] = {e["file"]: {k: v for k, v in e.items() if k != "file"} for e in files}
    return man


def find_file(fname: str) -> tuple[Path, dict[str, Any]] | None:
    """``(path, manifest entry)`` of the shipped file called ``fname``, or ``None`` when the
    manifest does not list it; :class:`PretrainedError` when it is missing or altered."""
    from ..data.fetch import file_digest

    entry = manifest().get("files", {}).get(fname)
    if entry is None:
        return None
    path = FOLDER / fname
    if not path.is_file():
        raise PretrainedError(f"the manifest lists {fname} but {path} is missing; "
                              f"reinstall symgan or retrain with `{RETRAIN}`")
    digest = file_digest(path)
    if digest != entry.get("sha256"):
        raise PretrainedError(f"{path}: SHA-256 {digest} differs from the manifest's "
                              f"{entry.get('sha256')}; the file was altered. Reinstall symgan or "
                              f"retrain with `{RETRAIN}`")
    return path, entry


def find(config: Any) -> tuple[Path, dict[str, Any]] | None:
    """``(path, manifest entry)`` of the shipped file for ``config`` (a
    :class:`~symgan.config.TrainConfig`, matched by its run key), or ``None``.
    :class:`PretrainedError` when the manifest lists it but the file is missing or its SHA-256
    differs from the manifest's (an altered file is never loaded)."""
    key = config.key()
    for name, entry in manifest().get("files", {}).items():
        if entry.get("key") == key:
            return find_file(name)
    return None


RETRAIN = "python -m symgan pretrain --scale cpu --jobs 2"


def load(name: str, scale: str = "cpu"):
    """``(G, D, config, entry)`` of the shipped run ``name`` (e.g. ``"zprime-faces"``): the
    averaged generator and the discriminator, eval mode, CPU. :class:`PretrainedError`, saying
    how to retrain, when the file is missing, altered, or no longer fits the models (the model
    code changed since it was trained)."""
    from ..checkpoint import CheckpointError, load_models

    configs = shipped_configs(scale)
    if name not in configs:
        raise ValueError(f"unknown shipped run {name!r}: expected one of {list(configs)}")
    cfg = configs[name]
    hit = find(cfg)
    if hit is None:
        listed = [e.get("name") for e in manifest().get("files", {}).values()]
        stale = " (the manifest has an entry of that name for another config: the config or "\
                "MODEL_VERSION changed since)" if name in listed else ""
        raise PretrainedError(f"no shipped weights for {name} at scale {scale!r}{stale}; "
                              f"retrain them with `{RETRAIN}`")
    try:
        G, D, stored, _ = load_models(hit[0], expect=cfg.model_dict(), kind="training")
    except CheckpointError as e:
        raise PretrainedError(f"the shipped weights of {name} no longer load into the models (the "
                              f"model code changed since they were trained): {e}. Retrain them with "
                              f"`{RETRAIN}`") from e
    return G, D, stored, hit[1]
