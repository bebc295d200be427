"""One trainer for the paper's five methods (paper 4.1), and ``load_or_train`` for the book.

Each step is DC-GAN's (pytorch/examples ``dcgan/main.py``): the discriminator on a real and a
fake batch (non-saturating BCE on logits), then the generator; Adam lr 2e-4, betas (0.5, 0.999).
The loss baselines add ``alpha * mean (G(z) - M(G(zN)))^2`` to the generator loss
(:mod:`symgan.losses`), with ``G(z)`` and ``G(zN)`` computed in one forward pass of the batch
``[z; zN]`` (one BatchNorm batch; one forward per backward, which DDP needs).

Randomness: the training batches and latents come from two ``torch.Generator`` objects of the
trainer's own, seeded from ``config.seed`` (and the rank under ``torchrun``); their states, the
global RNGs, both optimisers and the step go into every checkpoint, so a run killed at any step
and resumed ends with the same weights (bit for bit on CPU) as an uninterrupted one.

Budgets: ``max_steps`` and ``time_budget_s`` (training seconds, summed over resumes), whichever
comes first: a noisy shared CPU stalls now and then and a chapter must still end on time.

Chapters: ``book/05_symmetric_discriminator``, ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .checkpoint import (
    CheckpointError,
    check_model_config,
    load_checkpoint,
    load_module,
    module_tensors,
    optimizer_from_tensors,
    optimizer_to_tensors,
    save_checkpoint,
)
from .config import TrainConfig
from .device import auto_device, get_rng_state, seed_everything, set_rng_state
from .losses import d_loss_fake, d_loss_real, g_loss, symmetry_loss

__all__ = [
    "TrainingDiverged",
    "TrainResult",
    "Trainer",
    "train",
    "load_or_train",
    "runs_dir",
    "read_log",
    "plot_log",
    "load_training_images",
]

CHECKPOINT = "checkpoint.safetensors"
LOG_FIELDS = ["step", "time_s", "loss_d", "loss_g", "loss_sym", "d_real", "d_fake", "img_per_s"]
_REPO = Path(__file__).resolve().parents[1]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; the last good checkpoint is kept."""


def runs_dir() -> Path:
    """Where :func:`load_or_train` keeps runs: ``$SYMGAN_RUNS``, else ``<repo>/runs`` in a
    writable source checkout, else ``~/.cache/symgan/runs``."""
    env = os.environ.get("SYMGAN_RUNS")
    if env:
        return Path(env).expanduser()
    if (_REPO / "pyproject.toml").is_file() and os.access(_REPO, os.W_OK):
        return _REPO / "runs"
    return Path.home() / ".cache" / "symgan" / "runs"


# -- data ----------------------------------------------------------------------------------------
def load_training_images(cfg: TrainConfig):
    """The training set of ``cfg``: a ``uint8`` tensor ``(N, C, H, W)`` when the dataset exposes
    ``.images`` (fast: random batches are indexed from memory), else the dataset itself."""
    from . import data as _data

    kw: dict[str, Any] = {"channels": cfg.channels, "n": cfg.n_train, "seed": cfg.data_seed}
    get = getattr(_data, "get_dataset", None)
    if get is not None:
        try:
            ds = get(cfg.data, cfg.img_size, **kw)
        except TypeError:  # a dataset without n / seed (a folder, the LFW subset)
            ds = get(cfg.data, cfg.img_size, channels=cfg.channels)
    elif cfg.data == "synthfaces":
        from .data.synthfaces import SynthFaces

        ds = SynthFaces(size=cfg.img_size, **kw)
    else:
        raise ValueError(f"dataset {cfg.data!r} is not available in this version of symgan.data")
    images = getattr(ds, "images", None)
    if images is not None:
        u8 = torch.as_tensor(images)
        if u8.dim() == 3:
            u8 = u8.unsqueeze(-1)
        if u8.dtype == torch.uint8 and u8.shape[1:] == (cfg.img_size, cfg.img_size, cfg.channels):
            return u8.permute(0, 3, 1, 2).contiguous()
    return ds


class _Batches:
    """Random training batches (sampled with replacement) from a fixed ``torch.Generator``."""

    def __init__(self, source, batch_size: int, device: torch.device, gen: torch.Generator) -> None:
        self.source, self.bs, self.device, self.gen = source, batch_size, device, gen
        if isinstance(source, Tensor):
            self.images = source.to(device)
            self.n = source.shape[0]
        else:
            self.images = None
            self.n = len(source)

    def next(self) -> Tensor:
        idx = torch.randint(self.n, (self.bs,), generator=self.gen)
        if self.images is not None:
            return self.images[idx.to(self.device)].float().div_(127.5).sub_(1.0)
        return torch.stack([self.source[int(i)] for i in idx]).to(self.device)


# -- results --------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` and :func:`load_or_train` return: trained models (eval mode, CPU
    unless trained elsewhere), the config, the log rows and run information."""

    generator: nn.Module
    discriminator: nn.Module
    config: TrainConfig
    log: list[dict[str, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None

    def __iter__(self):  # G, D, info = load_or_train(cfg)
        return iter((self.generator, self.discriminator, self.info))

    def plot_log(self, ax=None):
        """Losses against step (see :func:`plot_log`)."""
        return plot_log(self.log, ax=ax, title=self.config.method)


def read_log(path: str | os.PathLike) -> list[dict[str, float]]:
    """Rows of a run's ``log.csv`` as dicts of floats (empty fields skipped)."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def plot_log(log: list[dict[str, float]] | str | os.PathLike, ax=None, title: str | None = None):
    """One call: D and G losses (and the symmetry loss, if any) against the step. ``log`` is
    rows (:func:`read_log`) or a path. Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    rows = read_log(log) if isinstance(log, str | os.PathLike) else log
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss (BCE)"), ("loss_sym", "symmetry loss")):
        if any(key in r for r in rows):
            ax.plot(steps, [r.get(key, float("nan")) for r in rows], label=label, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


# -- distributed ----------------------------------------------------------------------------------
def _dist_env() -> tuple[int, int]:
    """``(rank, world_size)``, initialising the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


# -- the trainer ----------------------------------------------------------------------------------
class Trainer:
    """Train the method of ``config`` in ``run_dir`` (default ``config.out_dir``, else
    ``runs_dir()/config.run_name()``), resuming from its checkpoint when there is one."""

    def __init__(self, config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = True) -> None:
        self.cfg = config
        self.run_dir = Path(run_dir or config.out_dir or runs_dir() / config.run_name())
        self.resume = resume
        self.rank, self.world = _dist_env()
        self.device = auto_device(config.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        seed_everything(config.seed, deterministic=self.device.type == "cpu")
        self.G, self.D = config.build_models()  # same seed on every rank: same initial weights
        self.G.to(self.device)
        self.D.to(self.device)
        betas = (config.beta1, config.beta2)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.optD = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.data_gen = torch.Generator().manual_seed(config.seed * 1_000_003 + 1 + self.rank)
        self.latent_gen = torch.Generator().manual_seed(config.seed * 1_000_003 + 2 + 7919 * self.rank)
        fixed = torch.Generator().manual_seed(config.seed + 12345)
        self.fixed_z = (torch.rand(config.n_sample, config.z_dim, generator=fixed) * 2 - 1).to(self.device)
        self.step = 0
        self.elapsed = 0.0
        self.stop_reason = ""

    # checkpoint state ------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def state(self, finished: bool = False) -> tuple[dict[str, Tensor], dict[str, Any]]:
        tensors = {**module_tensors(self.G, "G"), **module_tensors(self.D, "D")}
        tg, jg = optimizer_to_tensors(self.optG, "optG")
        td, jd = optimizer_to_tensors(self.optD, "optD")
        rng_t, rng_j = get_rng_state()
        tensors.update(tg)
        tensors.update(td)
        tensors.update({f"rng.{k}": v for k, v in rng_t.items()})
        tensors["rng.data_gen"] = self.data_gen.get_state()
        tensors["rng.latent_gen"] = self.latent_gen.get_state()
        meta = {
            "config": self.cfg.to_dict(), "key": self.cfg.key(), "step": self.step,
            "elapsed_s": self.elapsed, "finished": finished, "stop_reason": self.stop_reason,
            "optG": jg, "optD": jd, "rng": rng_j, "world_size": self.world, "torch": torch.__version__,
        }
        return tensors, meta

    def save(self, finished: bool = False) -> None:
        if self.rank == 0:
            bad = [n for n, p in list(self.G.named_parameters()) + list(self.D.named_parameters())
                   if not torch.isfinite(p).all()]
            if bad:  # never overwrite the last good checkpoint with broken weights
                raise TrainingDiverged(f"non-finite weights ({bad[:3]}) at step {self.step}; "
                                       f"kept the last good checkpoint {self.ckpt_path}")
            tensors, meta = self.state(finished)
            save_checkpoint(self.ckpt_path, tensors, meta)
        if self.world > 1:
            dist.barrier()

    def load(self, path: Path) -> dict[str, Any]:
        tensors, meta = load_checkpoint(path)
        stored = TrainConfig.from_dict(meta["config"])
        check_model_config(stored.model_dict(), self.cfg.model_dict(), path)
        a, b = stored.key_dict(), self.cfg.key_dict()
        diff = {k: (a[k], b[k]) for k in a if a[k] != b[k] and k not in ("max_steps", "time_budget_s")}
        if diff:
            raise CheckpointError(f"{path} was trained with other settings: "
                                  + ", ".join(f"{k}: checkpoint {x!r} vs now {y!r}" for k, (x, y) in diff.items()))
        load_module(self.G, tensors, "G", path)
        load_module(self.D, tensors, "D", path)
        optimizer_from_tensors(self.optG, tensors, meta["optG"], "optG")
        optimizer_from_tensors(self.optD, tensors, meta["optD"], "optD")
        set_rng_state({k[4:]: v for k, v in tensors.items() if k.startswith("rng.torch")}, meta["rng"])
        self.data_gen.set_state(tensors["rng.data_gen"])
        self.latent_gen.set_state(tensors["rng.latent_gen"])
        self.step, self.elapsed = int(meta["step"]), float(meta["elapsed_s"])
        return meta

    # one step ---------------------------------------------------------------------------------
    def train_step(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> dict[str, Tensor]:
        """One DC-GAN step (D then G) on ``real`` ``(B, C, H, W)`` and latents ``z`` ``(B, z_dim)``.
        ``G``/``D`` are the (possibly DDP-wrapped) modules. Returns detached scalars."""
        cfg = self.cfg
        amp = cfg.amp and self.device.type == "cuda"
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        alpha = float(cfg.alpha or 0.0)
        with ctx:
            if alpha > 0:
                both = G(torch.cat([z, self.G.mirror_latent(z)]))
                fake, fake_n = both.chunk(2)
            else:
                fake, fake_n = G(z), None
        # Discriminator: one forward per backward (pytorch/examples; required by DDP).
        self.optD.zero_grad(set_to_none=True)
        with ctx:
            real_logits = D(real)
            loss_real = d_loss_real(real_logits)
        loss_real.backward()
        with ctx:
            fake_logits = D(fake.detach())
            loss_fake = d_loss_fake(fake_logits)
        loss_fake.backward()
        self.optD.step()
        # Generator: non-saturating loss (+ alpha * symmetry loss for the baselines).
        self.optG.zero_grad(set_to_none=True)
        with ctx:
            gl = g_loss(D(fake))
            sym = symmetry_loss(fake.float(), fake_n.float(), cfg.sym_reduction) if fake_n is not None else None
            total = gl + alpha * sym if sym is not None else gl
        total.backward()
        self.optG.step()
        out = {"loss_d": (loss_real + loss_fake).detach(), "loss_g": gl.detach(),
               "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
               "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}
        if sym is not None:
            out["loss_sym"] = sym.detach()
        return out

    # samples and logs ---------------------------------------------------------------------------
    @torch.no_grad()
    def save_samples(self, name: str) -> Path | None:
        if self.rank != 0:
            return None
        from .images import save_image

        was = self.G.training
        self.G.eval()
        x = self.G(self.fixed_z).float().cpu()
        self.G.train(was)
        p = self.run_dir / "samples" / f"{name}.png"
        save_image(x, p, nrow=8)
        return p

    def _log_file(self) -> Path:
        return self.run_dir / "log.csv"

    def _trim_log(self) -> None:
        """After a resume, drop log rows written after the checkpoint's step (they are redone)."""
        rows = [r for r in read_log(self._log_file()) if r["step"] <= self.step]
        self._write_rows(rows, mode="w")

    def _write_rows(self, rows: list[dict[str, float]], mode: str = "a") -> None:
        if self.rank != 0:
            return
        p = self._log_file()
        new = mode == "w" or not p.exists()
        with open(p, mode, newline="") as f:
            w = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            for r in rows:
                w.writerow({k: (int(v) if k == "step" else f"{v:.6g}") for k, v in r.items()})

    # the loop ----------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        """Train until ``max_steps`` or the time budget, checkpointing every
        ``checkpoint_every`` steps and at the end. Raises :class:`TrainingDiverged` on NaN/Inf."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.resume and self.ckpt_path.exists():
            meta = self.load(self.ckpt_path)
            out_of_time = cfg.time_budget_s is not None and self.elapsed >= cfg.time_budget_s
            if meta.get("finished") and (self.step >= cfg.max_steps or out_of_time):
                self.stop_reason = meta.get("stop_reason", "")
                return self._result()
            self._trim_log()
        elif self.rank == 0:
            self._log_file().unlink(missing_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

        source = load_training_images(cfg)
        batches = _Batches(source, cfg.batch_size, self.device, self.data_gen)
        G: nn.Module = self.G
        D: nn.Module = self.D
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            G, D = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        self.G.train()
        self.D.train()
        slow = float(os.environ.get("SYMGAN_DEBUG_STEP_SLEEP", "0"))  # tests: kill at a random step
        nan_at = int(os.environ.get("SYMGAN_DEBUG_NAN_AT_STEP", "-1"))  # tests: inject a NaN loss
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not cfg.progress or self.rank != 0,
                   desc=cfg.method, dynamic_ncols=True)
        rows: list[dict[str, float]] = []
        t0 = time.perf_counter()
        base_elapsed, last_t, last_step = self.elapsed, t0, self.step
        self.stop_reason = "max steps"
        try:
            while self.step < cfg.max_steps:
                if cfg.time_budget_s is not None and self.elapsed >= cfg.time_budget_s:
                    self.stop_reason = "time budget"
                    break
                real = batches.next()
                z = (torch.rand(cfg.batch_size, cfg.z_dim, generator=self.latent_gen) * 2 - 1).to(self.device)
                if self.step + 1 == nan_at:
                    real = real * float("nan")
                out = self.train_step(G, D, real, z)
                self.step += 1
                self.elapsed = base_elapsed + time.perf_counter() - t0
                if slow:
                    time.sleep(slow)
                check = self.device.type == "cpu" or self.step % cfg.log_every == 0 \
                    or self.step % cfg.checkpoint_every == 0
                if check:
                    vals = {k: float(v) for k, v in out.items()}
                    bad = [k for k in ("loss_d", "loss_g", "loss_sym") if k in vals
                           and not torch.isfinite(torch.tensor(vals[k]))]
                    if bad:
                        self.stop_reason = "diverged"
                        raise TrainingDiverged(
                            f"{cfg.method}: {', '.join(bad)} became {vals[bad[0]]} at step {self.step}; "
                            f"stopped, kept the last good checkpoint {self.ckpt_path}")
                if self.step % cfg.log_every == 0:
                    now = time.perf_counter()
                    ips = (self.step - last_step) * cfg.batch_size * self.world / max(now - last_t, 1e-9)
                    last_t, last_step = now, self.step
                    rows.append({"step": self.step, "time_s": self.elapsed, **vals, "img_per_s": ips})
                    bar.set_postfix(d=f"{vals['loss_d']:.3f}", g=f"{vals['loss_g']:.3f}", ips=f"{ips:.0f}")
                bar.update(1)
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.save_samples(f"step_{self.step:06d}")
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self._write_rows(rows)
                    rows = []
                    self.save()
        finally:
            bar.close()
            if self.stop_reason == "diverged":
                self._write_rows(rows)
        self._write_rows(rows)
        self.ranks_in_sync = self._ranks_agree()
        self.save(finished=True)
        self.save_samples("final")
        if self.rank == 0:
            (self.run_dir / "summary.json").write_text(json.dumps(self._info(), indent=2))
        return self._result()

    def _ranks_agree(self) -> bool | None:
        """Under ``torchrun``: do all ranks hold the same weights (DDP keeps them in step)?"""
        if self.world <= 1:
            return None
        with torch.no_grad():  # nccl gathers CUDA tensors, gloo CPU ones
            sig = torch.stack([p.double().sum() for p in self.G.parameters()]
                              + [p.double().sum() for p in self.D.parameters()])
        sig = sig.to(self.device if dist.get_backend() == "nccl" else "cpu")
        sigs = [torch.zeros_like(sig) for _ in range(self.world)]
        dist.all_gather(sigs, sig)
        return all(torch.equal(sig, x) for x in sigs)

    def _info(self) -> dict[str, Any]:
        return {"ranks_in_sync": getattr(self, "ranks_in_sync", None),"step": self.step, "elapsed_s": self.elapsed, "stop_reason": self.stop_reason,
                "run_dir": str(self.run_dir), "checkpoint": str(self.ckpt_path), "key": self.cfg.key(),
                "device": str(self.device), "world_size": self.world}

    def _result(self) -> TrainResult:
        self.G.eval()
        self.D.eval()
        return TrainResult(self.G, self.D, self.cfg, read_log(self._log_file()), self._info(), self.run_dir)


def train(config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = True) -> TrainResult:
    """Train ``config`` (see :class:`Trainer`)."""
    return Trainer(config, run_dir, resume).train()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_or_train(
    config: TrainConfig,
    *,
    path: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    root: str | os.PathLike | None = None,
    train_if_missing: bool = True,
) -> TrainResult:
    """The trained models of ``config``: loaded when a checkpoint exists, else trained and saved.

    Looks, in order, at ``path`` (a checkpoint file or run folder), ``url`` (downloaded once into
    the run folder and checked against ``sha256``), then the run folder
    ``root/config.run_name()`` (``root`` defaults to :func:`runs_dir`; the name ends with
    :meth:`TrainConfig.key`, a hash of the fields that change the weights). A finished
    checkpoint is loaded without training; an unfinished one is resumed. Returns a
    :class:`TrainResult` (``.generator``, ``.discriminator``, ``.log``, ``.config``, ``.info``;
    it also unpacks as ``G, D, info``). Chapter: ``book/06_loss_baselines_and_faces``.
    """
    run = Path(root or runs_dir()) / config.run_name()
    src: Path | None = None
    if path is not None:
        src = Path(path)
        src = src / CHECKPOINT if src.is_dir() else src
        if not src.is_file():
            raise CheckpointError(f"no checkpoint at {src}")
    elif url is not None:
        src = run / CHECKPOINT
        if not src.is_file():
            run.mkdir(parents=True, exist_ok=True)
            tmp = run / (CHECKPOINT + ".download.ckpt.tmp")
            urllib.request.urlretrieve(url, tmp)  # noqa: S310 (user-given URL, checked below)
            if sha256 and _sha256(tmp) != sha256.lower():
                tmp.unlink()
                raise CheckpointError(f"{url}: SHA-256 mismatch (expected {sha256})")
            os.replace(tmp, src)
    if src is not None:
        from .checkpoint import load_models

        G, D, cfg, meta = load_models(src, expect=config.model_dict())
        info = {k: meta.get(k) for k in ("step", "elapsed_s", "stop_reason", "key")}
        info.update(checkpoint=str(src), loaded=True)
        return TrainResult(G, D, cfg, read_log(src.parent), info, src.parent)
    ckpt = run / CHECKPOINT
    if not ckpt.exists() and not train_if_missing:
        raise CheckpointError(f"no checkpoint for this config at {ckpt} (train_if_missing=False)")
    result = Trainer(config, run, resume=True).train()
    result.generator.cpu()
    result.discriminator.cpu()
    return result
