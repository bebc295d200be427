"""Training configuration: the five methods of paper 4.1 and one dataclass for a training run.

The five methods (paper 4.1, Fig. 9) and what each one means here:

==============  ==========  =============  ==========  =====  ====================================
method          generator   discriminator  encoding    alpha  why
==============  ==========  =============  ==========  =====  ====================================
``dcgan``       plain       plain          zprime      0      the control: no symmetry anywhere
``dcgan_soft``  plain       plain          zprime      40     loss baseline (paper 2.2), soft
``dcgan_strong`` plain      plain          zprime      100    loss baseline (paper 2.2), strong
``zprime``      z'          symmetric      zprime      0      paper 2.1.1 + 2.1.3
``flip``        flip        symmetric      flip        0      paper 2.1.2 + 2.1.3
==============  ==========  =============  ==========  =====  ====================================

Two more methods train texture generators (:mod:`symgan.tiles`, our reconstruction of the paper's
tiling application; ``book/10_tileable_textures``): ``tile`` (a fully convolutional generator with
circular padding: periodic, seamlessly tileable patches) and ``tile_plain`` (the same generator
with zero padding, the control), both with the plain discriminator and ``alpha = 0``. Their
configs use DC-GAN's geometry (16 / 32 / 64 px: a 4x4 latent map doubled ``L`` times), a flat
latent of ``z_dim = 128`` (8 channels on 4x4 cells) and one-channel patches of the ``gravel``
photograph unless told otherwise (:data:`TILE_DEFAULTS`, :meth:`TrainConfig.from_scale`).

Discriminator choice: the paper presents the symmetric discriminator (2.1.3) as part of *its*
framework and describes the baselines as "DC-GAN with a symmetric loss term", so the three
DC-GAN rows keep DC-GAN's plain discriminator and only the two Symmetric-GAN rows use the
symmetric one. ``TrainConfig(symmetric_d=...)`` overrides it for ablations.

The symmetry loss (paper 2.2) is ``alpha * mean_{n,c,h,w} (G(z) - M(G(zN)))^2``: the squared
norm is reduced by the **mean** over batch and pixels (a per-pixel MSE), so alpha does not
depend on the image size; ``sym_reduction="sum"`` sums over pixels (mean over the batch)
instead. See :mod:`symgan.losses` and ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from .checks import check_bool, check_choice, check_float, check_int
from .geometry import check_geometry
from .scales import Scale, get_scale

__all__ = ["Method", "METHODS", "METHOD_NAMES", "MODEL_VERSION", "TILE_DEFAULTS", "TILE_METHOD_NAMES",
           "TrainConfig", "get_method"]


@dataclass(frozen=True)
class Method:
    """One of the paper's five methods: generator ``arch``, discriminator symmetry, latent
    ``encoding`` of symmetry and the weight ``alpha`` of the symmetry loss."""

    name: str
    arch: str
    symmetric_d: bool
    encoding: str
    alpha: float
    label: str


METHODS: dict[str, Method] = {
    "dcgan": Method("dcgan", "dcgan", False, "zprime", 0.0, "DC-GAN"),
    "dcgan_soft": Method("dcgan_soft", "dcgan", False, "zprime", 40.0, "DC-GAN + soft loss (α=40)"),
    "dcgan_strong": Method(
        "dcgan_strong", "dcgan", False, "zprime", 100.0, "DC-GAN + strong loss (α=100)"
    ),
    "zprime": Method("zprime", "zprime", True, "zprime", 0.0, "Symmetric GAN, z'"),
    "flip": Method("flip", "flip", True, "flip", 0.0, "Symmetric GAN, flip"),
}
#: The paper's five methods (chapter 6 and ``python -m symgan results`` compare them).
METHOD_NAMES = tuple(METHODS)
#: The texture methods (``book/10_tileable_textures``): not among :data:`METHOD_NAMES`, since
#: they draw textures, not faces, and have no mirror latent.
TILE_METHOD_NAMES = ("tile", "tile_plain")
METHODS.update({
    "tile": Method("tile", "tile", False, "tile", 0.0, "Tileable texture (circular padding)"),
    "tile_plain": Method("tile_plain", "tile_plain", False, "tile_plain", 0.0,
                         "Texture, zero padding (control)"),
})


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name``; ``ValueError`` naming the valid ones otherwise."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}: expected one of {list(METHODS)}")
    return METHODS[name]


# Fields that change the trained weights. The run-directory key hashes only these (and
# MODEL_VERSION), so changing the device, output folder, logging, progress bar or the time guard
# reuses a cached run.
_KEY_FIELDS = (
    "method", "arch", "symmetric_d", "encoding", "alpha", "sym_reduction", "data", "n_train",
    "data_seed", "img_size", "channels", "z_dim", "n_anti", "width", "geometry", "batch_size",
    "max_steps", "lr", "beta1", "beta2", "ema", "seed",
)

#: Version of the code that turns a config into weights (models, training step, data). Part of
#: every run key: bump it when a change to that code would give other weights for the same
#: config, so no cached run or shipped file of the old code is taken for the new one.
MODEL_VERSION = 3

#: The texture methods' defaults in :meth:`TrainConfig.from_scale` (``book/10_tileable_textures``):
#: dataset (a grayscale photograph, hence one channel), flat latent size (8 channels on 4x4
#: cells), DC-GAN's learning rate at every scale, and step budget per scale (``None``: the
#: scale's). At the cpu scale 2500 steps were measured at about 11 minutes on one thread of a
#: loaded 2-core machine (0.25 s a step).
TILE_DEFAULTS: dict[str, Any] = {"data": "gravel", "channels": 1, "z_dim": 128, "lr": 2e-4,
                                 "max_steps": {"smoke": None, "cpu": 2500, "gpu": None}}


@dataclass
class TrainConfig:
    """Everything a training run needs. Build one with :meth:`from_scale`.

    ``arch``/``symmetric_d``/``encoding``/``alpha`` default to the method's values (``None``
    means "from the method"). Budgets: training stops at ``max_steps`` or when
    ``time_budget_s`` seconds of training have passed (``None``: no time limit), whichever
    comes first (the scales use ``max_steps`` as the budget and the time only as a guard).
    ``ema``: decay of the averaged generator used for sampling (:mod:`symgan.ema`; ``0``: none).
    ``snapshot_every``: every that many steps, keep the averaged generator's weights in
    ``snapshots/`` of the run folder (for quality-against-steps curves; ``0``: never).
    ``batch_size`` is per process under ``torchrun``.
    """

    method: str = "zprime"
    arch: str | None = None
    symmetric_d: bool | None = None
    encoding: str | None = None
    alpha: float | None = None
    sym_reduction: str = "mean"
    data: str = "synthfaces"
    n_train: int = 10000
    data_seed: int = 0
    img_size: int = 33
    channels: int = 3
    z_dim: int = 100
    n_anti: int = 5
    width: int = 32
    geometry: str | None = None
    batch_size: int = 64
    max_steps: int = 4000
    time_budget_s: float | None = 150.0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema: float = 0.999
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    out_dir: str | None = None
    sample_every: int = 500
    checkpoint_every: int = 250
    snapshot_every: int = 0
    log_every: int = 10
    n_sample: int = 64
    progress: bool = True
    scale: str | None = None

    def __post_init__(self) -> None:
        """Fill in the method's defaults, then check every field (:func:`_check_config`): a bad
        value is refused here, before anything is trained or written."""
        m = get_method(check_choice("method", self.method, METHODS))
        if self.arch is None:
            self.arch = m.arch
        if self.symmetric_d is None:
            self.symmetric_d = m.symmetric_d
        if self.encoding is None:
            self.encoding = m.encoding if self.arch == "dcgan" else self.arch
        if self.alpha is None:
            self.alpha = m.alpha
        _check_config(self)
        # "paper" (5x5, odd sizes) or "dcgan" (4x4, even sizes); None: from img_size.
        self.geometry = check_geometry(self.img_size, self.geometry)[0]
        if self.arch in _tile_archs():
            _check_tile_config(self)

    @classmethod
    def from_scale(cls, scale: str | Scale | None = None, method: str = "zprime",
                   **overrides: Any) -> TrainConfig:
        """Defaults of a scale (:mod:`symgan.scales`: ``smoke``, ``cpu``, ``gpu``, or a
        :class:`~symgan.scales.Scale` such as ``get_scale("cpu").with_geometry("dcgan")``;
        ``None`` reads ``$SYMGAN_SCALE``) for ``method``, then ``overrides`` (any field).

        The texture methods (``tile``, ``tile_plain``) take the scale at DC-GAN's geometry
        (16 / 32 / 64 px, whatever the geometry of ``scale``) and :data:`TILE_DEFAULTS`."""
        s = scale if isinstance(scale, Scale) else get_scale(scale)
        tile = isinstance(method, str) and method in METHODS and METHODS[method].arch in _tile_archs()
        if tile and "img_size" not in overrides:
            s = s.with_geometry("dcgan")
        kw: dict[str, Any] = dict(
            method=method, data=s.face_data, n_train=s.n_train, img_size=s.img_size,
            geometry=s.geometry, width=s.width, batch_size=s.batch_size, max_steps=s.max_steps,
            time_budget_s=s.time_budget_s, amp=s.amp, ema=s.ema, lr=s.lr, scale=s.name,
        )
        if s.name == "smoke":
            kw.update(sample_every=20, checkpoint_every=20, log_every=5, n_sample=16)
        if s.name == "cpu":
            kw.update(snapshot_every=500)
        if s.name == "gpu":
            kw.update(sample_every=1000, checkpoint_every=1000, snapshot_every=2500, log_every=50)
        if "img_size" in overrides and "geometry" not in overrides:
            kw["geometry"] = None  # a size of the other geometry picks that geometry
        elif overrides.get("geometry") == "dcgan" and "img_size" not in overrides and not tile:
            kw["img_size"] = s.img_size - 1  # the scale's size in DC-GAN's geometry: 33 -> 32
        if tile:
            kw.update(data=TILE_DEFAULTS["data"], channels=TILE_DEFAULTS["channels"],
                      z_dim=TILE_DEFAULTS["z_dim"], lr=TILE_DEFAULTS["lr"])
            steps = TILE_DEFAULTS["max_steps"].get(s.name)
            if steps is not None:
                kw["max_steps"] = steps
        kw.update(overrides)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys (from a newer version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def key_dict(self) -> dict[str, Any]:
        """The fields that change the trained weights (see ``_KEY_FIELDS``)."""
        d = self.to_dict()
        return {**{k: d[k] for k in _KEY_FIELDS}, "model_version": MODEL_VERSION}

    def key(self) -> str:
        """A 12-hex-digit hash of :meth:`key_dict`: the cache key of :func:`symgan.runs.load_or_train`."""
        blob = json.dumps(self.key_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def run_name(self) -> str:
        """``<method>-<data>-<size>px-<key>``: built from validated names only (a known method
        and dataset, an integer size), so it never holds a path separator or ``..``."""
        return f"{self.method}-{self.data}-{self.img_size}px-{self.key()}"

    def model_dict(self) -> dict[str, Any]:
        """The architecture fields a checkpoint must match to load into models of this config."""
        return {k: getattr(self, k) for k in (
            "arch", "symmetric_d", "encoding", "img_size", "channels", "z_dim", "n_anti", "width",
            "geometry")}

    def build_models(self):  # -> tuple[Generator, Discriminator]
        """Fresh ``(G, D)`` for this config (DC-GAN initialisation), on the CPU."""
        from .discriminators import Discriminator
        from .generators import Generator

        if self.arch in _tile_archs():
            from .tiles import TileGenerator

            G = TileGenerator(img_size=self.img_size, channels=self.channels, z_dim=self.z_dim,
                              width=self.width, periodic=self.arch == "tile")
            D = Discriminator(symmetric=bool(self.symmetric_d), img_size=self.img_size,
                              channels=self.channels, width=self.width, geometry=self.geometry)
            return G, D
        G = Generator(self.arch, img_size=self.img_size, channels=self.channels, z_dim=self.z_dim,
                      n_anti=self.n_anti, width=self.width, geometry=self.geometry,
                      encoding=self.encoding)
        D = Discriminator(symmetric=bool(self.symmetric_d), img_size=self.img_size,
                          channels=self.channels, width=self.width, geometry=self.geometry)
        return G, D


def _check_config(c: TrainConfig) -> None:
    """Check (and normalise) every field of ``c``: ``TypeError`` for a wrong type, ``ValueError``
    for a wrong value, each naming the field and what it accepts."""
    from .data.registry import DATASETS
    from .device import check_device
    from .generators import ARCHS
    from .geometry import GEOMETRIES
    from .latent import ENCODINGS
    from .scales import SCALES

    check_choice("arch", c.arch, (*ARCHS, *_tile_archs()))
    c.symmetric_d = check_bool("symmetric_d", c.symmetric_d)
    if c.arch == "dcgan":
        check_choice("encoding", c.encoding, ENCODINGS)
    elif c.encoding != c.arch:
        raise ValueError(f"encoding must be {c.arch!r} for arch={c.arch!r} (the {c.arch} generator "
                         f"has its own encoding), got {c.encoding!r}")
    c.alpha = check_float("alpha", c.alpha, 0.0)
    check_choice("sym_reduction", c.sym_reduction, ("mean", "sum"))
    # "folder" needs a root= the config does not carry
    check_choice("data", c.data, [d for d in DATASETS if d != "folder"])
    c.n_train = check_int("n_train", c.n_train, 1, 10**8)
    c.data_seed = check_int("data_seed", c.data_seed, 0, 2**32 - 1)
    c.img_size = check_int("img_size", c.img_size, 1, 4096)
    check_choice("geometry", c.geometry, (None, *GEOMETRIES))
    check_choice("channels", check_int("channels", c.channels), (1, 3))
    c.z_dim = check_int("z_dim", c.z_dim, 2 if c.encoding == "zprime" else 1, 4096)
    if c.encoding == "zprime":  # z' is the first n_anti entries, z'' the rest: both non-empty
        c.n_anti = check_int("n_anti", c.n_anti, 1, c.z_dim - 1)
    else:
        c.n_anti = check_int("n_anti", c.n_anti, 0, c.z_dim)
    c.width = check_int("width", c.width, 1, 1024)
    c.batch_size = check_int("batch_size", c.batch_size, 1, 65536)
    c.max_steps = check_int("max_steps", c.max_steps, 1, 10**9)
    if c.time_budget_s is not None:
        c.time_budget_s = check_float("time_budget_s", c.time_budget_s, 0.0, lo_open=True)
    c.lr = check_float("lr", c.lr, 0.0, lo_open=True)
    c.beta1 = check_float("beta1", c.beta1, 0.0, 1.0, hi_open=True)
    c.beta2 = check_float("beta2", c.beta2, 0.0, 1.0, hi_open=True)
    c.ema = check_float("ema", c.ema, 0.0, 1.0, hi_open=True)
    c.seed = check_int("seed", c.seed, 0, 2**32 - 1)
    c.device = check_device(c.device)
    c.amp = check_bool("amp", c.amp)
    if c.out_dir is not None:
        if not isinstance(c.out_dir, str | os.PathLike) or not os.fspath(c.out_dir):
            raise TypeError(f"out_dir must be a folder path or None, got {c.out_dir!r}")
        c.out_dir = os.fspath(c.out_dir)  # a Path would not survive the JSON of a checkpoint
    c.sample_every = check_int("sample_every", c.sample_every, 0, 10**9)
    c.checkpoint_every = check_int("checkpoint_every", c.checkpoint_every, 0, 10**9)
    c.snapshot_every = check_int("snapshot_every", c.snapshot_every, 0, 10**9)
    c.log_every = check_int("log_every", c.log_every, 1, 10**9)
    c.n_sample = check_int("n_sample", c.n_sample, 1, 4096)
    c.progress = check_bool("progress", c.progress)
    if c.scale is not None:
        check_choice("scale", c.scale, SCALES)


def _tile_archs() -> tuple[str, ...]:
    from .tiles import TILE_ARCHS

    return TILE_ARCHS


def _check_tile_config(c: TrainConfig) -> None:
    """The texture generator's constraints (:class:`~symgan.tiles.TileGenerator`): DC-GAN's
    geometry, a flat latent that is a map on 4x4 cells, and no symmetry loss (it has no mirror
    latent)."""
    from .tiles import CELLS

    if c.geometry != "dcgan":
        raise ValueError(f"arch={c.arch!r} draws images of 4 * 2^L px (DC-GAN's geometry: 16, 32, "
                         f"64, ...), got img_size={c.img_size} with geometry {c.geometry!r}")
    if c.z_dim % (CELLS * CELLS):
        raise ValueError(f"arch={c.arch!r} needs z_dim a multiple of {CELLS * CELLS} (a latent map "
                         f"on {CELLS}x{CELLS} cells), got {c.z_dim}")
    if c.alpha:
        raise ValueError(f"arch={c.arch!r} has no mirror latent, so the symmetry loss cannot apply: "
                         f"alpha must be 0, got {c.alpha}")
