"""Helpers shared by the book's chapters: setup at a scale, captions, tables, the models shown.

Every chapter starts with::

    scale = None                      # the papermill ``parameters`` cell: raw knobs only
    cfg = symgan.chapter.setup_chapter(scale)   # validated Scale, seeded, figure style set

so the scale comes from the notebook parameter, else ``$SYMGAN_SCALE``, else ``"cpu"``
(:func:`symgan.scales.resolve_scale`). Figures are drawn by :mod:`symgan.plots`; this module
only displays their captions and the chapters' tables.

Nothing here is model code: models live in :mod:`symgan.generators` and
:mod:`symgan.discriminators`. Chapter: ``book/01_introduction`` (how chapters are built).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .ema import calibrate_batchnorm
from .scales import Scale, get_scale

__all__ = [
    "setup_chapter",
    "caption",
    "markdown_table",
    "load_generator",
    "time_call",
    "is_cached",
    "training_plan",
    "training_budget_table",
]


def setup_chapter(scale: str | None = None, seed: int = 0, threads: int | None = None,
                  geometry: str | None = None) -> Scale:
    """Resolve and validate ``scale``, seed ``random``/``numpy``/``torch``, set the figure style.

    Returns the :class:`~symgan.scales.Scale` (an unknown name raises ``ValueError`` listing the
    valid ones), at ``geometry`` if given (:meth:`~symgan.scales.Scale.with_geometry`:
    ``"dcgan"`` runs the chapter at DC-GAN's 4x4 geometry, 16/32/64 px; ``None`` reads
    ``$SYMGAN_GEOMETRY``, else keeps the scale's, the paper's 5x5 geometry at 17/33/65 px). ``threads``: ``torch`` intra-op threads. Default without a GPU: 1 at the
    ``smoke`` and ``cpu`` scales (the chapters' small models gain little from more, and on a
    shared machine two spinning threads were measured 10-30x slower than one), else torch's choice.
    """
    cfg = get_scale(scale).with_geometry(geometry or os.environ.get("SYMGAN_GEOMETRY") or None)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    elif not torch.cuda.is_available() and cfg.name in ("smoke", "cpu"):
        torch.set_num_threads(1)
    try:
        import matplotlib as mpl

        mpl.rcParams.update({
            "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 3.2),
            "axes.titlesize": 11, "axes.labelsize": 10, "figure.titlesize": 12,
            "image.interpolation": "nearest",
        })
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        pass
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"scale={cfg.name!r}: images {cfg.img_size}x{cfg.img_size} ({cfg.geometry} geometry), "
          f"width {cfg.width}, "
          f"batch {cfg.batch_size}, seed {seed}")
    print(f"device {device}, CPU threads: {torch.get_num_threads()}, torch {torch.__version__}")
    return cfg


def caption(text: str, number: str | None = None) -> None:
    """Display a figure caption (Markdown) below the figure drawn by the same cell.

    ``number`` like ``"2.1"`` prefixes **Figure 2.1.**. Build the text with f-strings so that
    every number in it is the one measured by the cell that ran.
    """
    from IPython.display import Markdown, display

    head = f"**Figure {number}.** " if number else ""
    display(Markdown(f"{head}*{text}*" if not head else f"{head}{text}"))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]], fmt: str = ".2e") -> str:
    """A Markdown table: floats formatted with ``fmt``, everything else with ``str``.

    Display it with ``IPython.display.Markdown``; the rendered book shows a real table.
    """

    def cell(v: object) -> str:
        text = format(v, fmt) if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")  # a literal | (as in |f(x)|) must not split the cell

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


TRAINED_MODES = ("no", "if-cached", "yes")


def load_generator(scale: str | Scale | None, method: str = "zprime", trained: str = "if-cached",
                   seed: int = 0) -> tuple[nn.Module, str]:
    """A generator for a chapter's figures, and a sentence saying where it came from.

    ``trained``: ``"no"`` (a fresh generator), ``"if-cached"`` (the checkpoint that
    :func:`symgan.runs.load_or_train` keeps for ``TrainConfig.from_scale(scale, method)``, if
    the weights shipped in :mod:`symgan.pretrained` for it, else the run in ``runs/``, else a
    fresh one: never trains), ``"yes"`` (``load_or_train``: load or train
    now). A fresh generator gets its BatchNorm statistics calibrated on 512 random latents
    (:func:`symgan.ema.calibrate_batchnorm`). Returned in eval mode on the CPU. ``scale``: a name, or the
    :class:`~symgan.scales.Scale` that :func:`setup_chapter` returned (its geometry is kept).
    """
    from .generators import Generator

    if trained not in TRAINED_MODES:
        raise ValueError(f"trained must be one of {TRAINED_MODES}, got {trained!r}")
    cfg = scale if isinstance(scale, Scale) else get_scale(scale)
    if trained != "no":
        try:
            from .config import TrainConfig
            from .runs import CHECKPOINT, load_or_train, runs_dir
        except ImportError:  # pragma: no cover - training module not installed
            if trained == "yes":
                raise
        else:
            from .pretrained import find

            tc = TrainConfig.from_scale(cfg, method=method, progress=False)
            ckpt = runs_dir() / tc.run_name() / CHECKPOINT
            shipped = find(tc) is not None
            if trained == "yes" or shipped or ckpt.is_file():  # the order of load_or_train
                res = load_or_train(tc, path=ckpt) if ckpt.is_file() and not shipped else load_or_train(tc)
                step = res.info.get("step")
                if res.info.get("pretrained"):
                    where = f"the weights shipped with symgan ({Path(res.info['checkpoint']).name})"
                else:
                    how = "loaded" if res.info.get("loaded") else "trained"
                    where = f"{how} from runs/{Path(res.run_dir).name}"
                return res.generator.cpu().eval(), (
                    f"the {method} generator, {where}: {step} training steps at scale {cfg.name!r}, "
                    "weight average")
    from .config import get_method

    arch = get_method(method).arch
    torch.manual_seed(seed)
    G = Generator(arch, img_size=cfg.img_size, width=cfg.width)
    calibrate_batchnorm(G, G.sample_latent(512, generator=torch.Generator().manual_seed(seed)))
    what = ("no symmetry structure (the control)" if arch == "dcgan"
            else "the symmetry structure is exact")
    return G, (f"an untrained {arch} generator (BatchNorm statistics calibrated on random "
               f"latents): {what}, but the pictures are not faces yet")


def is_cached(config) -> bool:
    """Whether :func:`symgan.runs.load_or_train` finds weights for ``config`` (a
    :class:`~symgan.config.TrainConfig`) without training from scratch: shipped in
    :mod:`symgan.pretrained`, or a checkpoint in ``runs_dir()`` (loaded, or resumed if that run
    was interrupted)."""
    return _source(config) != "train"


def _source(config) -> str:
    from .pretrained import find
    from .runs import CHECKPOINT, runs_dir

    if find(config) is not None:  # the order of load_or_train: shipped weights first
        return "shipped"
    return "runs" if (runs_dir() / config.run_name() / CHECKPOINT).is_file() else "train"


def training_plan(configs: Sequence) -> str:
    """A Markdown table saying, for each :class:`~symgan.config.TrainConfig`, where
    :func:`symgan.runs.load_or_train` takes it from: the weights shipped with the package, a
    checkpoint in ``runs_dir()``, or a training run now (``max_steps`` steps; ``time_budget_s``
    is only a guard). Chapters print it before they call ``load_or_train``."""
    rows = []
    for c in configs:
        src = _source(c)
        guard = f", time guard {c.time_budget_s:.0f} s" if c.time_budget_s else ""
        now = {"shipped": "load the weights shipped with symgan (seconds)",
               "runs": "load from runs/ (seconds)"}.get(src, f"train now: {c.max_steps} steps{guard}")
        rows.append((c.method, f"{c.img_size}x{c.img_size} {c.data}", now, c.run_name()))
    return markdown_table(["method", "images", "this run of the chapter", "run name"], rows)


def training_budget_table(n_runs: int) -> str:
    """A Markdown table of what ``n_runs`` training runs cost at each scale of
    :data:`symgan.scales.SCALES`: the step budget per run and the time guard (a run that
    reaches it stops early with a warning)."""
    from .scales import SCALES

    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    rows = []
    for s in SCALES.values():
        guard = "none" if s.time_budget_s is None else f"{s.time_budget_s:.0f} s"
        rows.append((s.name, f"{s.img_size}x{s.img_size}", s.max_steps, guard,
                     f"{n_runs} x {s.max_steps} steps"))
    return markdown_table(["scale", "images", "steps per run", "time guard per run",
                           f"{n_runs} run{'s' if n_runs > 1 else ''}"], rows)


def time_call(fn, *args, repeat: int = 5, **kwargs) -> float:
    """Median wall time of ``fn(*args, **kwargs)`` in milliseconds (one warm-up call first)."""
    fn(*args, **kwargs)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))
