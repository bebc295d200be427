"""The three scales every chapter and command runs at: ``smoke``, ``cpu`` and ``gpu``.

=======  =======  ===================================  ==========================================
scale    image    data (faces / rooms)                 used by
=======  =======  ===================================  ==========================================
smoke    17 px    tiny SynthFaces / SynthRooms         tests, CI: seconds a chapter
cpu      33 px    SynthFaces / SynthRooms              the default: minutes on 2 CPU cores
gpu      65 px    CelebA / LSUN bedrooms               paper scale: Colab or a workstation
=======  =======  ===================================  ==========================================

Every scale uses the paper's geometry (:mod:`symgan.geometry`: a 5x5 first map, 5x5 kernels,
stride 2, images of ``2^k + 1`` px); pass ``img_size=16/32/64`` (or ``geometry="dcgan"``) to
:meth:`~symgan.config.TrainConfig.from_scale` for DC-GAN's 4x4 geometry instead.

Choose one with :func:`resolve_scale`: an explicit value wins, then the ``SYMGAN_SCALE``
environment variable (so the tests can switch every notebook at once), then ``"cpu"``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

__all__ = ["SCALES", "Scale", "resolve_scale", "get_scale"]


@dataclass(frozen=True)
class Scale:
    """Defaults of one scale. A training run's budget is ``max_steps`` steps, so the same config
    and seed give the same weights on any CPU, however loaded; ``time_budget_s`` is only a guard
    against a stalled machine: a run that reaches it stops with a loud warning and records
    ``stop_reason="time budget"``. ``ema``: the decay of the generator's weight average used
    for sampling (:mod:`symgan.ema`). ``lr``: Adam's learning rate for both networks (DC-GAN's
    2e-4 except at the cpu scale, where 4e-4 reaches a lower FID in the same 10000 steps while
    the series still turn the head past 18 degrees; the README's learning-rate table has the
    measurements)."""

    name: str
    img_size: int
    geometry: str
    width: int
    batch_size: int
    max_steps: int
    time_budget_s: float | None
    face_data: str
    room_data: str
    n_train: int
    amp: bool
    ema: float
    lr: float = 2e-4

    def as_dict(self) -> dict:
        return asdict(self)

    def with_geometry(self, geometry: str | None) -> Scale:
        """This scale at another geometry: ``"dcgan"`` takes the power-of-two size just below
        (33 -> 32 px), ``"paper"`` the odd size just above (32 -> 33); ``None`` keeps it."""
        from .geometry import check_geometry, get_geometry

        if geometry is None or geometry == self.geometry:
            return self
        get_geometry(geometry)  # a clear error for an unknown name
        size = self.img_size - 1 if geometry == "dcgan" else self.img_size + 1
        check_geometry(size, geometry)
        return replace(self, img_size=size, geometry=geometry)


SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", 17, "paper", 8, 16, 40, 120.0, "synthfaces", "synthrooms", 512, False, 0.9),
    "cpu": Scale("cpu", 33, "paper", 32, 64, 10000, 7200.0, "synthfaces", "synthrooms", 10000, False,
                 0.999, lr=4e-4),
    "gpu": Scale("gpu", 65, "paper", 64, 128, 30000, None, "celeba", "lsun_bedroom", 202599, True,
                 0.9995),
}


def resolve_scale(scale: str | None = None) -> str:
    """The scale to run: ``scale`` if given, else ``$SYMGAN_SCALE``, else ``"cpu"``.

    Raises ``ValueError`` naming the valid scales for anything else (a typo in a notebook's
    ``parameters`` cell must not silently run the wrong experiment).
    """
    value = scale if scale not in (None, "") else os.environ.get("SYMGAN_SCALE") or "cpu"
    value = str(value).strip().lower()
    if value not in SCALES:
        raise ValueError(f"unknown scale {value!r}: expected one of {sorted(SCALES)}")
    return value


def get_scale(scale: str | None = None) -> Scale:
    """The :class:`Scale` for ``scale`` (resolved with :func:`resolve_scale`)."""
    return SCALES[resolve_scale(scale)]
