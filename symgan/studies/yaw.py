r"""A small CNN that reads the yaw of a face, trained on SynthFaces labels.

The metrics use it to measure generated faces: how far a latent path turns the head, and whether
a symmetric latent gives a frontal face.

Prediction is made **exactly odd under mirroring**,
:math:`\hat y(x) = \tfrac12\,(f(x) - f(M x))`, so ``predict_yaw(M x) == -predict_yaw(x)`` and a
left-right symmetric image reads exactly 0 degrees. Training uses random mirroring with the label
negated (the same symmetry), brightness/contrast/colour jitter and noise so that the regressor
does not depend on the renderer's exact colours (generated faces are never exact renders).

Weights are cached in the data directory as safetensors (never pickle), keyed by every training
parameter; the regressor of the cpu scale (33 px, the default parameters) ships in
:mod:`symgan.pretrained` and is loaded from there (SHA-256 checked) without training.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..data.cache import data_dir, param_hash
from ..data.synthfaces import RENDERER_VERSION, SynthFaces
from ..device import eval_mode
from ..images import to_unit_range

__all__ = [
    "YawRegressor",
    "train_yaw_regressor",
    "load_yaw_regressor",
    "predict_yaw",
    "evaluate_yaw_regressor",
]

_YAW_SCALE = 45.0  # targets are yaw / 45, about unit range
_VERSION = 1
_TRAIN_SEED_OFFSET = 10_000  # training faces come from their own seed stream ...
_EVAL_SEED_OFFSET = 20_000  # ... and held-out faces from another one


class YawRegressor(nn.Module):
    """``(N, channels, img_size, img_size)`` in ``[-1, 1]`` -> ``(N,)`` yaw / 45 (raw, not odd).

    Stride-2 3x3 convolutions (BatchNorm, ReLU) down to at most 5x5 (32 -> 4x4, 33 -> 5x5: any
    size works, odd ones of the paper's geometry included), then a two-layer head. Use
    :func:`predict_yaw` for degrees with exact mirror oddness.
    """

    def __init__(self, img_size: int = 33, channels: int = 3, width: int = 16) -> None:
        super().__init__()
        if not isinstance(img_size, int) or img_size < 8:
            raise ValueError(f"img_size must be an int >= 8, got {img_size!r}")
        self.img_size, self.channels = img_size, channels
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        c, s = width, img_size
        while s > 5:
            c2 = min(c * 2, 128)
            layers += [nn.Conv2d(c, c2, 3, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU()]
            c, s = c2, (s - 1) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * s * s, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(-1)


@torch.no_grad()
def predict_yaw(model: YawRegressor, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Yaw in degrees of ``images`` ``(N, C, H, W)`` in ``[-1, 1]``: ``(N,)``.

    ``yaw(x) = 45 (f(x) - f(M x)) / 2``, exactly odd under the mirror ``M``. Images of another size
    are resized (bilinear) to the regressor's ``img_size``; 1 <-> 3 channels are converted.
    """
    x = images.float()
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.shape[1] != model.channels:
        if model.channels == 1:
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] != model.img_size or x.shape[-2] != model.img_size:
        x = nn.functional.interpolate(x, size=(model.img_size,) * 2, mode="bilinear",
                                      align_corners=False, antialias=True)
    out = []
    with eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            out.append((model(xb) - model(xb.flip(-1))) * (_YAW_SCALE / 2))
    return torch.cat(out) if out else torch.zeros(0)


def _augment(x: torch.Tensor, y: torch.Tensor, g: torch.Generator):
    """Random mirror (label negated), brightness/contrast, per-channel gain, Gaussian noise."""
    n = len(x)
    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    y = torch.where(flip, -y, y)
    contrast = 1.0 + 0.3 * (torch.rand(n, 1, 1, 1, generator=g) - 0.5)
    bright = 0.2 * (torch.rand(n, 1, 1, 1, generator=g) - 0.5)
    gain = 1.0 + 0.2 * (torch.rand(n, x.shape[1], 1, 1, generator=g) - 0.5)
    noise = 0.04 * torch.rand(n, 1, 1, 1, generator=g) * torch.randn(x.shape, generator=g)
    x = (x * contrast * gain + bright + noise).clamp(-1, 1)
    return x, y


def _params(img_size, channels, n_train, seed, epochs, batch_size, lr) -> dict:
    return {"img_size": img_size, "channels": channels, "n_train": n_train, "seed": seed,
            "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "renderer": RENDERER_VERSION, "version": _VERSION}


def _weights_name(params: dict) -> str:
    return f"yaw-{param_hash(params)}.safetensors"


def _weights_path(params: dict) -> Path:
    return data_dir() / "models" / _weights_name(params)


def train_yaw_regressor(
    img_size: int = 33,
    channels: int = 3,
    n_train: int = 5000,
    seed: int = 0,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 2e-3,
    cache: bool = True,
    verbose: bool = False,
    threads: int | None = 1,
) -> YawRegressor:
    """Train a :class:`YawRegressor` on ``n_train`` SynthFaces (yaw uniform on +-45 degrees).

    Deterministic for a given ``seed``: Adam with a one-cycle learning-rate schedule, L1 loss on
    yaw / 45. Trains with ``threads`` torch threads (restored afterwards; ``None`` leaves the
    setting alone): one thread is both reproducible across machines and, on small shared CPUs,
    faster than two. With ``cache=True`` the weights are saved (safetensors) under
    ``<data dir>/models`` and :func:`load_yaw_regressor` reuses them. Returns the model in eval
    mode.
    """
    if threads is not None:
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return train_yaw_regressor(img_size, channels, n_train, seed, epochs, batch_size, lr,
                                       cache, verbose, None)
        finally:
            torch.set_num_threads(old)
    params = _params(img_size, channels, n_train, seed, epochs, batch_size, lr)
    ds = SynthFaces(img_size, n_train, channels, seed=_TRAIN_SEED_OFFSET + seed, cache=cache)
    x_all = to_unit_range(torch.from_numpy(ds.images).permute(0, 3, 1, 2))
    y_all = torch.from_numpy(ds.yaw).float() / _YAW_SCALE
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = YawRegressor(img_size, channels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(n_train / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    model.train()
    t0 = time.time()
    for ep in range(epochs):
        perm = torch.randperm(n_train, generator=g)
        total = 0.0
        for i in range(0, n_train, batch_size):
            idx = perm[i : i + batch_size]
            xb, yb = _augment(x_all[idx], y_all[idx], g)
            loss = nn.functional.l1_loss(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if verbose:
            print(f"epoch {ep + 1}/{epochs}  train MAE {total / n_train * _YAW_SCALE:.2f} deg"
                  f"  ({time.time() - t0:.0f} s)")
    model.eval()
    if cache:
        path = _weights_path(params)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp),
                  metadata={k: str(v) for k, v in params.items()})
        tmp.replace(path)
    return model


def load_yaw_regressor(img_size: int = 33, channels: int = 3, n_train: int = 5000, seed: int = 0,
                       epochs: int = 20, batch_size: int = 64, lr: float = 2e-3,
                       verbose: bool = False, threads: int | None = 1) -> YawRegressor:
    """The regressor for these parameters: shipped with symgan (:mod:`symgan.pretrained`), else
    cached in the data directory, else trained first (about a minute at 33 px on a CPU) and
    cached. Returned in eval mode."""
    from ..pretrained import find_file

    params = _params(img_size, channels, n_train, seed, epochs, batch_size, lr)
    shipped = find_file(_weights_name(params))
    if shipped is not None:
        model = YawRegressor(img_size, channels)
        model.load_state_dict(load_file(str(shipped[0])))
        return model.eval()
    path = _weights_path(params)
    if path.exists():
        model = YawRegressor(img_size, channels)
        try:
            model.load_state_dict(load_file(str(path)))
            return model.eval()
        except Exception:  # a damaged file is retrained, never trusted
            path.unlink(missing_ok=True)
    return train_yaw_regressor(img_size, channels, n_train, seed, epochs, batch_size, lr,
                               cache=True, verbose=verbose, threads=threads)


def evaluate_yaw_regressor(model: YawRegressor, n: int = 1000, seed: int = 0,
                           cache: bool = True) -> dict[str, float]:
    """Mean and max absolute error (degrees) on ``n`` held-out SynthFaces, never seen in
    training (a separate seed stream), yaw uniform on +-45 degrees."""
    ds = SynthFaces(model.img_size, n, model.channels, seed=_EVAL_SEED_OFFSET + seed, cache=cache)
    x = to_unit_range(torch.from_numpy(ds.images).permute(0, 3, 1, 2))
    err = (predict_yaw(model, x) - torch.from_numpy(ds.yaw).float()).abs()
    return {"mae": float(err.mean()), "max": float(err.max()),
            "yaw_min": float(np.min(ds.yaw)), "yaw_max": float(np.max(ds.yaw))}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog="python -m symgan.studies.yaw",
                                 description="train the yaw regressor from scratch and report its "
                                 "held-out error (nothing is cached)")
    ap.add_argument("--size", type=int, default=33)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    t = time.time()
    m = train_yaw_regressor(a.size, 3, a.n_train, cache=False, verbose=True, threads=a.threads)
    print(f"trained on {a.n_train} faces at {a.size}px in {time.time() - t:.1f} s "
          "(rendering included)")
    print(evaluate_yaw_regressor(m, n=a.n_eval, cache=False))
