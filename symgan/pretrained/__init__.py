"""Trained weights that ship inside the package: the book's models at the ``cpu`` scale.

Every install (a wheel, ``pip install git+...`` in Colab, an editable checkout) carries them as
package data, so a reader sees trained models without training or downloading anything.
``manifest.json`` lists one entry per file: the method, data, scale and full config, the steps
and seconds it trained, the torch version, the file's SHA-256, the command that reproduces it
and the metrics measured on it. Each file is a symgan checkpoint (format v2, safetensors) with
the averaged generator (:mod:`symgan.ema`) as ``G.*`` and the discriminator as ``D.*``.

:func:`symgan.train.load_or_train` looks here first (:func:`find`, by the config's run key,
which includes :data:`symgan.config.MODEL_VERSION`), checks the SHA-256 and loads; it trains
only when asked to or when nothing matches. ``python -m symgan pretrain`` trains the shipped
runs with the project's trainer and rewrites this folder. Chapter: ``book/appendix_running``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "MANIFEST", "SHIPPED", "Shipped", "shipped_configs", "manifest", "find",
           "PretrainedError"]

FOLDER = Path(__file__).resolve().parent
MANIFEST = FOLDER / "manifest.json"


class PretrainedError(RuntimeError):
    """A shipped file that is missing, altered (SHA-256) or no longer loads into the models."""


@dataclass(frozen=True)
class Shipped:
    """One shipped run: ``method`` trained on ``data`` (``"faces"`` / ``"rooms"``: the scale's
    face / room dataset; anything else: a dataset name) with the scale's defaults and
    ``overrides`` (pairs of :class:`~symgan.config.TrainConfig` fields and values)."""

    method: str
    data: str
    chapters: str
    overrides: tuple[tuple[str, Any], ...] = ()


#: The runs that ship: the five face methods (chapters 3-6, 8, 9) and the room model (chapter 7).
SHIPPED: tuple[Shipped, ...] = (
    Shipped("zprime", "faces", "3, 5, 6, 8, 9"),
    Shipped("dcgan_soft", "faces", "6"),
    Shipped("dcgan_strong", "faces", "6"),
    Shipped("flip", "faces", "4, 6, 9"),
    Shipped("zprime", "rooms", "7"),
    Shipped("dcgan", "faces", "1, 5, 6"),
    Shipped("tile", "gravel", "10"),
)


def shipped_configs(scale: str = "cpu") -> dict[str, Any]:
    """``name -> TrainConfig`` of every shipped run at ``scale`` (the configs the book's chapters
    build with ``TrainConfig.from_scale``; ``name`` is ``<method>-<data>``)."""
    from ..config import TrainConfig
    from ..scales import get_scale

    s = get_scale(scale)
    out = {}
    for item in SHIPPED:
        data = {"faces": s.face_data, "rooms": s.room_data}.get(item.data, item.data)
        out[f"{item.method}-{item.data}"] = TrainConfig.from_scale(
            s, method=item.method, data=data, progress=False, **dict(item.overrides))
    return out


def manifest() -> dict[str, Any]:
    """The parsed ``manifest.json`` (``{"files": {}}`` when nothing ships)."""
    if not MANIFEST.is_file():
        return {"files": {}}
    return json.loads(MANIFEST.read_text())


def find(config: Any) -> tuple[Path, dict[str, Any]] | None:
    """``(path, manifest entry)`` of the shipped file for ``config`` (a
    :class:`~symgan.config.TrainConfig`, matched by its run key), or ``None``.
    :class:`PretrainedError` when the manifest lists it but the file is missing or its SHA-256
    differs from the manifest's (an altered file is never loaded)."""
    from ..data.fetch import file_digest

    key = config.key()
    for name, entry in manifest().get("files", {}).items():
        if entry.get("key") != key:
            continue
        path = FOLDER / name
        if not path.is_file():
            raise PretrainedError(f"the manifest lists {name} for this config but {path} is missing; "
                                  "reinstall symgan or run `python -m symgan pretrain`")
        digest = file_digest(path)
        if digest != entry.get("sha256"):
            raise PretrainedError(f"{path}: SHA-256 {digest} differs from the manifest's "
                                  f"{entry.get('sha256')}; the file was altered. Reinstall symgan or "
                                  "run `python -m symgan pretrain`")
        return path, entry
    return None
