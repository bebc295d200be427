"""One trainer for the paper's five methods (paper 4.1).

Each step is DC-GAN's (pytorch/examples ``dcgan/main.py``): the discriminator on a real and a
fake batch (non-saturating BCE on logits), then the generator; Adam, betas (0.5, 0.999), at the
config's rate for both networks (DC-GAN's 2e-4; 4e-4 at the cpu scale, :mod:`symgan.scales`).
The loss baselines add ``alpha * mean (G(z) - M(G(zN)))^2`` to the generator loss
(:mod:`symgan.losses`), with ``G(z)`` and ``G(zN)`` computed in one forward pass of the batch
``[z; zN]`` (one BatchNorm batch; one forward per backward, which DDP needs).

Randomness: the training batches and latents come from two ``torch.Generator`` objects of the
trainer's own, seeded from ``config.seed`` (and the rank under ``torchrun``); their states, the
global RNGs, both optimisers and the step go into every checkpoint, so a run killed at any step
and resumed ends with the same weights (bit for bit on CPU) as an uninterrupted one.

Budget: ``max_steps`` steps, so a config and seed give the same weights on any CPU however loaded.
``time_budget_s`` (training seconds, summed over resumes) is a guard for a stalled machine: a
run that reaches it stops early with a :class:`RunWarning` and records ``stop_reason="time
budget"`` in its checkpoint and ``summary.json``.

Sampling weights: after every generator step the trainer updates an exponential moving average
of G (``config.ema``, :mod:`symgan.ema`); the checkpoint holds it as ``E.*`` with BatchNorm
statistics calibrated for it, and :func:`symgan.runs.load_or_train` returns it as ``.generator``.

Runs survive their environment: a run folder is locked while a trainer uses it
(:class:`symgan.runs.RunLock`), Ctrl-C and SIGTERM stop at a step boundary after writing a
checkpoint (:class:`TrainingInterrupted`), the checkpoint is written before the sample images,
and a sample image or log row that cannot be written is a :class:`RunWarning`. The run folder,
its lock and its records are :mod:`symgan.runs`; the training set and its batches
:mod:`symgan.data.batches`.

Chapters: ``book/05_symmetric_discriminator``, ``book/06_loss_baselines_and_faces``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .checkpoint import (
    CheckpointError,
    check_model_config,
    check_shapes,
    checkpoint_kind,
    config_from_meta,
    load_checkpoint,
    load_module,
    module_tensors,
    optimizer_from_tensors,
    optimizer_to_tensors,
    prev_path,
    save_checkpoint,
)
from .checks import NonFiniteError
from .config import TrainConfig
from .data.batches import RandomBatches, load_training_images
from .device import auto_device, eval_mode, get_rng_state, seed_everything, set_rng_state
from .ema import calibrate_generator, ema_decay, update_ema
from .runs import (
    CHECKPOINT,
    RunLock,
    RunLocked,
    TrainResult,
    read_log,
    remove_stale_temporaries,
    run_folder,
    write_log,
)
from .update import gan_step

__all__ = [
    "TrainingDiverged",
    "TrainingInterrupted",
    "RunWarning",
    "Trainer",
    "train",
]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; the last good checkpoint is kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM stopped training at a step boundary, after a checkpoint of that
    step was written: running the same training again resumes from it. ``signum``, ``step`` and
    ``checkpoint`` say which signal, where and what."""

    def __init__(self, message: str, signum: int, step: int, checkpoint: Path) -> None:
        super().__init__(message)
        self.signum, self.step, self.checkpoint = signum, step, checkpoint


class RunWarning(UserWarning):
    """Something secondary to training failed (a sample image, a log row) and training went on."""


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
    :func:`~symgan.runs.run_folder`), resuming from its checkpoint when there is one.

    While it trains, the run folder is locked (:class:`~symgan.runs.RunLock`; a second trainer
    gets :class:`~symgan.runs.RunLocked`, or waits ``wait_for_lock`` seconds), Ctrl-C and
    SIGTERM stop it at the next step boundary with a checkpoint of that step
    (:class:`TrainingInterrupted`), the checkpoint is written before the sample images, and a
    sample image or log row that cannot be written is a :class:`RunWarning`, not a lost run.
    """

    def __init__(self, config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = True,
                 wait_for_lock: float = 0.0) -> None:
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        self.cfg = config
        self.run_dir = Path(run_dir or config.out_dir or run_folder(config))
        self.resume = resume
        self.wait_for_lock = wait_for_lock
        self.rank, self.world = _dist_env()
        self.device = auto_device(config.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        seed_everything(config.seed, deterministic=self.device.type == "cpu")
        self.G, self.D = config.build_models()  # same seed on every rank: same initial weights
        self.G.to(self.device)
        self.D.to(self.device)
        self.G_ema: nn.Module | None = None
        if config.ema > 0:
            self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
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
        self.loaded = False
        self._signal: int | None = None

    # checkpoint state ------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def state(self, finished: bool = False) -> tuple[dict[str, Tensor], dict[str, Any]]:
        tensors = {**module_tensors(self.G, "G"), **module_tensors(self.D, "D")}
        if self.G_ema is not None:
            tensors.update(module_tensors(self.G_ema, "E"))
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
        """Write the checkpoint (rank 0). :class:`TrainingDiverged` for non-finite weights (the
        last good checkpoint is kept); ``OSError`` (disk full, read-only) says what is kept."""
        if self.rank == 0:
            bad = [n for n, p in list(self.G.named_parameters()) + list(self.D.named_parameters())
                   if not torch.isfinite(p).all()]
            if bad:  # never overwrite the last good checkpoint with broken weights
                raise TrainingDiverged(f"non-finite weights ({bad[:3]}) at step {self.step}; "
                                       f"kept the last good checkpoint {self.ckpt_path}")
            self._calibrate_ema()
            tensors, meta = self.state(finished)
            try:
                save_checkpoint(self.ckpt_path, tensors, meta)
            except OSError as e:
                kept = "the previous checkpoint is kept" if self.ckpt_path.exists() else "no checkpoint exists yet"
                raise OSError(e.errno, f"could not write the checkpoint of step {self.step} to "
                                       f"{self.ckpt_path} ({e.strerror or e}); {kept}") from e
        if self.world > 1:
            dist.barrier()

    def load(self, path: Path) -> dict[str, Any]:
        """Restore models, optimisers, RNG states and step from a training checkpoint of this
        run's settings; :class:`CheckpointError` for anything else."""
        tensors, meta = load_checkpoint(path)
        if checkpoint_kind(meta) != "training":
            what = "a FitAndTune result" if "fit_and_tune" in meta else "it has no config"
            raise CheckpointError(f"{path} is not a training checkpoint ({what}); it cannot be resumed")
        stored = config_from_meta(meta, path)
        check_model_config(stored.model_dict(), self.cfg.model_dict(), path)
        a, b = stored.key_dict(), self.cfg.key_dict()
        diff = {k: (a[k], b[k]) for k in a if a[k] != b[k] and k not in ("max_steps", "time_budget_s")}
        if diff:
            raise CheckpointError(f"{path} was trained with other settings: "
                                  + ", ".join(f"{k}: checkpoint {x!r} vs now {y!r}" for k, (x, y) in diff.items()))
        missing = [k for k in ("rng.torch_cpu", "rng.data_gen", "rng.latent_gen") if k not in tensors]
        if missing:
            raise CheckpointError(f"{path}: training checkpoint without {missing}")
        check_shapes(stored, tensors, path)
        load_module(self.G, tensors, "G", path)
        load_module(self.D, tensors, "D", path)
        if self.G_ema is not None:
            if not any(k.startswith("E.") for k in tensors):
                raise CheckpointError(f"{path}: no averaged generator (E.*) although ema={self.cfg.ema}")
            load_module(self.G_ema, tensors, "E", path)
        optimizer_from_tensors(self.optG, tensors, meta["optG"], "optG", path)
        optimizer_from_tensors(self.optD, tensors, meta["optD"], "optD", path)
        try:
            set_rng_state({k[4:]: v for k, v in tensors.items() if k.startswith("rng.torch")}, meta["rng"])
            self.data_gen.set_state(tensors["rng.data_gen"])
            self.latent_gen.set_state(tensors["rng.latent_gen"])
        except (RuntimeError, ValueError, TypeError) as e:  # a state of the wrong size or kind
            raise CheckpointError(f"{path}: its random number generator states do not load: {e}") from e
        self.step, self.elapsed = int(meta["step"]), float(meta["elapsed_s"])
        return meta

    # one step ---------------------------------------------------------------------------------
    def train_step(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> dict[str, Tensor]:
        """One DC-GAN step (D then G, :func:`symgan.update.gan_step`) on ``real`` ``(B, C, H, W)``
        and latents ``z`` ``(B, z_dim)`` with this run's optimisers, symmetry-loss weight and
        mixed precision. ``G``/``D`` are the (possibly DDP-wrapped) modules. Returns detached
        scalars."""
        cfg = self.cfg
        amp = cfg.amp and self.device.type == "cuda"
        return gan_step(G, D, self.optG, self.optD, real, z, mirror_latent=getattr(self.G, "mirror_latent", None),
                        alpha=float(cfg.alpha or 0.0), sym_reduction=cfg.sym_reduction,
                        autocast=torch.autocast("cuda", dtype=torch.bfloat16) if amp else None)

    # the averaged generator -------------------------------------------------------------------
    @property
    def sampler(self) -> nn.Module:
        """The generator to draw with: the weight average when there is one, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    def _calibrate_ema(self) -> None:
        """BatchNorm statistics of the average, measured on fixed latents: a pure function of
        its weights, so a resumed run saves exactly what an uninterrupted one does."""
        if self.G_ema is not None:
            calibrate_generator(self.G_ema, n=1024, seed=self.cfg.seed + 54321)

    def save_snapshot(self) -> Path | None:
        """The averaged generator at this step, ``snapshots/step_<step>.safetensors`` (rank 0;
        a file that cannot be written is a :class:`RunWarning`)."""
        if self.rank != 0:
            return None
        self._calibrate_ema()
        p = self.run_dir / "snapshots" / f"step_{self.step:06d}.safetensors"
        meta = {"config": self.cfg.to_dict(), "key": self.cfg.key(), "step": self.step,
                "elapsed_s": self.elapsed, "snapshot": True, "torch": torch.__version__}
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(p, module_tensors(self.sampler, "G"), meta)
        except OSError as e:
            self._warn(f"could not write the snapshot {p} ({e}); training goes on")
            return None
        return p

    # samples and logs ---------------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        warnings.warn(message, RunWarning, stacklevel=3)

    @torch.no_grad()
    def save_samples(self, name: str) -> Path | None:
        """The fixed-latent grid ``samples/<name>.png`` (rank 0). A file that cannot be written
        is a :class:`RunWarning` and ``None``: an image is never worth a run."""
        if self.rank != 0:
            return None
        from .images import save_image

        self._calibrate_ema()
        with eval_mode(self.sampler) as G:
            x = G(self.fixed_z).float().cpu()
        p = self.run_dir / "samples" / f"{name}.png"
        try:
            save_image(x, p, nrow=8)
        except OSError as e:
            self._warn(f"could not write the sample image {p} ({e}); training goes on")
            return None
        return p

    def _log_file(self) -> Path:
        return self.run_dir / "log.csv"

    def _trim_log(self) -> None:
        """After a resume, drop log rows written after the checkpoint's step (they are redone)."""
        rows = [r for r in read_log(self._log_file()) if r["step"] <= self.step]
        self._write_rows(rows, mode="w")

    def _write_rows(self, rows: list[dict[str, float]], mode: str = "a") -> bool:
        """Append ``rows`` to ``log.csv`` (``mode="w"``: rewrite it). ``False``, with a
        :class:`RunWarning`, when the file cannot be written; the caller keeps the rows."""
        if self.rank != 0:
            return True
        p = self._log_file()
        try:
            write_log(p, rows, mode)
        except OSError as e:
            self._warn(f"could not write {len(rows)} row(s) to {p} ({e}); kept, retried at the next checkpoint")
            return False
        return True

    # locks and signals -------------------------------------------------------------------------
    def _any_rank(self, flag: bool) -> bool:
        """``flag`` of any rank under ``torchrun`` (every rank must take the same branch)."""
        if self.world <= 1:
            return flag
        t = torch.tensor([int(flag)], device=self.device if dist.get_backend() == "nccl" else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def _lock(self) -> RunLock | None:
        """Lock the run folder (rank 0 holds it for all ranks)."""
        lock, error = None, None
        if self.rank == 0:
            try:
                lock = RunLock(self.run_dir).acquire(self.wait_for_lock)
            except RunLocked as e:
                error = e
            except OSError as e:  # a read-only or full file system, a path through a file
                error = OSError(e.errno, f"run folder {self.run_dir} is not writable ({e.strerror or e}); "
                                         "nothing was trained")
        if self._any_rank(error is not None):
            raise error or RunLocked(f"run folder {self.run_dir} is locked (see rank 0)")
        return lock

    @contextlib.contextmanager
    def _catch_signals(self):
        """Turn Ctrl-C and SIGTERM into a request to stop at the next step boundary (a second
        Ctrl-C stops at once). Only the main thread can install signal handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._signal = signum
            print(f"\n{signal.Signals(signum).name}: stopping after this step and saving a checkpoint "
                  "(Ctrl-C again to stop at once, without it)", file=sys.stderr, flush=True)

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h if h is not None else signal.SIG_DFL)

    def _stop_if_signalled(self, rows: list[dict[str, float]]) -> None:
        """Save a checkpoint of the current step and raise :class:`TrainingInterrupted` when a
        signal asked to stop (on any rank)."""
        if not self._any_rank(self._signal is not None):
            return
        signum = self._signal if self._signal is not None else signal.SIGTERM
        self.stop_reason = "interrupted"
        self._write_rows(rows)
        rows.clear()
        self.save(finished=False)
        name = signal.Signals(signum).name
        raise TrainingInterrupted(
            f"{name}: stopped at step {self.step}, checkpoint saved to {self.ckpt_path}; "
            "run the same training again to resume from it", signum, self.step, self.ckpt_path)

    # the loop ----------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        """Train until ``max_steps`` or the time budget, checkpointing every
        ``checkpoint_every`` steps and at the end. Raises :class:`TrainingDiverged` on NaN/Inf,
        :class:`TrainingInterrupted` (after saving) on Ctrl-C or SIGTERM,
        :class:`~symgan.runs.RunLocked` when another process trains in the same folder."""
        self.warnings: list[str] = []
        self._signal = None
        with self._catch_signals():
            lock = self._lock()
            try:
                return self._train()
            finally:
                if lock is not None:
                    lock.release()

    def _resume_source(self) -> Path | None:
        """The checkpoint to resume from: ``checkpoint.safetensors``, else (when it is missing)
        the previous one, with a warning; ``None`` to start afresh."""
        if not self.resume:
            return None
        if self.ckpt_path.exists():
            return self.ckpt_path
        prev = prev_path(self.ckpt_path)
        return prev if prev.exists() else None

    def _train(self) -> TrainResult:
        done = self._start()
        if done is not None:
            return done
        G, D, batches = self._models_and_batches()
        rows: list[dict[str, float]] = []
        try:
            self._loop(G, D, batches, rows)
        finally:
            if self.stop_reason == "diverged":
                self._write_rows(rows)
        return self._finish(rows)

    def _start(self) -> TrainResult | None:
        """Resume from the run's checkpoint (or start a new log); the result if the run is done."""
        cfg = self.cfg
        if self.rank == 0:
            remove_stale_temporaries(self.run_dir)
        src = self._resume_source()
        if self.world > 1:  # every rank decides before rank 0 writes anything back
            dist.barrier()
        if src is not None:
            meta = self.load(src)
            if src != self.ckpt_path:
                self._warn(f"{self.ckpt_path} is missing: resumed from {src} (step {self.step}, "
                           f"{'finished' if meta['finished'] else 'unfinished'}) and wrote it back")
                self.stop_reason = meta.get("stop_reason", "")
                self.save(finished=meta["finished"])
            if meta.get("finished") and (self.step >= cfg.max_steps or self._out_of_time()):
                self.stop_reason = meta.get("stop_reason", "")
                self.loaded = True  # a finished run: nothing was trained
                return self._result()
            self._trim_log()
        elif self.rank == 0:
            try:
                self._log_file().unlink(missing_ok=True)
                (self.run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
            except OSError as e:
                self._warn(f"could not start a new log.csv / config.json in {self.run_dir} ({e})")
        return None

    def _models_and_batches(self) -> tuple[nn.Module, nn.Module, RandomBatches]:
        """The (DDP-wrapped under ``torchrun``) models in train mode, and the batch sampler."""
        batches = RandomBatches(load_training_images(self.cfg), self.cfg.batch_size, self.device, self.data_gen)
        G: nn.Module = self.G
        D: nn.Module = self.D
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            G, D = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        self.G.train()
        self.D.train()
        return G, D, batches

    def _out_of_time(self) -> bool:
        return self.cfg.time_budget_s is not None and self.elapsed >= self.cfg.time_budget_s

    def _loop(self, G: nn.Module, D: nn.Module, batches: RandomBatches, rows: list[dict[str, float]]) -> None:
        """Steps until ``max_steps`` (or the time guard), logging into ``rows`` and writing the
        periodic checkpoints, samples and snapshots."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not cfg.progress or self.rank != 0,
                   desc=cfg.method, dynamic_ncols=True)
        t0 = time.perf_counter()
        base_elapsed, self._last = self.elapsed, (t0, self.step)
        self.stop_reason = "max steps"
        try:
            while self.step < cfg.max_steps:
                self._stop_if_signalled(rows)
                if self._out_of_time():
                    self.stop_reason = "time budget"
                    self._warn(f"{cfg.method}: the time guard of {cfg.time_budget_s:g} s stopped training at "
                               f"step {self.step} of {cfg.max_steps}: these weights are NOT those of the "
                               "config's step budget (a slow or stalled machine); run again with a larger "
                               "time guard (--time-budget) to continue")
                    break
                out = self._one_step(G, D, batches)
                self.elapsed = base_elapsed + time.perf_counter() - t0
                self._record(out, rows, bar)
                self._periodic(rows)
        finally:
            bar.close()

    def _one_step(self, G: nn.Module, D: nn.Module, batches: RandomBatches) -> dict[str, Tensor]:
        """One GAN update and one update of the weight average; :class:`TrainingDiverged` on
        non-finite values."""
        cfg = self.cfg
        real = batches.next()
        z = (torch.rand(cfg.batch_size, cfg.z_dim, generator=self.latent_gen) * 2 - 1).to(self.device)
        try:
            out = self.train_step(G, D, real, z)
            if self.G_ema is not None:
                update_ema(self.G_ema, self.G, ema_decay(self.step, cfg.ema))
        except NonFiniteError as e:
            self.stop_reason = "diverged"
            raise TrainingDiverged(f"{cfg.method}: non-finite values at step {self.step + 1} ({e}); "
                                   f"stopped, kept the last good checkpoint {self.ckpt_path}") from e
        self.step += 1
        return out

    def _record(self, out: dict[str, Tensor], rows: list[dict[str, float]], bar: Any) -> None:
        """Check the losses (every step on CPU, where it costs nothing) and log every ``log_every``."""
        cfg = self.cfg
        if self.device.type == "cpu" or self.step % cfg.log_every == 0 \
                or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
            vals = {k: float(v) for k, v in out.items()}
            bad = [k for k in ("loss_d", "loss_g", "loss_sym") if k in vals and not math.isfinite(vals[k])]
            if bad:
                self.stop_reason = "diverged"
                raise TrainingDiverged(f"{cfg.method}: {', '.join(bad)} became {vals[bad[0]]} at step "
                                       f"{self.step}; stopped, kept the last good checkpoint {self.ckpt_path}")
            if self.step % cfg.log_every == 0:
                now, (last_t, last_step) = time.perf_counter(), self._last
                ips = (self.step - last_step) * cfg.batch_size * self.world / max(now - last_t, 1e-9)
                self._last = (now, self.step)
                rows.append({"step": self.step, "time_s": self.elapsed, **vals, "img_per_s": ips})
                bar.set_postfix(d=f"{vals['loss_d']:.3f}", g=f"{vals['loss_g']:.3f}", ips=f"{ips:.0f}")
        bar.update(1)

    def _periodic(self, rows: list[dict[str, float]]) -> None:
        """The checkpoint first: a sample image that fails must not cost the step's checkpoint."""
        cfg = self.cfg
        if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
            if self._write_rows(rows):
                rows.clear()
            self.save()
        if cfg.sample_every and self.step % cfg.sample_every == 0:
            self.save_samples(f"step_{self.step:06d}")
        if cfg.snapshot_every and self.step % cfg.snapshot_every == 0:
            self.save_snapshot()

    def _finish(self, rows: list[dict[str, float]]) -> TrainResult:
        self._write_rows(rows)
        self.ranks_in_sync = self._ranks_agree()
        self.save(finished=True)
        self.save_samples("final")
        if self.rank == 0:
            try:
                (self.run_dir / "summary.json").write_text(json.dumps(self._info(), indent=2))
            except OSError as e:
                self._warn(f"could not write {self.run_dir / 'summary.json'} ({e})")
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
        return {"ranks_in_sync": getattr(self, "ranks_in_sync", None), "step": self.step,
                "loaded": self.loaded,
                "elapsed_s": self.elapsed, "stop_reason": self.stop_reason,
                "run_dir": str(self.run_dir), "checkpoint": str(self.ckpt_path), "key": self.cfg.key(),
                "device": str(self.device), "world_size": self.world,
                "warnings": list(getattr(self, "warnings", []))}

    def _result(self) -> TrainResult:
        self.G.eval()
        self.D.eval()
        self._calibrate_ema()
        return TrainResult(self.sampler.eval(), self.D, self.cfg, read_log(self._log_file()), self._info(), self.run_dir)


def train(config: TrainConfig, run_dir: str | os.PathLike | None = None, resume: bool = True) -> TrainResult:
    """Train ``config`` (see :class:`Trainer`)."""
    return Trainer(config, run_dir, resume).train()
